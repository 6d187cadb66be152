package imagebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PushResult says what Push did.
type PushResult struct {
	Ref    string // repository:tag
	Digest string // digest of the index now behind the tag
	Reused bool   // the tag already held an image of the same commit
}

// Push uploads idx as repo:tag, unless the tag already holds an image built
// from the same commit.
//
// The release tags are immutable in ECR and all three pipelines build the
// same commit of this one repository, so whichever pipeline comes second
// finds the tag taken. That is fine when the image there carries the same
// revision label, and an error otherwise: a tag must never silently point at
// code other than the release's.
func Push(ctx context.Context, idx v1.ImageIndex, repo, tag string, auth authn.Authenticator, opts ...name.Option) (PushResult, error) {
	ref, err := name.NewTag(repo+":"+tag, opts...)
	if err != nil {
		return PushResult{}, fmt.Errorf("image reference: %w", err)
	}
	want, err := revision(idx)
	if err != nil {
		return PushResult{}, err
	}
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}

	res, found, err := existing(ref, want, ro)
	if err != nil || found {
		return res, err
	}
	if err := remote.WriteIndex(ref, idx, ro...); err != nil {
		// Lost a race with another pipeline: the immutable tag was taken
		// between the look and the write.
		if res, found, err2 := existing(ref, want, ro); err2 == nil && found {
			return res, nil
		}
		return PushResult{}, fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{Ref: ref.String(), Digest: d.String()}, nil
}

func existing(ref name.Tag, want string, ro []remote.Option) (PushResult, bool, error) {
	desc, err := remote.Get(ref, ro...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return PushResult{}, false, nil
	}
	if err != nil {
		return PushResult{}, false, fmt.Errorf("look up %s: %w", ref, err)
	}
	var got string
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return PushResult{}, false, err
		}
		got, err = revision(idx)
		if err != nil {
			return PushResult{}, false, err
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return PushResult{}, false, err
		}
		got, err = imageRevision(img)
		if err != nil {
			return PushResult{}, false, err
		}
	}
	if got != want {
		return PushResult{}, false, fmt.Errorf("%s already holds commit %q, this build is commit %q: release tags are immutable, cut a new release", ref, got, want)
	}
	return PushResult{Ref: ref.String(), Digest: desc.Digest.String(), Reused: true}, true, nil
}

// revision is the commit every image of idx was built from.
func revision(idx v1.ImageIndex) (string, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	var rev string
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", err
		}
		r, err := imageRevision(img)
		if err != nil {
			return "", err
		}
		if rev != "" && r != rev {
			return "", fmt.Errorf("index mixes commits %q and %q", rev, r)
		}
		rev = r
	}
	if rev == "" {
		return "", errors.New("index has no image")
	}
	return rev, nil
}

func imageRevision(img v1.Image) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	r := cf.Config.Labels[LabelRevision]
	if r == "" {
		return "", fmt.Errorf("image has no %s label", LabelRevision)
	}
	return r, nil
}

// ImageDefinition is one entry of the imagedefinitions.json that
// CodePipeline's ECS deploy action reads: a container name and its image.
type ImageDefinition struct {
	Name     string `json:"name"`
	ImageURI string `json:"imageUri"`
}

// WriteImageDefinitions writes imagedefinitions.json for containers, all
// running repo:tag.
func WriteImageDefinitions(path, repo, tag string, containers []string) error {
	if len(containers) == 0 {
		return errors.New("imagedefinitions: no containers")
	}
	defs := make([]ImageDefinition, 0, len(containers))
	for _, c := range containers {
		if c == "" {
			return errors.New("imagedefinitions: empty container name")
		}
		defs = append(defs, ImageDefinition{Name: c, ImageURI: repo + ":" + tag})
	}
	b, err := json.MarshalIndent(defs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
