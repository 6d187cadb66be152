package imagebuild

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// SBOMSpec describes the image an SBOM is written for.
type SBOMSpec struct {
	// Binaries maps a GOARCH to a Go binary built for it (the image's
	// binaries). Their module graphs must agree: one SBOM describes the
	// whole image index.
	Binaries map[string]string
	Name     string    // image name, e.g. "palisade"
	Version  string    // release version, e.g. "v1.2.3"; the main module's version
	Commit   string    // git commit, part of the document namespace
	Created  time.Time // commit time, so the same commit gives the same SBOM
	Source   string    // source repository URL (optional)
}

// SPDX 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/), the fields
// Palisade fills.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
	Comment  string   `json:"comment,omitempty"`
}

type spdxPackage struct {
	Name             string            `json:"name"`
	SPDXID           string            `json:"SPDXID"`
	VersionInfo      string            `json:"versionInfo"`
	Supplier         string            `json:"supplier"`
	DownloadLocation string            `json:"downloadLocation"`
	FilesAnalyzed    bool              `json:"filesAnalyzed"`
	LicenseConcluded string            `json:"licenseConcluded"`
	LicenseDeclared  string            `json:"licenseDeclared"`
	CopyrightText    string            `json:"copyrightText"`
	Checksums        []spdxChecksum    `json:"checksums,omitempty"`
	ExternalRefs     []spdxExternalRef `json:"externalRefs"`
	Comment          string            `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// SBOM reads the module graph embedded in each binary (debug/buildinfo,
// what `go version -m` prints) and returns an SPDX 2.3 JSON document: the
// main module at the release version, the Go standard library at the
// toolchain version and every dependency module with its version, a purl
// and, for modules, the go.sum hash as a comment. Inspector's enhanced
// scanning reads the same graph from the binary; the SBOM is the record
// of it that outlives the image.
func SBOM(s SBOMSpec) ([]byte, error) {
	if len(s.Binaries) == 0 {
		return nil, fmt.Errorf("sbom: no binaries")
	}
	if s.Version == "" || s.Created.IsZero() {
		return nil, fmt.Errorf("sbom: version and created are required")
	}
	var arches []string
	for a := range s.Binaries {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	var info *debug.BuildInfo
	for _, a := range arches {
		bi, err := buildinfo.ReadFile(s.Binaries[a])
		if err != nil {
			return nil, fmt.Errorf("sbom: %s binary %s: %w (is it a Go binary?)", a, s.Binaries[a], err)
		}
		if info == nil {
			info = bi
			continue
		}
		if got, want := moduleList(bi), moduleList(info); got != want || bi.GoVersion != info.GoVersion || bi.Main.Path != info.Main.Path {
			return nil, fmt.Errorf("sbom: the %s and %s binaries were built from different module graphs", arches[0], a)
		}
	}
	name := s.Name
	if name == "" {
		name = defaultTitle
	}
	commit := s.Commit
	if commit == "" {
		commit = "unknown"
	}
	ns := "https://spdx.org/spdxdocs/" + url.PathEscape(name) + "-" + url.PathEscape(s.Version) + "-" + url.PathEscape(commit)
	if s.Source != "" {
		ns = strings.TrimSuffix(s.Source, "/") + "/spdx/" + url.PathEscape(name) + "/" + url.PathEscape(s.Version) + "-" + url.PathEscape(commit)
	}

	doc := spdxDocument{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              name + "-" + s.Version,
		DocumentNamespace: ns,
		CreationInfo: spdxCreationInfo{
			Created:  s.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: palisade-imagebuild", "Organization: Palisade"},
			Comment:  "Module graph of the image's Go binary (" + strings.Join(arches, ", ") + "), read with debug/buildinfo; " + info.GoVersion + ".",
		},
	}
	mainID := "SPDXRef-Package-main"
	mainDownload := s.Source
	if mainDownload == "" {
		mainDownload = "NOASSERTION"
	}
	doc.Packages = append(doc.Packages, pkg(mainID, info.Main.Path, s.Version, golangPURL(info.Main.Path, s.Version), "", mainDownload))
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", mainID})

	stdID := "SPDXRef-Package-stdlib"
	doc.Packages = append(doc.Packages, pkg(stdID, "stdlib", info.GoVersion, golangPURL("stdlib", info.GoVersion), "", "https://go.dev/dl/"))
	doc.Relationships = append(doc.Relationships, spdxRelationship{mainID, "DEPENDS_ON", stdID})

	for i, m := range info.Deps {
		mod := m
		if m.Replace != nil {
			mod = m.Replace
		}
		id := fmt.Sprintf("SPDXRef-Package-%d-%s", i+1, strings.Trim(spdxIDUnsafe.ReplaceAllString(m.Path, "-"), "-"))
		p := pkg(id, m.Path, mod.Version, golangPURL(mod.Path, mod.Version), mod.Sum, "")
		if m.Replace != nil {
			p.Comment = "replaced by " + mod.Path + " " + mod.Version
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRelationship{mainID, "DEPENDS_ON", id})
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// WriteSBOM writes SBOM(s) to path.
func WriteSBOM(path string, s SBOMSpec) error {
	b, err := SBOM(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func pkg(id, name, version, purl, sum, download string) spdxPackage {
	if download == "" {
		download = "NOASSERTION"
		if name != "stdlib" {
			download = "https://proxy.golang.org/" + proxyEscape(name) + "/@v/" + proxyEscape(version) + ".zip"
		}
	}
	p := spdxPackage{
		Name: name, SPDXID: id, VersionInfo: version, Supplier: "NOASSERTION",
		DownloadLocation: download, FilesAnalyzed: false,
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		ExternalRefs: []spdxExternalRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl}},
	}
	if sum != "" {
		p.Comment = "go.sum " + sum
	}
	return p
}

// golangPURL is the package URL of a Go module (purl type "golang"):
// pkg:golang/<module path>@<version>, the path's segments escaped.
func golangPURL(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "pkg:golang/" + strings.Join(segs, "/") + "@" + url.PathEscape(version)
}

// proxyEscape is the module proxy's case encoding: an upper-case letter
// becomes "!" and its lower case (github.com/BurntSushi → github.com/!burnt!sushi).
func proxyEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func moduleList(bi *debug.BuildInfo) string {
	var b strings.Builder
	for _, m := range bi.Deps {
		fmt.Fprintf(&b, "%s@%s;", m.Path, m.Version)
		if m.Replace != nil {
			fmt.Fprintf(&b, "=>%s@%s;", m.Replace.Path, m.Replace.Version)
		}
	}
	return b.String()
}
