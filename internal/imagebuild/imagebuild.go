// Package imagebuild assembles Palisade's container images without a
// container engine: a scratch image holding the static binary, a CA bundle,
// the time-zone database and a non-root user, for linux/arm64 and
// linux/amd64, written as one OCI image index.
//
// The same bytes in give the same digest out (fixed timestamps, sorted
// entries, numeric owners), so two pipelines that build one commit agree on
// what they pushed.
package imagebuild

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things live inside the image. The ECS task definitions run
// ["palisade", "<role>"], so the binary must be found through PATH and the
// image must not set an entrypoint that the command would be appended to.
const (
	BinaryPath   = "/usr/local/bin/palisade"
	CACertsPath  = "/etc/ssl/certs/ca-certificates.crt"
	ZoneInfoDir  = "/usr/share/zoneinfo"
	UID          = 65532 // distroless "nonroot", so volume permissions match theirs
	UserName     = "nonroot"
	imagePATH    = "/usr/local/bin"
	defaultTitle = "palisade"
)

// Labels the OCI image spec defines; the push guard reads Revision.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
	LabelSource   = "org.opencontainers.image.source"
	LabelTitle    = "org.opencontainers.image.title"
)

// Spec describes one release image.
type Spec struct {
	// Binaries maps a GOARCH ("arm64", "amd64") to the path of a static
	// linux binary built for it.
	Binaries map[string]string
	Version  string
	Commit   string
	// Created is the commit time, not the build time: it keeps builds
	// reproducible.
	Created time.Time
	// CACerts is the host's PEM bundle (FindCABundle finds it on Debian,
	// Amazon Linux and others); it becomes CACertsPath in the image.
	CACerts string
	// ZoneInfo is Go's $GOROOT/lib/time/zoneinfo.zip, unpacked into
	// /usr/share/zoneinfo where Go's time package looks first.
	ZoneInfo string
	Source   string
}

func (s Spec) validate() error {
	var errs []error
	if len(s.Binaries) == 0 {
		errs = append(errs, errors.New("no binaries"))
	}
	for arch, p := range s.Binaries {
		if arch != "arm64" && arch != "amd64" {
			errs = append(errs, fmt.Errorf("architecture %q: only arm64 and amd64 are built", arch))
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("%s binary: %w", arch, err))
		}
	}
	if s.Version == "" {
		errs = append(errs, errors.New("version is empty"))
	}
	if s.Commit == "" {
		errs = append(errs, errors.New("commit is empty"))
	}
	if s.Created.IsZero() {
		errs = append(errs, errors.New("created time is zero"))
	}
	if s.CACerts == "" || s.ZoneInfo == "" {
		errs = append(errs, errors.New("CA bundle and zoneinfo.zip are required"))
	}
	return errors.Join(errs...)
}

// Build returns the multi-architecture index of the release image.
func Build(s Spec) (v1.ImageIndex, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("image spec: %w", err)
	}
	base, err := baseLayer(s)
	if err != nil {
		return nil, err
	}
	archs := make([]string, 0, len(s.Binaries))
	for a := range s.Binaries {
		archs = append(archs, a)
	}
	sort.Strings(archs)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range archs {
		img, err := archImage(s, arch, base)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "linux", Architecture: arch},
			},
		})
	}
	return idx, nil
}

// WriteLayout writes idx as an OCI image layout in dir, replacing what was
// there, so `make images` never mixes two builds.
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	return nil
}

// ReadLayout opens an OCI layout written by WriteLayout.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	return idx, nil
}

// Platform returns the image of one architecture from an index.
func Platform(idx v1.ImageIndex, arch string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no linux/%s image in the index", arch)
}

func archImage(s Spec, arch string, base v1.Layer) (v1.Image, error) {
	bin, err := binaryLayer(s.Binaries[arch], s.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	// Two layers: the base changes only when certificates or tzdata do, so
	// registries and nodes keep it cached across releases.
	img, err = mutate.AppendLayers(img, base, bin)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = arch
	cf.Created = v1.Time{Time: s.Created.UTC()}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Env:        []string{"PATH=" + imagePATH, "SSL_CERT_FILE=" + CACertsPath},
		Entrypoint: nil,
		Cmd:        []string{"palisade", "version"},
		WorkingDir: "/",
		ExposedPorts: map[string]struct{}{
			"3000/tcp": {}, "8000/tcp": {}, "8080/tcp": {}, "9090/tcp": {},
		},
		Labels: labels(s),
		// ECS sends SIGTERM; every role drains on it.
		StopSignal: "SIGTERM",
	}
	cf.History = nil
	return mutate.ConfigFile(img, cf)
}

