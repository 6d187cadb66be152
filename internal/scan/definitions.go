package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The signature mirror: a private, versioned bucket holding the ClamAV
// databases and a manifest naming the S3 version and SHA-256 of each.
// `palisade update-definitions` (a scheduled Lambda with internet access)
// refreshes it, cvdupdate-style: whole database files, downloaded only when
// the upstream copy changed, verified by loading them into clamd before
// they are published. The scanner downloads exactly the versions the
// manifest names at cold start, so it never sees a half-updated set, and
// it never needs the internet.

// ManifestKey is the mirror's index object.
const ManifestKey = "manifest.json"

// maxDatabaseBytes bounds one downloaded database (main.cvd is ~170 MB).
const maxDatabaseBytes = 1 << 30

// Manifest lists the published database files.
type Manifest struct {
	Updated time.Time      `json:"updated"`
	Files   []DatabaseFile `json:"files"`
}

// DatabaseFile is one published database.
type DatabaseFile struct {
	Name string `json:"name"`
	// VersionID is the S3 version the scanner fetches (empty on an
	// unversioned bucket).
	VersionID string `json:"version_id,omitempty"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	// Upstream validators, for the next conditional download.
	LastModified string `json:"last_modified,omitempty"`
	ETag         string `json:"etag,omitempty"`
}

func (m Manifest) file(name string) (DatabaseFile, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return DatabaseFile{}, false
}

// ErrNoManifest is returned when the mirror has never been published.
var ErrNoManifest = errors.New("the signature mirror holds no manifest yet: run palisade update-definitions")

// Mirror is the definitions bucket.
type Mirror struct {
	S3     *s3.Client
	Bucket string
}

// Manifest reads the current manifest.
func (m Mirror) Manifest(ctx context.Context) (Manifest, error) {
	out, err := m.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &m.Bucket, Key: aws.String(ManifestKey)})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return Manifest{}, ErrNoManifest
		}
		return Manifest{}, fmt.Errorf("read s3://%s/%s: %w", m.Bucket, ManifestKey, err)
	}
	defer out.Body.Close()
	var man Manifest
	if err := json.NewDecoder(io.LimitReader(out.Body, 1<<20)).Decode(&man); err != nil {
		return Manifest{}, fmt.Errorf("s3://%s/%s: %w", m.Bucket, ManifestKey, err)
	}
	for _, f := range man.Files {
		if !validName(f.Name) {
			return Manifest{}, fmt.Errorf("manifest names %q, which is not a database file name", f.Name)
		}
	}
	return man, nil
}

// Fetch downloads the manifest's files into dir, each checked against its
// SHA-256 before it takes its final name. Files already there with the
// right digest are kept (a warm Lambda's /tmp).
func (m Mirror) Fetch(ctx context.Context, man Manifest, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range man.Files {
		dst := filepath.Join(dir, f.Name)
		if sum, err := fileSHA256(dst); err == nil && sum == f.SHA256 {
			continue
		}
		in := &s3.GetObjectInput{Bucket: &m.Bucket, Key: aws.String(f.Name)}
		if f.VersionID != "" {
			in.VersionId = aws.String(f.VersionID)
		}
		out, err := m.S3.GetObject(ctx, in)
		if err != nil {
			return fmt.Errorf("get s3://%s/%s (version %s): %w", m.Bucket, f.Name, f.VersionID, err)
		}
		sum, _, err := writeVerified(out.Body, dst)
		_ = out.Body.Close() // a read error already surfaced through writeVerified
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			_ = os.Remove(dst)
			return fmt.Errorf("s3://%s/%s: SHA-256 %s, the manifest says %s", m.Bucket, f.Name, sum, f.SHA256)
		}
	}
	return nil
}

// writeVerified copies r to path through a temporary file and returns
// the SHA-256 and size of what was written.
func writeVerified(r io.Reader, path string) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename this is a no-op
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, maxDatabaseBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("download %s: %w", filepath.Base(path), err)
	}
	if n > maxDatabaseBytes {
		return "", 0, fmt.Errorf("download %s: larger than %d bytes", filepath.Base(path), maxDatabaseBytes)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path) // #nosec G304 -- path is a signature file inside the daemon's own database directory
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, `/\`) && !strings.HasPrefix(n, ".") && n != ManifestKey
}

// Updater is `palisade update-definitions`.
type Updater struct {
	Mirror Mirror
	// Upstream is the base URL the databases are downloaded from
	// (https://database.clamav.net, or a mirror of it).
	Upstream  string
	Databases []string
	HTTP      *http.Client
	// UserAgent identifies the mirror to the upstream CDN, which asks
	// private mirrors to say who they are.
	UserAgent string
	// Dir is a scratch folder for the new set.
	Dir string
	// Verify loads the complete new set (dir) and must prove it works;
	// nothing is published otherwise. VerifyWithClamd is the real one.
	Verify func(ctx context.Context, dir string) error
	Log    *slog.Logger
	Now    func() time.Time
}

// UpdateReport says what an update did.
type UpdateReport struct {
	Changed   []string `json:"changed"`
	Unchanged []string `json:"unchanged"`
	Published bool     `json:"published"`
	Manifest  Manifest `json:"manifest"`
}

// Update refreshes the mirror. Upstream files are fetched with
// If-Modified-Since / If-None-Match from the last run, so an unchanged
// database costs one small request. When anything changed, the whole set
// is verified and the changed files are uploaded before the manifest that
// names them: scanners see the old set or the new one, never a mix.
func (u *Updater) Update(ctx context.Context) (UpdateReport, error) {
	var rep UpdateReport
	for _, name := range u.Databases {
		if !validName(name) {
			return rep, fmt.Errorf("database %q is not a file name", name)
		}
	}
	old, err := u.Mirror.Manifest(ctx)
	if err != nil && !errors.Is(err, ErrNoManifest) {
		return rep, err
	}
	stage := filepath.Join(u.Dir, "staging")
	if err := os.RemoveAll(stage); err != nil {
		return rep, err
	}
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return rep, err
	}
	next := Manifest{}
	var keep Manifest // unchanged files, fetched from the mirror for the check
	for _, name := range u.Databases {
		prev, had := old.file(name)
		f, changed, err := u.download(ctx, name, prev, had, stage)
		if err != nil {
			return rep, err
		}
		if changed && had && f.SHA256 == prev.SHA256 {
			// Same bytes under new validators: keep the published version.
			f.VersionID, changed = prev.VersionID, false
		}
		if changed {
			rep.Changed = append(rep.Changed, name)
		} else {
			rep.Unchanged = append(rep.Unchanged, name)
			if _, err := os.Stat(filepath.Join(stage, name)); err != nil {
				keep.Files = append(keep.Files, f)
			}
		}
		next.Files = append(next.Files, f)
	}
	dropped := len(old.Files) != len(next.Files)
	if len(rep.Changed) == 0 && !dropped {
		rep.Manifest = old
		u.log().InfoContext(ctx, "signatures up to date", "unchanged", rep.Unchanged)
		return rep, nil
	}
	if err := u.Mirror.Fetch(ctx, keep, stage); err != nil {
		return rep, err
	}
	if u.Verify == nil {
		return rep, errors.New("no verification configured: refusing to publish unchecked signatures")
	}
	if err := u.Verify(ctx, stage); err != nil {
		return rep, fmt.Errorf("new signatures failed verification, mirror left as it was: %w", err)
	}
	for i, f := range next.Files {
		if !slices.Contains(rep.Changed, f.Name) {
			continue
		}
		body, err := os.Open(filepath.Join(stage, f.Name)) // #nosec G304 -- stage is our own temporary directory and f.Name a name from the signed file list
		if err != nil {
			return rep, err
		}
		out, err := u.Mirror.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &u.Mirror.Bucket, Key: aws.String(f.Name), Body: body, ContentLength: aws.Int64(f.Size)})
		_ = body.Close() // read-only file; PutObject's error is the one that matters
		if err != nil {
			return rep, fmt.Errorf("put s3://%s/%s: %w", u.Mirror.Bucket, f.Name, err)
		}
		next.Files[i].VersionID = aws.ToString(out.VersionId)
	}
	next.Updated = u.now().UTC()
	raw, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return rep, err
	}
	if _, err := u.Mirror.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &u.Mirror.Bucket, Key: aws.String(ManifestKey),
		Body: bytes.NewReader(raw), ContentType: aws.String("application/json")}); err != nil {
		return rep, fmt.Errorf("put s3://%s/%s: %w", u.Mirror.Bucket, ManifestKey, err)
	}
	rep.Published, rep.Manifest = true, next
	u.log().InfoContext(ctx, "signatures published", "changed", rep.Changed, "unchanged", rep.Unchanged)
	return rep, nil
}

// download fetches one database into stage unless the upstream says it is
// unchanged (304), in which case the previous entry is returned.
func (u *Updater) download(ctx context.Context, name string, prev DatabaseFile, had bool, stage string) (DatabaseFile, bool, error) {
	url := strings.TrimSuffix(u.Upstream, "/") + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return DatabaseFile{}, false, err
	}
	if u.UserAgent != "" {
		req.Header.Set("User-Agent", u.UserAgent)
	}
	if had {
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
	}
	client := u.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return DatabaseFile{}, false, fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && had:
		return prev, false, nil
	case resp.StatusCode != http.StatusOK:
		// 429 and 403 are how the CDN says "too often": the mirror keeps
		// its set and the next schedule tries again.
		return DatabaseFile{}, false, fmt.Errorf("download %s: %s", url, resp.Status)
	}
	sum, n, err := writeVerified(resp.Body, filepath.Join(stage, name))
	if err != nil {
		return DatabaseFile{}, false, err
	}
	return DatabaseFile{Name: name, SHA256: sum, Size: n,
		LastModified: resp.Header.Get("Last-Modified"), ETag: resp.Header.Get("ETag")}, true, nil
}

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func (u *Updater) log() *slog.Logger {
	if u.Log != nil {
		return u.Log
	}
	return slog.New(slog.DiscardHandler)
}

// VerifyWithClamd proves a database set works: a clamd started on it (as
// the scanner will start one) must load it and find the EICAR test file.
// A truncated, unsigned or empty set fails here, before publication.
func VerifyWithClamd(cfg DaemonConfig) func(ctx context.Context, dir string) error {
	return func(ctx context.Context, dir string) error {
		c := cfg
		c.DatabaseDir = dir
		c.Addr = "unix://" + filepath.Join(filepath.Dir(dir), "verify-clamd.sock")
		d, err := StartDaemon(ctx, c)
		if err != nil {
			return err
		}
		defer d.Stop()
		v, err := (Clamd{Addr: c.Addr, Timeout: time.Minute}).Scan(ctx, bytes.NewReader(eicar()), int64(len(eicar())))
		if err != nil {
			return fmt.Errorf("scan the EICAR test file: %w", err)
		}
		if v.Status != Infected {
			return fmt.Errorf("the new signatures do not detect the EICAR test file (clamd said %s)", v.Status)
		}
		return nil
	}
}

// eicar is the anti-virus test file, assembled at run time so that the
// binary itself does not carry it (a scan of the image would flag it).
func eicar() []byte {
	r := []byte(`*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\4[PA@%P!O5X`)
	slices.Reverse(r)
	return r
}
