package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/wire"
)

// filesService is the files feature, or a clear 503 where no object store
// is configured.
func (s *Server) filesService() (*files.Service, error) {
	if s.Files == nil {
		return nil, &core.Error{Kind: core.KindInternal, Message: "file storage is not configured on this server"}
	}
	return s.Files, nil
}

type uploadURLRequest struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

func (s *Server) fileUploadURL(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.filesService()
	if err != nil {
		return err
	}
	var req uploadURLRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	rc := reqCtx(r)
	f, up, err := fs.NewUpload(r.Context(), rc.tenant.ID, rc.member.UserID, req.Name, req.Size, req.ContentType, s.event(r, "file.upload_requested"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"file": f, "upload": up})
	return nil
}

func (s *Server) fileComplete(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.filesService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := fs.Complete(r.Context(), s.tenantStore(r), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"file": f})
	return nil
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	list, err := s.tenantStore(r).Files(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"files": list})
	return nil
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := s.tenantStore(r).File(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"file": f})
	return nil
}

// fileDownloadURL answers 409 (pending) or 403 (infected, error) with a
// status field beside the usual error, so clients can tell which.
func (s *Server) fileDownloadURL(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.filesService()
	if err != nil {
		return err
	}
	raw := r.URL.Query().Get("file_id")
	id, perr := strconv.ParseInt(raw, 10, 64)
	if raw == "" || perr != nil || id <= 0 {
		return core.Invalid("file_id", "file_id must be a positive whole number")
	}
	d, err := fs.DownloadURL(r.Context(), s.tenantStore(r), id, s.event(r, "file.download_url_issued"))
	var st *files.ScanState
	if errors.As(err, &st) {
		e := &core.Error{Kind: core.KindConflict, Reason: wire.ReasonFileScanPending, Message: st.Message}
		if st.Status != "pending" {
			e.Kind, e.Reason = core.KindForbidden, wire.ReasonFileRefused
			s.auditDenied(r, "file.download_refused", "file:"+strconv.FormatInt(id, 10)+" status="+st.Status)
		}
		httpx.WriteJSON(w, httpx.StatusOf(e.Kind), map[string]any{"error": httpx.ErrorDetail{Code: string(e.Kind), Kind: httpx.KindOf(e), Reason: e.Reason, Message: e.Message}, "status": st.Status})
		return nil
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"download": d})
	return nil
}

// deleteFile: the uploader, or an owner or admin.
func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.filesService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ts := s.tenantStore(r)
	f, err := ts.File(r.Context(), id)
	if err != nil {
		return err
	}
	rc := reqCtx(r)
	if f.UploaderID != rc.member.UserID && !rc.member.Role.CanManageMembers() {
		s.auditDenied(r, "authz.denied", r.Method+" "+r.URL.Path)
		return &core.Error{Kind: core.KindForbidden, Message: "only the uploader, an owner or an admin may delete this file"}
	}
	if err := fs.Delete(r.Context(), ts, id, s.event(r, "file.deleted")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// s3Events receives an S3-compatible server's ObjectCreated webhook. The
// token in the query is the only credential such servers can send.
func (s *Server) s3Events(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.filesService()
	if err != nil {
		return err
	}
	tok := r.URL.Query().Get("token")
	if s.S3WebhookToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.S3WebhookToken)) != 1 {
		s.auditDenied(r, "files.webhook.denied", "bad or missing token")
		return &core.Error{Kind: core.KindUnauthenticated, Message: "a valid webhook token is required"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	var ev scan.S3Notification
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		return core.Invalid("body", "the body must be an S3 event notification (JSON with Records)")
	}
	n, err := fs.ObjectsCreated(r.Context(), ev.Objects())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"queued": n})
	return nil
}

// provisionBucket queues a new tenant's bucket. A failure to queue is
// logged, not returned: the tenant exists, and the provisioning sweep
// creates any missing bucket within a minute.
func (s *Server) provisionBucket(r *http.Request, tenantID int64) {
	if s.Files == nil {
		return
	}
	if err := s.Files.EnqueueProvision(r.Context(), tenantID); err != nil {
		s.Log.WarnContext(r.Context(), "queue bucket provisioning", "tenant_id", tenantID, "err", err)
	}
}