func labels(s Spec) map[string]string {
	l := map[string]string{
		LabelVersion:  s.Version,
		LabelRevision: s.Commit,
		LabelCreated:  s.Created.UTC().Format(time.RFC3339),
		LabelTitle:    defaultTitle,
	}
	if s.Source != "" {
		l[LabelSource] = s.Source
	}
	return l
}

// entry is one file or directory of a layer.
type entry struct {
	name string
	mode int64
	dir  bool
	data []byte
}

func baseLayer(s Spec) (v1.Layer, error) {
	certs, err := os.ReadFile(s.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !bytes.Contains(certs, []byte("BEGIN CERTIFICATE")) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", s.CACerts)
	}
	zones, err := unzipZoneInfo(s.ZoneInfo)
	if err != nil {
		return nil, err
	}
	es := []entry{
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", UserName, UID, UID, UserName, UserName))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", UserName, UID))},
		{name: strings.TrimPrefix(CACertsPath, "/"), mode: 0o644, data: certs},
		// A writable temp directory: os.TempDir and ECS Exec need one.
		{name: "tmp", mode: 0o1777, dir: true},
		{name: "home/" + UserName, mode: 0o755, dir: true},
	}
	es = append(es, zones...)
	return layerOf(es, s.Created)
}

func binaryLayer(p string, created time.Time) (v1.Layer, error) {
	b, err := os.ReadFile(p) // #nosec G304 -- the binary the release build names with -bin
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	return layerOf([]entry{{name: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, data: b}}, created)
}

func unzipZoneInfo(p string) ([]entry, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("zoneinfo: %w", err)
	}
	defer zr.Close()
	var out []entry
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		clean := path.Clean(f.Name)
		if strings.HasPrefix(clean, "..") || path.IsAbs(clean) {
			return nil, fmt.Errorf("zoneinfo: unsafe name %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		if err := errors.Join(err, rc.Close()); err != nil {
			return nil, fmt.Errorf("zoneinfo %s: %w", f.Name, err)
		}
		out = append(out, entry{name: strings.TrimPrefix(ZoneInfoDir, "/") + "/" + clean, mode: 0o644, data: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("zoneinfo %s is empty", p)
	}
	return out, nil
}

// layerOf writes entries, with every parent directory, in sorted order,
// owned by root and stamped with one time, so the bytes depend only on the
// content.
func layerOf(es []entry, mtime time.Time) (v1.Layer, error) {
	all := map[string]entry{}
	for _, e := range es {
		all[e.name] = e
		for d := path.Dir(e.name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{name: d, mode: 0o755, dir: true}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := mtime.UTC().Truncate(time.Second)
	for _, n := range names {
		e := all[n]
		h := &tar.Header{Name: n, Mode: e.mode, ModTime: mt, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

const maxUnpackFile = 1 << 30

// Unpack extracts img's flattened filesystem into dir. Only regular files,
// directories and symlinks inside dir are written.
func Unpack(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(path.Clean(h.Name), "/")
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
			// Chmod, not MkdirAll's mode: the umask would drop /tmp's
			// write and sticky bits.
			if err := root.Chmod(name, h.FileInfo().Mode()&(fs.ModePerm|fs.ModeSticky)); err != nil {
				return err
			}
		case tar.TypeReg:
			// Our images hold one binary and small files; anything else is
			// not an image of ours and is refused before it fills the disk.
			if h.Size < 0 || h.Size > maxUnpackFile || h.Mode < 0 || h.Mode > 0o7777 {
				return fmt.Errorf("unpack %s: size %d or mode %o out of range", name, h.Size, h.Mode)
			}
			if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode).Perm()) // #nosec G115 -- h.Mode is checked to be 0..0o7777 above
			if err != nil {
				return err
			}
			_, cerr := io.CopyN(f, tr, h.Size)
			if err := errors.Join(cerr, f.Close()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.Symlink(h.Linkname, name); err != nil {
				return err
			}
		}
	}
}
