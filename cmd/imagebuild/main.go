// Command imagebuild builds and pushes Palisade's container images without
// a container engine (see internal/imagebuild).
//
//	imagebuild build -out dist/images/palisade -version v1.2.3 -commit <sha> -created <RFC 3339> \
//	    -bin arm64=dist/linux-arm64/palisade -bin amd64=dist/linux-amd64/palisade \
//	    -sbom dist/images/palisade.spdx.json
//	aws ecr get-login-password | imagebuild push -layout dist/images/palisade \
//	    -repo <account>.dkr.ecr.<region>.amazonaws.com/palisade-production/palisade -tag v1.2.3 \
//	    -username AWS -password-stdin -imagedefinitions imagedefinitions.json -containers api,worker
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/palisade-hq/palisade/internal/imagebuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

// The release-tag rule of infra/modules/ecs (spec 4.3: never latest).
var releaseTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)

const usage = "usage: imagebuild build|push [flags] (-h for the flags of each)"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return errors.New(usage)
	}
	switch args[1] {
	case "build":
		return build(args[2:], stdout, stderr)
	case "push":
		return push(ctx, args[2:], stdin, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; %s", args[1], usage)
	}
}

type binFlags map[string]string

func (b binFlags) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binFlags) Set(v string) error {
	arch, p, ok := strings.Cut(v, "=")
	if !ok || arch == "" || p == "" {
		return fmt.Errorf("-bin %q: want ARCH=PATH", v)
	}
	b[arch] = p
	return nil
}

func build(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bins := binFlags{}
	fs.Var(bins, "bin", "ARCH=PATH of a static linux binary (repeat for each architecture)")
	out := fs.String("out", "dist/images/palisade", "OCI layout directory to write")
	version := fs.String("version", "", "release version (label org.opencontainers.image.version)")
	commit := fs.String("commit", "", "git commit (label org.opencontainers.image.revision)")
	created := fs.String("created", "", "commit time, RFC 3339 (keeps the build reproducible)")
	certs := fs.String("ca-certs", "", "PEM CA bundle to include (default: $SSL_CERT_FILE, else the first of "+strings.Join(imagebuild.KnownCABundles, ", ")+" that exists)")
	zoneinfo := fs.String("zoneinfo", "", "Go's zoneinfo.zip (default: $(go env GOROOT)/lib/time/zoneinfo.zip)")
	source := fs.String("source", "", "source repository URL (label org.opencontainers.image.source)")
	sbom := fs.String("sbom", "", "also write an SPDX 2.3 JSON SBOM of the binaries' Go module graph here (e.g. dist/images/palisade.spdx.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *zoneinfo == "" {
		// The toolchain's copy, so the image's tzdata matches the Go that
		// built the binary.
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return fmt.Errorf("-zoneinfo not given and go env GOROOT failed: %w", err)
		}
		*zoneinfo = filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip")
	}
	t, err := time.Parse(time.RFC3339, *created)
	if err != nil {
		return fmt.Errorf("-created: %w", err)
	}
	if *certs == "" {
		// CodeBuild's Amazon Linux 2023 has no Debian path: search.
		if *certs, err = imagebuild.FindCABundle(append([]string{os.Getenv("SSL_CERT_FILE")}, imagebuild.KnownCABundles...)); err != nil {
			return err
		}
	} else if _, err := imagebuild.FindCABundle([]string{*certs}); err != nil {
		return fmt.Errorf("-ca-certs: %w", err)
	}
	idx, err := imagebuild.Build(imagebuild.Spec{
		Binaries: bins, Version: *version, Commit: *commit, Created: t,
		CACerts: *certs, ZoneInfo: *zoneinfo, Source: *source,
	})
	if err != nil {
		return err
	}
	if err := imagebuild.WriteLayout(*out, idx); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (index %s)\n", *out, d)
	if *sbom != "" {
		if err := imagebuild.WriteSBOM(*sbom, imagebuild.SBOMSpec{
			Binaries: bins, Name: filepath.Base(filepath.Clean(*out)), Version: *version,
			Commit: *commit, Created: t, Source: *source,
		}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (SPDX 2.3)\n", *sbom)
	}
	return nil
}

func push(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("layout", "dist/images/palisade", "OCI layout written by build")
	repo := fs.String("repo", "", "registry repository, e.g. <account>.dkr.ecr.<region>.amazonaws.com/palisade-production/palisade")
	tag := fs.String("tag", "", "release tag, e.g. v1.2.3")
	user := fs.String("username", "", "registry user (AWS for ECR); empty pushes anonymously")
	passStdin := fs.Bool("password-stdin", false, "read the registry password from standard input")
	insecure := fs.Bool("insecure", false, "plain HTTP registry (local tests only)")
	defs := fs.String("imagedefinitions", "", "write CodePipeline's imagedefinitions.json here")
	containers := fs.String("containers", "", "comma-separated container names for imagedefinitions.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !releaseTag.MatchString(*tag) {
		return fmt.Errorf("-tag %q is not a release tag such as v1.2.3", *tag)
	}
	if *repo == "" {
		return errors.New("-repo is required")
	}
	if *defs != "" && *containers == "" {
		return errors.New("-imagedefinitions needs -containers")
	}
	auth := authn.Anonymous
	if *user != "" {
		if !*passStdin {
			return errors.New("-username needs -password-stdin (never a password on the command line)")
		}
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		auth = &authn.Basic{Username: *user, Password: strings.TrimSpace(string(b))}
	}
	idx, err := imagebuild.ReadLayout(*dir)
	if err != nil {
		return err
	}
	var opts []name.Option
	if *insecure {
		opts = append(opts, name.Insecure)
	}
	res, err := imagebuild.Push(ctx, idx, *repo, *tag, auth, opts...)
	if err != nil {
		return err
	}
	if res.Reused {
		fmt.Fprintf(stdout, "%s already holds this commit (%s); not pushed again\n", res.Ref, res.Digest)
	} else {
		fmt.Fprintf(stdout, "pushed %s (%s)\n", res.Ref, res.Digest)
	}
	if *defs != "" {
		if err := imagebuild.WriteImageDefinitions(*defs, *repo, *tag, strings.Split(*containers, ",")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *defs)
	}
	return nil
}
