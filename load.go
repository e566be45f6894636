package image

import (
	"context"
	stderrors "errors"
	"os"
	"strings"

	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

// LoadOptions tune Load. Nil means defaults; there are none to set yet.
type LoadOptions struct{}

// LoadResult is what Load loaded.
type LoadResult struct {
	// Images lists each image of the input in the input's order.
	Images []LoadedImage
}

// LoadedImage is one image Load wrote to the store.
type LoadedImage struct {
	// ID is the image's full ID.
	ID string
	// Names are the names the input gave the image (normalized), in the input's order.
	Names []string
	// Moved lists the names that another image held before the load and lost to this one.
	Moved []MovedName
}

// MovedName is a name that moved from one image to another.
type MovedName struct {
	// Name is the full name that moved.
	Name string
	// From is the ID of the image that held the name before.
	From string
}

// loadSource is one image of an input, with the names the input gives it.
type loadSource struct {
	ref   types.ImageReference
	names []string
}

// opener reads one input format; it returns the images found and a function that releases
// what the opener holds (temp files, readers), to be called after the copy.
type opener struct {
	format string
	open   func(ctx context.Context, r *Runtime, path string) ([]loadSource, func(), error)
}

// openers are tried in this order; the first that can read the input is used.
var openers = []opener{
	{"oci-dir", openOCIDir},
	{"dir", openDir},
	{"docker-archive", openDockerArchive},
	{"oci-archive", openOCIArchive},
}

// Load reads an image archive or layout at path and writes every image in it to the store,
// with every name the input gives it. The format is detected: an OCI layout directory, a
// directory in c/image's "dir" format, a docker-archive (also several images, as
// `podman save -m` writes; compressed archives too) or an oci-archive. Names come from
// docker-archive RepoTags, and for OCI from the annotation io.containerd.image.name, else
// from org.opencontainers.image.ref.name when that is a full name with a tag or digest (a
// bare tag such as "latest" is not a name); an image without names is loaded unnamed.
// A name held by another image moves to the loaded one, and the result reports it.
//
// Input that no format can read fails with one error wrapping ErrUnsupportedFormat that
// lists what each format said; nothing is written then. An error while copying an image
// names it; images of the same input loaded before it stay in the store. Events: one load
// event per image (with its first name), then an untag event for each moved name's previous
// owner.
func (r *Runtime) Load(ctx context.Context, path string, opts *LoadOptions) (*LoadResult, error) {
	if path == "" {
		return nil, errors.Wrap(ErrUnsupportedFormat, "loading: empty path")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, errors.Wrapf(err, "loading %q", path)
	}
	if _, err := r.tmpDir(); err != nil {
		return nil, err
	}
	sources, release, format, err := r.openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	defer release()
	logrus.Debugf("loading %q as %s: %d images", path, format, len(sources))
	pc, err := r.policyContext()
	if err != nil {
		return nil, errors.Wrapf(err, "loading %q", path)
	}
	defer destroyPolicyContext(pc)
	result := &LoadResult{}
	for k, src := range sources {
		loaded, err := r.loadOne(ctx, pc, src)
		if err != nil {
			return result, errors.Wrapf(err, "loading image %d of %q (%s)", k+1, path, format)
		}
		result.Images = append(result.Images, *loaded)
	}
	return result, nil
}

// openInput tries each format in turn and returns the images of the first that reads path.
func (r *Runtime) openInput(ctx context.Context, path string) ([]loadSource, func(), string, error) {
	var msgs []string
	for _, o := range openers {
		sources, release, err := o.open(ctx, r, path)
		if err == nil {
			if len(sources) > 0 {
				return sources, release, o.format, nil
			}
			release()
			err = errors.New("no images")
		}
		msgs = append(msgs, o.format+": "+err.Error())
	}
	return nil, nil, "", errors.Wrapf(ErrUnsupportedFormat, "loading %q: %s", path, strings.Join(msgs, "; "))
}

// loadOne copies one image into the store and gives it its names.
func (r *Runtime) loadOne(ctx context.Context, pc *signature.PolicyContext, src loadSource) (*LoadedImage, error) {
	sys := r.systemContext()
	id, err := configID(ctx, sys, src.ref)
	if err != nil {
		return nil, err
	}
	dest, err := is.Transport.NewStoreReference(r.store, nil, id)
	if err != nil {
		return nil, errors.Wrapf(err, "creating store reference for image %s", id)
	}
	if err := r.copyImage(ctx, pc, dest, src.ref); err != nil {
		return nil, errors.Wrapf(err, "copying image %s", id)
	}
	loaded := &LoadedImage{ID: id, Names: src.names}
	if len(src.names) > 0 {
		loaded.Moved = r.owners(id, src.names)
		// c/storage puts added names first: adding them in reverse gives the store the order
		// podman's one-by-one adds give (Names last-first, NamesHistory first-first).
		if err := r.store.AddNames(id, reversed(src.names)); err != nil {
			return nil, errors.Wrapf(err, "naming image %s %v", id, src.names)
		}
	}
	first := ""
	if len(src.names) > 0 {
		first = src.names[0]
	}
	r.emit(EventLoad, id, first, nil)
	for _, m := range loaded.Moved {
		r.emit(EventUntag, m.From, m.Name, nil)
	}
	return loaded, nil
}

func reversed(list []string) []string {
	out := make([]string, len(list))
	for k, v := range list {
		out[len(list)-1-k] = v
	}
	return out
}

// copyImage copies src into the store through c/image. If the copy fails, the layers it
// committed before failing are removed again, so the store is left as it was.
func (r *Runtime) copyImage(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference) error {
	before, err := r.layerIDs()
	if err != nil {
		return err
	}
	sys := r.systemContext()
	_, err = copy.Image(ctx, pc, dest, src, &copy.Options{SourceCtx: sys, DestinationCtx: sys})
	if err != nil {
		if cerr := r.removeNewOrphans(before); cerr != nil {
			logrus.Debugf("cleaning up after failed copy: %v", cerr)
			return stderrors.Join(err, cerr)
		}
	}
	return err
}

// owners returns the names of names that an image other than id holds now.
func (r *Runtime) owners(id string, names []string) []MovedName {
	var moved []MovedName
	for _, n := range names {
		if s, err := r.store.Image(n); err == nil && s.ID != id && hasName(s, n) {
			moved = append(moved, MovedName{Name: n, From: s.ID})
		}
	}
	return moved
}

// configID reads the image's manifest from src and returns its config digest, which becomes
// the image's ID in the store.
func configID(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (id string, retErr error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return "", errors.Wrapf(err, "opening %s", ref.StringWithinTransport())
	}
	defer func() { retErr = stderrors.Join(retErr, src.Close()) }()
	raw, mimeType, err := src.GetManifest(ctx, nil)
	if err != nil {
		return "", errors.Wrapf(err, "reading manifest of %s", ref.StringWithinTransport())
	}
	if manifest.MIMETypeIsMultiImage(mimeType) {
		return "", errors.Wrapf(ErrUnsupportedFormat, "%s: a manifest list cannot be loaded", ref.StringWithinTransport())
	}
	m, err := manifest.FromBlob(raw, mimeType)
	if err != nil {
		return "", errors.Wrapf(err, "parsing manifest of %s", ref.StringWithinTransport())
	}
	d := m.ConfigInfo().Digest
	if err := d.Validate(); err != nil {
		return "", errors.Wrapf(err, "config digest of %s", ref.StringWithinTransport())
	}
	return d.Encoded(), nil
}

// policyContext returns the signature policy context for copies: the policy file named in the
// Runtime's SystemContext, else the system default.
func (r *Runtime) policyContext() (*signature.PolicyContext, error) {
	policy, err := signature.DefaultPolicy(r.systemContext())
	if err != nil {
		return nil, errors.Wrapf(ErrNoPolicy, "%s (set SystemContext.SignaturePolicyPath or install /etc/containers/policy.json)", err.Error())
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, errors.Wrap(err, "creating signature policy context")
	}
	return pc, nil
}

func destroyPolicyContext(pc *signature.PolicyContext) {
	if err := pc.Destroy(); err != nil {
		logrus.Debugf("destroying policy context: %v", err)
	}
}

// openDockerArchive reads a docker-archive (possibly compressed, possibly with several images).
func openDockerArchive(_ context.Context, r *Runtime, path string) ([]loadSource, func(), error) {
	if isDir(path) {
		return nil, nil, errors.New("is a directory")
	}
	reader, err := dockerarchive.NewReader(r.systemContext(), path)
	if err != nil {
		return nil, nil, err
	}
	release := func() {
		if err := reader.Close(); err != nil {
			logrus.Debugf("closing %q: %v", path, err)
		}
	}
	lists, err := reader.List()
	if err != nil {
		release()
		return nil, nil, err
	}
	sources := make([]loadSource, 0, len(lists))
	for _, refs := range lists {
		src := loadSource{ref: refs[0]}
		for _, ref := range refs {
			if named := ref.DockerReference(); named != nil {
				src.names = append(src.names, named.String())
			}
		}
		sources = append(sources, src)
	}
	return sources, release, nil
}

// openDir reads a directory in c/image's "dir" format (one image, no names).
func openDir(ctx context.Context, r *Runtime, path string) ([]loadSource, func(), error) {
	if !isDir(path) {
		return nil, nil, errors.New("not a directory")
	}
	if _, err := os.Stat(path + "/manifest.json"); err != nil {
		return nil, nil, errors.New("no manifest.json")
	}
	ref, err := directory.NewReference(path)
	if err != nil {
		return nil, nil, err
	}
	return []loadSource{{ref: ref}}, func() {}, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
