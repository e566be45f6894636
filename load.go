package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	stderrors "errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

// ErrUnsafeArchive: Load refused an archive or layout that refers outside itself (a `..` or
// absolute path, a link that leaves it), to the network (a descriptor with foreign URLs), or
// that holds JSON over its size cap or a manifest that does not match its digest. Nothing
// was written to the store then. (It belongs with the other sentinels of errors.go.)
var ErrUnsafeArchive = errors.New("unsafe image archive")

// JSON caps, checked before the JSON is read: c/image's own limits.
const (
	// maxTarManifestSize caps a docker-archive's manifest.json.
	maxTarManifestSize = 1 << 20
	// maxJSONSize caps manifests, indexes (index.json) and configs.
	maxJSONSize = 4 << 20
)

// LoadOptions tune Load and LoadReader. Nil means defaults; there are none to set yet.
type LoadOptions struct {
	// ReportWriter receives c/image's progress lines ("Copying blob ..."), if not nil.
	ReportWriter io.Writer
	// MaxLayerUncompressedBytes, when positive, refuses (ErrLayerTooLarge) an input with a
	// layer larger than this once decompressed, before anything is written: each layer is
	// decompressed once more to count (a decompression bomb stops at the limit). Images with
	// more than MaxImageLayers layers are refused (ErrTooManyLayers) whatever this says.
	MaxLayerUncompressedBytes int64
}

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

// openedInput is an input whose format is known and whose images are ready to be copied.
type openedInput struct {
	format  string
	sources []loadSource
	// release frees what reading the input holds (readers, temp files); called after the copy.
	release func()
}

// Load reads an image archive or layout at path and writes every image in it to the store,
// with every name the input gives it. The format is detected: an OCI layout directory, a
// directory in c/image's "dir" format, a docker-archive (also several images, as
// `podman save -m` writes, and Docker 25+ archives, which also carry an index.json) or an
// oci-archive; archives may be compressed (gzip, zstd, bzip2, xz). Names come from
// docker-archive RepoTags (null or empty: unnamed), and for OCI from the annotation
// io.containerd.image.name, else from org.opencontainers.image.ref.name when that is a full
// name with a tag or digest (a bare tag such as "latest" is not a name); an image without
// names is loaded unnamed. A name held by another image moves to the loaded one, and the
// result reports it.
//
// Load never reads outside its input and never touches the network: before anything is
// written, every file the input's manifest.json or index.json refers to must resolve inside
// it (links that stay inside are followed; a `..` or absolute path, or a link that leaves, is
// refused), no descriptor may carry foreign URLs, and JSON over its cap (1 MiB for a
// docker-archive's manifest.json, 4 MiB for manifests, indexes and configs) is refused before
// it is read: such input fails with an error wrapping ErrUnsafeArchive that names the
// offending entry. A referenced file that is missing fails wrapping fs.ErrNotExist. A layer
// that would write outside itself is refused by c/storage, with an error naming the layer.
// These checks assume that a directory given to Load does not change while it is loaded.
//
// Input that no format can read fails with one error wrapping ErrUnsupportedFormat that
// lists what each format said (an empty file, with one saying it is empty); nothing is
// written then. An error while copying an image
// names it; images of the same input loaded before it stay in the store, and the layers
// the failed copy had written are removed. Temp files (under the Runtime's temp dir) are
// removed on every path. Events: one load event per image (with its first name), then an
// untag event for each moved name's previous owner.
func (r *Runtime) Load(ctx context.Context, path string, opts *LoadOptions) (*LoadResult, error) {
	if path == "" {
		return nil, errors.Wrap(ErrUnsupportedFormat, "loading: empty path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, errors.Wrapf(err, "loading %q", path)
	}
	if fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, errors.Wrapf(ErrUnsupportedFormat, "loading %q: the file is empty", path)
	}
	pc, err := r.policyContext()
	if err != nil {
		return nil, errors.Wrapf(err, "loading %q", path)
	}
	defer destroyPolicyContext(pc)
	return r.load(ctx, pc, path, strconv.Quote(path), opts)
}

