package web

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/ui"
)

// fileRow is one file as the files page shows it.
type fileRow struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Status      string `json:"status"`
	UploaderID  int64  `json:"uploader_id"`
}

// Badge is the words a status shows as; the JS uses the same ones.
func (f fileRow) Badge() string {
	switch f.Status {
	case "clean":
		return "Clean"
	case "infected":
		return "Blocked: malware found"
	case "error":
		return "Blocked: could not be scanned"
	default:
		return "Pending scan"
	}
}

type filesData struct {
	// Accept is the file input's filter: the allowed types.
	Accept   string
	Files    []fileRow
	TenantID int64
	UserID   int64
	Manager  bool
	// UserChannel and FilesChannel are the live channels the page hears
	// scan results on, named here (internal/realtime/channels) so the
	// script never spells them.
	UserChannel, FilesChannel string
}

// filesPage lists the tenant's files. Listing and downloading work without
// JavaScript; uploading needs it, because the browser PUTs straight to the
// object store with a progress bar.
func (s *Server) filesPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var list struct {
		Files []fileRow `json:"files"`
	}
	if err := s.API.Call(w, r, http.MethodGet, "/api/files?limit=200", nil, &list); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(t, m, "Files")
	p.Flash = flash(r)
	p.Data = filesData{Accept: acceptList(s.UploadTypes), Files: list.Files, TenantID: t.ID, UserID: m.User.ID, Manager: m.Role.CanManageMembers(),
		UserChannel: channels.EchoName(channels.User(t.ID, m.User.ID)), FilesChannel: channels.EchoName(channels.Files(t.ID))}
	s.Views.Render(w, http.StatusOK, "files", p)
}

// fileDownload sends the browser to a short-lived presigned URL, or shows
// why the file cannot be had (still scanning, or blocked).
func (s *Server) fileDownload(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	id := r.PathValue("id")
	var out struct {
		Download struct {
			URL string `json:"url"`
		} `json:"download"`
	}
	err := s.API.Call(w, r, http.MethodGet, "/api/files/download-url?file_id="+url.QueryEscape(id), nil, &out)
	if e, ok := bff.AsAPIError(err); ok && (e.Status == http.StatusConflict || e.Status == http.StatusForbidden) && e.Code != "tenant_suspended" {
		title := "Not available yet"
		if e.Status == http.StatusForbidden {
			title = "Download blocked"
		}
		s.Views.Render(w, e.Status, "message", ui.Page{Title: title, Site: "web", Tenant: t.Name, Data: e.Message})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// No-store: a cached redirect would outlive the URL's expiry and the
	// audit record of who fetched it.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, out.Download.URL, http.StatusSeeOther)
}

func (s *Server) fileDelete(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := s.API.Call(w, r, http.MethodDelete, fmt.Sprintf("/api/files/%s", url.PathEscape(r.PathValue("id"))), nil, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectFlash(w, r, "/files", "file_deleted")
}

// acceptList is the file input's accept filter for the allowed media
// types, with their usual extensions (a browser matches either). The
// catch-all application/octet-stream, when allowed, is left out: the
// picker then offers the real types first (its "All files" choice still
// finds any other, which the API accepts).
func acceptList(types []string) string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, t := range types {
		t = strings.TrimSpace(t)
		if t == "" || t == "application/octet-stream" {
			continue
		}
		add(t)
		if ext, ok := typeExtensions[t]; ok {
			add(ext)
		} else if exts, _ := mime.ExtensionsByType(t); len(exts) > 0 {
			add(exts[0])
		}
	}
	return strings.Join(out, ",")
}

// typeExtensions are the usual extensions of common types, the same on
// every system (mime's table depends on the host's).
var typeExtensions = map[string]string{
	"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"text/plain": ".txt", "text/csv": ".csv", "application/json": ".json", "application/zip": ".zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