// LoadReader reads a docker-archive or an oci-archive, plain or compressed, from rd and
// loads it as Load does (directory formats cannot come from a stream). The stream is first
// decompressed into a temp file under the Runtime's temp dir (SystemContext.
// BigFilesTemporaryDir), which is removed before LoadReader returns, on every path. Errors
// call the input "stream"; an empty stream wraps ErrUnsupportedFormat and says it is empty;
// the other errors and results are those of Load.
func (r *Runtime) LoadReader(ctx context.Context, rd io.Reader, opts *LoadOptions) (*LoadResult, error) {
	if rd == nil {
		return nil, errors.Wrap(ErrUnsupportedFormat, "loading stream: nil reader")
	}
	pc, err := r.policyContext() // before the stream is read: a missing policy fails at once
	if err != nil {
		return nil, errors.Wrap(err, "loading stream")
	}
	defer destroyPolicyContext(pc)
	path, remove, err := r.spool(ctx, rd)
	if err != nil {
		return nil, errors.Wrap(err, "loading stream")
	}
	defer remove()
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		return nil, errors.Wrap(ErrUnsupportedFormat, "loading stream: the stream is empty")
	}
	return r.load(ctx, pc, path, "stream", opts)
}

// load opens the input at path and copies each of its images under the policy pc; label names
// the input in errors.
func (r *Runtime) load(ctx context.Context, pc *signature.PolicyContext, path, label string, opts *LoadOptions) (*LoadResult, error) {
	var o LoadOptions
	if opts != nil {
		o = *opts
	}
	if _, err := r.tmpDir(); err != nil {
		return nil, err
	}
	in, err := r.openInput(ctx, path)
	if err != nil {
		return nil, errors.Wrapf(err, "loading %s", label)
	}
	defer in.release()
	logrus.Debugf("loading %s as %s: %d images", label, in.format, len(in.sources))
	result := &LoadResult{}
	for k, src := range in.sources {
		if err := ctx.Err(); err != nil {
			return result, errors.Wrapf(err, "loading %s", label)
		}
		loaded, err := r.loadOne(ctx, pc, src, &o)
		if err != nil {
			return result, errors.Wrapf(err, "loading image %d of %s (%s)", k+1, label, in.format)
		}
		result.Images = append(result.Images, *loaded)
	}
	return result, nil
}

// openInput detects the format of path and opens it. A directory is an OCI layout when it
// has an index.json, else a "dir" when it has a manifest.json. A file is decompressed if
// needed and its tar headers read once: with a manifest.json it is a docker-archive (Docker
// 25+ archives carry an index.json too: manifest.json's RepoTags hold the same full names),
// else with an index.json an oci-archive. Once the format is known, its errors are final.
func (r *Runtime) openInput(ctx context.Context, path string) (*openedInput, error) {
	if isDir(path) {
		switch {
		case exists(filepath.Join(path, "index.json")):
			sources, release, err := openOCIDir(path)
			return withFormat("oci-dir", sources, release, err)
		case exists(filepath.Join(path, "manifest.json")):
			sources, release, err := openDir(path)
			return withFormat("dir", sources, release, err)
		}
		return nil, unsupported("no index.json", "no manifest.json", "is a directory", "is a directory")
	}
	tarPath, remove, err := r.decompressed(ctx, path)
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, unsupported("not a directory", "not a directory", err.Error(), err.Error())
	}
	in, err := r.openArchive(tarPath)
	if err != nil {
		remove()
		return nil, err
	}
	release := in.release
	in.release = func() { release(); remove() }
	return in, nil
}

// openArchive reads the headers of the plain tar at path and opens it in its format.
func (r *Runtime) openArchive(path string) (*openedInput, error) {
	idx, err := scanTar(path)
	switch {
	case errors.Is(err, ErrUnsafeArchive):
		return nil, err
	case err != nil:
		return nil, unsupported("not a directory", "not a directory", err.Error(), err.Error())
	case idx.manifest != nil:
		sources, release, err := r.openDockerArchive(path, idx)
		return withFormat("docker-archive", sources, release, err)
	case idx.entries["index.json"] != nil:
		sources, release, err := r.openOCIArchive(path)
		return withFormat("oci-archive", sources, release, err)
	}
	return nil, unsupported("not a directory", "not a directory", "no manifest.json", "no index.json")
}

// withFormat completes what an opener returned: the format, and an error for no images.
func withFormat(format string, sources []loadSource, release func(), err error) (*openedInput, error) {
	if err == nil && len(sources) == 0 {
		release()
		err = errors.Wrap(ErrUnsupportedFormat, "no images")
	}
	if err != nil {
		return nil, errors.Wrap(err, format)
	}
	return &openedInput{format: format, sources: sources, release: release}, nil
}

// unsupported is the error for input no format reads, with what each format said.
func unsupported(ociDir, dir, dockerArchive, ociArchive string) error {
	return errors.Wrapf(ErrUnsupportedFormat, "oci-dir: %s; dir: %s; docker-archive: %s; oci-archive: %s",
		ociDir, dir, dockerArchive, ociArchive)
}

// loadOne copies one image into the store and gives it its names.
func (r *Runtime) loadOne(ctx context.Context, pc *signature.PolicyContext, src loadSource, o *LoadOptions) (*LoadedImage, error) {
	sys := r.systemContext()
	id, err := configID(ctx, sys, src.ref)
	if err != nil {
		return nil, err
	}
	if err := checkLayerLimits(ctx, sys, src.ref, o.MaxLayerUncompressedBytes); err != nil {
		return nil, errors.Wrapf(err, "image %s", id)
	}
	dest, err := is.Transport.NewStoreReference(r.store, nil, id)
	if err != nil {
		return nil, errors.Wrapf(err, "creating store reference for image %s", id)
	}
	if err := r.copyImage(ctx, pc, dest, src.ref, o.ReportWriter); err != nil {
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
	sys := r.systemContext()
	policy, err := signature.DefaultPolicy(sys)
	switch {
	case errors.Is(err, fs.ErrNotExist) && sys.SignaturePolicyPath != "":
		return nil, errors.Wrapf(ErrNoPolicy, "the signature policy %q does not exist", sys.SignaturePolicyPath)
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.Wrapf(ErrNoPolicy, "%s (set SystemContext.SignaturePolicyPath or install /etc/containers/policy.json)", err.Error())
	case err != nil: // the file is there and wrong: say what is wrong, not that it is missing
		return nil, errors.Wrap(err, "reading the signature policy")
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

// spool decompresses rd into a temp file under the Runtime's temp dir and returns its path
// and a function that removes it.
func (r *Runtime) spool(ctx context.Context, rd io.Reader) (string, func(), error) {
	plain, _, err := compression.AutoDecompress(rd)
	if err != nil {
		return "", nil, errors.Wrap(err, "detecting compression")
	}
	defer plain.Close()
	return r.writeTemp(func(w io.Writer) error {
		_, err := io.Copy(w, readerWithContext{ctx: ctx, r: plain})
		return err
	})
}

// tarManifestItem is the part of an entry of a docker-archive's manifest.json Load checks.
type tarManifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	LayerSources map[string]struct {
		URLs []string `json:"urls"`
	}
}

// checkManifest checks every file manifest.json refers to (config and layers: inside the
// archive, regular files, configs under maxJSONSize) and refuses foreign layer sources. It
// returns the references that are links, mapped to the files they resolve to.
func (idx *tarIndex) checkManifest() (map[string]string, error) {
	var items []tarManifestItem
	if err := json.Unmarshal(idx.manifest, &items); err != nil {
		return nil, errors.Wrapf(ErrUnsupportedFormat, "decoding manifest.json: %v", err)
	}
	links := map[string]string{}
	for k, item := range items {
		for j, ref := range append([]string{item.Config}, item.Layers...) {
			what := "config"
			if j > 0 {
				what = "layer " + strconv.Itoa(j)
			}
			target, err := idx.resolve(ref)
			if err != nil {
				return nil, errors.Wrapf(err, "manifest.json entry %d: %s %q", k+1, what, ref)
			}
			if size := idx.entries[target].Size; j == 0 && size > maxJSONSize {
				return nil, errors.Wrapf(ErrUnsafeArchive, "manifest.json entry %d: config %q is %d bytes, over the limit of %d", k+1, ref, size, maxJSONSize)
			}
			if target != path.Clean(ref) {
				links[ref] = target
			}
		}
		if err := checkRepoTags(item.RepoTags); err != nil {
			return nil, errors.Wrapf(err, "manifest.json entry %d", k+1)
		}
		for d, src := range item.LayerSources {
			if len(src.URLs) > 0 {
				return nil, errors.Wrapf(ErrUnsafeArchive, "manifest.json entry %d: layer source %s has foreign urls %q", k+1, d, src.URLs)
			}
		}
	}
	return links, nil
}

// checkRepoTags refuses a RepoTags entry that is not a valid name (one NormalizeName
// refuses) or, read as Docker reads it (docker.io/library/ added), not a tagged name.
func checkRepoTags(tags []string) error {
	for _, tag := range tags {
		if _, err := NormalizeName(tag); err != nil {
			return errors.Wrap(err, "RepoTags")
		}
		named, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			return errors.Wrap(invalidName(tag, err), "RepoTags")
		}
		_, tagged := named.(reference.Tagged)
		if _, digested := named.(reference.Digested); digested || !tagged {
			return errors.Wrapf(ErrInvalidName, "RepoTags: %q is not a name with a tag", tag)
		}
	}
	return nil
}

// openDockerArchive reads a docker-archive (possibly with several images) from the plain
// tar at path, whose headers idx holds, after checking what its manifest.json refers to.
// References that are links (inside the archive) are rewritten to their targets in a temp
// copy of the archive, as c/image reads the link's own empty entry instead.
func (r *Runtime) openDockerArchive(path string, idx *tarIndex) ([]loadSource, func(), error) {
	links, err := idx.checkManifest()
	if err != nil {
		return nil, nil, err
	}
	remove := func() {}
	if len(links) > 0 {
		if path, remove, err = r.rewriteManifest(path, links); err != nil {
			return nil, nil, err
		}
	}
	reader, err := dockerarchive.NewReader(r.systemContext(), path)
	if err != nil {
		remove()
		return nil, nil, err
	}
	release := func() {
		if err := reader.Close(); err != nil {
			logrus.Debugf("closing %q: %v", path, err)
		}
		remove()
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

// rewriteManifest writes a copy of the plain tar at src to a temp file, with the references
// of manifest.json found in links replaced by their targets, and returns its path and a
// function that removes it.
func (r *Runtime) rewriteManifest(src string, links map[string]string) (string, func(), error) {
	in, err := os.Open(src)
	if err != nil {
		return "", nil, err
	}
	defer in.Close()
	path, remove, err := r.writeTemp(func(w io.Writer) error { return copyRelinked(w, in, links) })
	if err != nil {
		return "", nil, errors.Wrap(err, "rewriting manifest.json")
	}
	return path, remove, nil
}

// copyRelinked copies the tar src to dst, rewriting the first manifest.json with relink.
func copyRelinked(dst io.Writer, src io.Reader, links map[string]string) error {
	tr, tw := tar.NewReader(src), tar.NewWriter(dst)
	rewritten := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		var body io.Reader = tr
		if !rewritten && path.Clean(hdr.Name) == "manifest.json" {
			raw, err := io.ReadAll(io.LimitReader(tr, maxTarManifestSize))
			if err == nil {
				raw, err = relink(raw, links)
			}
			if err != nil {
				return err
			}
			hdr.Size, body, rewritten = int64(len(raw)), strings.NewReader(string(raw)), true
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, body); err != nil {
			return err
		}
	}
}

// relink replaces, in the entries of manifest.json, each Config and Layers path found in
// links by its target; other fields are kept as they are. Keys match as encoding/json
// matches them into c/image's struct (case-insensitively).
func relink(raw []byte, links map[string]string) ([]byte, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.Wrap(err, "decoding manifest.json")
	}
	for _, item := range items {
		for key, value := range item {
			var paths []string
			single := strings.EqualFold(key, "Config")
			switch {
			case single:
				paths = make([]string, 1)
				_ = json.Unmarshal(value, &paths[0]) // checkManifest decoded it already
			case strings.EqualFold(key, "Layers"):
				_ = json.Unmarshal(value, &paths)
			default:
				continue
			}
			for k, p := range paths {
				if target, ok := links[p]; ok {
					paths[k] = target
				}
			}
			var err error
			if single {
				item[key], err = json.Marshal(paths[0])
			} else {
				item[key], err = json.Marshal(paths)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(items)
}

// exists reports whether path names anything (a dangling link too).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
