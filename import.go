package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/tarball"
	"go.podman.io/image/v5/types"
)

// ErrImportSource: Import could not get its input: no reader for "-", a URL scheme other than
// http and https, or a server that did not answer 2xx. The error names the source.
var ErrImportSource = errors.New("cannot read import source")

// ErrInvalidPlatform: an OS, architecture or variant given to Import is not a plain name.
var ErrInvalidPlatform = errors.New("invalid platform")

// ImportOptions tune Import. Nil means defaults; the caller's struct is never modified.
type ImportOptions struct {
	// Reader is read to its end when the source is "-"; Import does not close it.
	Reader io.Reader
	// Changes are Dockerfile instructions applied in order to the image's configuration:
	// CMD, ENTRYPOINT (JSON array, or shell form run as ["/bin/sh", "-c", ...]), ENV and LABEL
	// (name=value words with quotes, or the legacy "NAME value"), EXPOSE, ONBUILD, STOPSIGNAL,
	// USER, VOLUME, WORKDIR. A bad one fails the import with ErrInvalidChange naming it.
	Changes []string
	// Message becomes the comment of the image's history entry ("imported from tarball" when
	// empty, as podman writes).
	Message string
	// OS, Arch and Variant are the image's platform. An empty OS or Arch is the SystemContext's
	// OSChoice or ArchitectureChoice, else the running platform's; an empty Variant is the
	// SystemContext's VariantChoice when Arch is empty too. Aliases are normalized
	// (x86_64 → amd64, aarch64 → arm64, armhf → arm/v7).
	OS, Arch, Variant string
	// Name is the name to give the image, normalized by NormalizeName (a short name is stored
	// under localhost/). Empty means an unnamed image; a digested name is refused.
	Name string
	// ReportWriter receives c/image's progress lines ("Copying blob ..."), if not nil.
	ReportWriter io.Writer
	// MaxLayerUncompressedBytes, when positive, refuses (ErrLayerTooLarge) a tarball larger
	// than this once decompressed, before anything is written to the store.
	MaxLayerUncompressedBytes int64
}

// importJob is one import, with its options checked and normalized.
type importJob struct {
	source   string // as given
	display  string // for messages: the source, a URL without its password
	changes  *imageChanges
	named    reference.Named // nil for an unnamed image
	platform imgspecv1.Platform
	message  string
	reader   io.Reader
	report   io.Writer
	maxBytes int64
}

// Import writes a rootfs tarball to the store as a one-layer image and returns the image's
// ID. The source is a file path, an http or https URL (fetched with ctx), or "-" for
// opts.Reader; the tarball may be plain or gzip, zstd, xz or bzip2 compressed (detected from
// the content). The image is what `podman import` makes of the same tarball: an OCI
// configuration from opts.Changes, the platform, one history entry
// "/bin/sh -c #(nop) ADD file:<diff ID> in /" with opts.Message as its comment, and as the
// creation time the file's modification time (the time of download or reading for a URL or
// a reader), so two imports of the same file give the same ID. The image is written through
// c/image (tarball transport into containers-storage) under the signature policy; its layer,
// the one c/image would make, is written to the store straight from the file first (a
// source that is not a regular file is spooled to a temp file first), so the copy reuses it
// instead of spooling the whole tarball once more.
//
// Options are checked before anything is read: bad changes are ErrInvalidChange, a bad name
// ErrInvalidName, a bad platform ErrInvalidPlatform. A missing file wraps fs.ErrNotExist, an
// empty file, a directory or content that is no tar archive ErrNotTarball (which is also
// ErrUnsupportedFormat to errors.Is), a source
// that cannot be fetched ErrImportSource, a missing policy ErrNoPolicy; every error quotes the
// source. A failed import leaves the store and the Runtime's temp dir as they were.
// Events: one import event with the image's ID and name ("" when unnamed), after the image is
// written; if the name moved from another image, then an untag event for that image.
func (r *Runtime) Import(ctx context.Context, source string, opts *ImportOptions) (string, error) {
	job, err := r.newImportJob(source, opts)
	if err != nil {
		return "", errors.Wrapf(err, "importing %q", redactURL(source))
	}
	id, err := r.runImport(ctx, job)
	if err != nil {
		return "", errors.Wrapf(err, "importing %q", job.display)
	}
	return id, nil
}

// newImportJob checks and normalizes the options, reading nothing.
func (r *Runtime) newImportJob(source string, opts *ImportOptions) (*importJob, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	if source == "" {
		return nil, errors.Wrap(ErrImportSource, "empty source")
	}
	changes, err := parseChanges(o.Changes)
	if err != nil {
		return nil, err
	}
	platform, err := r.importPlatform(o.OS, o.Arch, o.Variant)
	if err != nil {
		return nil, err
	}
	job := &importJob{source: source, display: redactURL(source), changes: changes, platform: platform, message: o.Message, reader: o.Reader, report: o.ReportWriter,
		maxBytes: o.MaxLayerUncompressedBytes}
	if o.Name != "" {
		if job.named, err = NormalizeName(o.Name); err != nil {
			return nil, err
		}
		if _, ok := job.named.(reference.Digested); ok {
			return nil, errors.Wrapf(ErrInvalidName, "%q: an imported image cannot be named by digest", o.Name)
		}
	}
	return job, nil
}

// runImport fetches the source if needed, checks it is a tarball and copies it to the store.
func (r *Runtime) runImport(ctx context.Context, job *importJob) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := r.tmpDir(); err != nil {
		return "", err
	}
	pc, err := r.policyContext()
	if err != nil {
		return "", err
	}
	defer destroyPolicyContext(pc)
	path, release, err := r.localTarball(ctx, job)
	if err != nil {
		return "", err
	}
	defer release()
	id, err := r.importFile(ctx, pc, job, path)
	if err != nil && path != job.source {
		err = &sourceNamedError{err: err, msg: strings.ReplaceAll(err.Error(), path, job.display)}
	}
	return id, err
}

// sourceNamedError is an error of an import that read a temp file or link in place of the
// source (a reader, a URL, a pipe, a path with ":"), with that file's path replaced by the
// source in its message; errors.Is and errors.As see the error it wraps.
type sourceNamedError struct {
	err error
	msg string
}

func (e *sourceNamedError) Error() string { return e.msg }
func (e *sourceNamedError) Unwrap() error { return e.err }

// importFile imports the tarball at path, a regular file holding the source's bytes.
func (r *Runtime) importFile(ctx context.Context, pc *signature.PolicyContext, job *importJob, path string) (string, error) {
	if err := checkTarball(path); err != nil {
		return "", err
	}
	if err := checkFileUncompressed(path, job.maxBytes); err != nil {
		return "", err
	}
	src, id, err := r.openTarball(ctx, path, job)
	if err != nil {
		return "", err
	}
	defer closeSource(src)
	layerID, created, err := r.putImportLayer(ctx, pc, src, path)
	if err != nil {
		return "", err
	}
	id, err = r.storeImport(ctx, pc, job, openedRef{ImageReference: src.Reference(), src: src}, id)
	if err != nil && created {
		r.deleteImportLayer(layerID)
	}
	return id, err
}

// storeImport copies the opened tarball image into the store under its ID (and name), then
// writes the events.
func (r *Runtime) storeImport(ctx context.Context, pc *signature.PolicyContext, job *importJob, src types.ImageReference, id string) (string, error) {
	dest, err := is.Transport.NewStoreReference(r.store, job.named, id)
	if err != nil {
		return "", errors.Wrapf(err, "creating store reference for image %s", id)
	}
	name := ""
	var moved []MovedName
	if job.named != nil {
		name = job.named.String()
		moved = r.owners(id, []string{name})
	}
	if err := r.copyImage(ctx, pc, dest, src, job.report); err != nil {
		return "", errors.Wrapf(err, "copying image %s", id)
	}
	r.emit(EventImport, id, name, nil)
	for _, m := range moved {
		r.emit(EventUntag, m.From, m.Name, nil)
	}
	return id, nil
}

// localTarball returns the path of a regular file holding the source's bytes, and a function
// that removes whatever was made for it: a download, a copy of a reader or a pipe, or a link
// for a path c/image's tarball transport cannot take (one with ":").
func (r *Runtime) localTarball(ctx context.Context, job *importJob) (string, func(), error) {
	source := job.source
	switch {
	case source == "-":
		if job.reader == nil {
			return "", nil, errors.Wrap(ErrImportSource, `source "-" needs ImportOptions.Reader`)
		}
		return r.spoolImport(ctx, job.reader)
	case isURL(source):
		return r.download(ctx, source)
	}
	fi, err := os.Stat(source)
	switch {
	case err != nil:
		return "", nil, err
	case fi.IsDir():
		return "", nil, errors.Wrap(ErrNotTarball, "a directory")
	case !fi.Mode().IsRegular():
		return r.spoolImportFile(ctx, source)
	case strings.Contains(source, ":"):
		return r.linkTarball(source)
	}
	return source, func() {}, nil
}

// urlPattern matches a source that is a URL ("scheme://..."), not a file path.
var urlPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

func isURL(source string) bool { return urlPattern.MatchString(source) }

// redactURL hides the password of a URL source; other sources are returned unchanged.
func redactURL(source string) string {
	if !isURL(source) {
		return source
	}
	if u, err := url.Parse(source); err == nil {
		return u.Redacted()
	}
	return source
}

// download fetches an http or https URL into a temp file.
func (r *Runtime) download(ctx context.Context, source string) (string, func(), error) {
	u, err := url.Parse(source)
	if err != nil {
		return "", nil, errors.Wrapf(ErrImportSource, "parsing URL: %s", err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", nil, errors.Wrapf(ErrImportSource, "URL scheme %q: only http and https are supported", u.Scheme)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return "", nil, errors.Wrapf(ErrImportSource, "creating request: %s", err.Error())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil, errors.Wrapf(ErrImportSource, "fetching %s: %s", u.Redacted(), redactError(err, source, u))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, errors.Wrapf(ErrImportSource, "fetching %s: server answered %s", u.Redacted(), resp.Status)
	}
	return r.spoolImport(ctx, resp.Body)
}

// redactError returns the message of err with the URL's password hidden.
func redactError(err error, source string, u *url.URL) string {
	return strings.ReplaceAll(err.Error(), source, u.Redacted())
}

// spoolImportFile copies a file that cannot be read twice (a pipe, a device) into a temp file.
func (r *Runtime) spoolImportFile(ctx context.Context, path string) (string, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	return r.spoolImport(ctx, f)
}

// spoolImport copies reader into a temp file under the Runtime's temp dir; the function it returns
// removes the file. It stops when ctx is done.
func (r *Runtime) spoolImport(ctx context.Context, reader io.Reader) (string, func(), error) {
	f, err := os.CreateTemp(r.sys.BigFilesTemporaryDir, "import-*.tar")
	if err != nil {
		return "", nil, errors.Wrap(err, "creating temp file")
	}
	remove := func() {
		if err := os.Remove(f.Name()); err != nil {
			logrus.Debugf("removing %q: %v", f.Name(), err)
		}
	}
	_, err = io.Copy(f, ctxReader{ctx: ctx, r: reader})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, errors.Wrap(err, "reading the tarball")
	}
	return f.Name(), remove, nil
}

// ctxReader fails reads once its context is done, so a long copy can be cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// linkTarball makes a link without ":" in a temp dir to path (the tarball transport splits its
// reference at ":"); the link keeps the file's modification time, so the image is the same.
func (r *Runtime) linkTarball(path string) (string, func(), error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(r.sys.BigFilesTemporaryDir, "import-")
	if err != nil {
		return "", nil, errors.Wrap(err, "creating temp dir")
	}
	remove := func() {
		if err := os.RemoveAll(dir); err != nil {
			logrus.Debugf("removing %q: %v", dir, err)
		}
	}
	link := filepath.Join(dir, "rootfs.tar")
	if err := os.Symlink(abs, link); err != nil {
		remove()
		return "", nil, errors.Wrap(err, "linking the tarball into the temp dir")
	}
	return link, remove, nil
}

// checkTarball refuses, before anything is written, a file that is empty or whose content
// (decompressed if compressed) does not start with a tar header. An archive with no entries
// (its end marker only) is accepted, as podman and Docker accept it.
func checkTarball(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return errors.Wrap(ErrNotTarball, "empty file")
	}
	_, decompress, stream, err := compression.DetectCompressionFormat(f)
	if err != nil {
		return errors.Wrap(ErrNotTarball, err.Error())
	}
	if decompress != nil {
		rc, err := decompress(stream)
		if err != nil {
			return errors.Wrapf(ErrNotTarball, "decompressing: %s", err.Error())
		}
		defer rc.Close()
		stream = rc
	}
	block := make([]byte, 512)
	if _, err := io.ReadFull(stream, block); err != nil {
		return errors.Wrap(ErrNotTarball, err.Error())
	}
	if _, err := tar.NewReader(bytes.NewReader(block)).Next(); err != nil && err != io.EOF {
		return errors.Wrap(ErrNotTarball, err.Error())
	}
	return nil
}

// openTarball opens the tarball as an image through c/image's tarball transport, with the
// job's configuration, and returns the source and the image's ID (its config digest). Opening
// reads and digests the whole file once; the copy then reuses this source.
func (r *Runtime) openTarball(ctx context.Context, path string, job *importJob) (types.ImageSource, string, error) {
	ref, err := tarball.NewReference([]string{path}, nil)
	if err != nil {
		return nil, "", err
	}
	updater, ok := ref.(tarball.ConfigUpdater)
	if !ok {
		return nil, "", errors.New("c/image's tarball reference cannot take a configuration")
	}
	cfg := imgspecv1.Image{
		Platform: job.platform,
		Config:   job.changes.config,
		History:  []imgspecv1.History{{Comment: job.message}},
	}
	if err := updater.ConfigUpdate(cfg, map[string]string{}); err != nil {
		return nil, "", errors.Wrap(err, "setting the image configuration")
	}
	src, err := ref.NewImageSource(ctx, r.systemContext())
	if err != nil {
		return nil, "", errors.Wrap(err, "reading the tarball")
	}
	if len(job.changes.onBuild) > 0 {
		if src, err = withOnBuild(ctx, src, job.changes.onBuild); err != nil {
			closeSource(src)
			return nil, "", err
		}
	}
	id, err := sourceConfigID(ctx, src)
	if err != nil {
		closeSource(src)
		return nil, "", err
	}
	return src, id, nil
}

func closeSource(src types.ImageSource) {
	if err := src.Close(); err != nil {
		logrus.Debugf("closing image source: %v", err)
	}
}

// sourceConfigID returns the config digest of src's manifest, which becomes the image's ID.
func sourceConfigID(ctx context.Context, src types.ImageSource) (string, error) {
	m, err := ociManifest(ctx, src)
	if err != nil {
		return "", err
	}
	if err := m.Config.Digest.Validate(); err != nil {
		return "", errors.Wrap(err, "config digest")
	}
	return m.Config.Digest.Encoded(), nil
}

func ociManifest(ctx context.Context, src types.ImageSource) (*imgspecv1.Manifest, error) {
	raw, _, err := src.GetManifest(ctx, nil)
	if err != nil {
		return nil, errors.Wrap(err, "reading the manifest")
	}
	var m imgspecv1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.Wrap(err, "decoding the manifest")
	}
	return &m, nil
}

// configSource serves an image source's blobs and a replaced configuration and manifest.
type configSource struct {
	types.ImageSource
	manifest     []byte
	config       []byte
	configDigest digest.Digest
}

func (s *configSource) GetManifest(_ context.Context, instance *digest.Digest) ([]byte, string, error) {
	if instance != nil {
		return nil, "", errors.New("not a manifest list")
	}
	return s.manifest, imgspecv1.MediaTypeImageManifest, nil
}

func (s *configSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	if info.Digest == s.configDigest {
		return io.NopCloser(bytes.NewReader(s.config)), int64(len(s.config)), nil
	}
	return s.ImageSource.GetBlob(ctx, info, cache)
}

// withOnBuild returns src with the ONBUILD triggers added to its configuration as "OnBuild"
// in "config", where Docker's configuration keeps them (the OCI configuration has no such
// field; its readers ignore it).
func withOnBuild(ctx context.Context, src types.ImageSource, triggers []string) (types.ImageSource, error) {
	m, err := ociManifest(ctx, src)
	if err != nil {
		return src, err
	}
	rc, _, err := src.GetBlob(ctx, types.BlobInfo{Digest: m.Config.Digest, Size: m.Config.Size}, nil)
	if err != nil {
		return src, errors.Wrap(err, "reading the configuration")
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return src, errors.Wrap(err, "reading the configuration")
	}
	config, err := addOnBuild(raw, triggers)
	if err != nil {
		return src, err
	}
	m.Config.Digest, m.Config.Size = digest.FromBytes(config), int64(len(config))
	manifest, err := json.Marshal(m)
	if err != nil {
		return src, errors.Wrap(err, "encoding the manifest")
	}
	return &configSource{ImageSource: src, manifest: manifest, config: config, configDigest: m.Config.Digest}, nil
}

func addOnBuild(raw []byte, triggers []string) ([]byte, error) {
	var top, inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, errors.Wrap(err, "decoding the configuration")
	}
	if c := top["config"]; len(c) > 0 {
		if err := json.Unmarshal(c, &inner); err != nil {
			return nil, errors.Wrap(err, "decoding the configuration")
		}
	}
	if inner == nil {
		inner = map[string]json.RawMessage{}
	}
	var err error
	if inner["OnBuild"], err = json.Marshal(triggers); err != nil {
		return nil, err
	}
	if top["config"], err = json.Marshal(inner); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// platformName matches an OS, architecture or variant name.
var platformName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// importPlatform fills the platform's defaults and normalizes architecture aliases.
func (r *Runtime) importPlatform(goos, arch, variant string) (imgspecv1.Platform, error) {
	if goos == "" {
		goos = firstNonEmpty(r.sys.OSChoice, runtime.GOOS)
	}
	if arch == "" {
		arch = firstNonEmpty(r.sys.ArchitectureChoice, runtime.GOARCH)
		variant = firstNonEmpty(variant, r.sys.VariantChoice)
	}
	goos = strings.ToLower(goos)
	arch, variant = normalizeArch(strings.ToLower(arch), strings.ToLower(variant))
	for _, v := range []string{goos, arch} {
		if !platformName.MatchString(v) {
			return imgspecv1.Platform{}, errors.Wrapf(ErrInvalidPlatform, "%q is not an OS or architecture name", v)
		}
	}
	if variant != "" && !platformName.MatchString(variant) {
		return imgspecv1.Platform{}, errors.Wrapf(ErrInvalidPlatform, "%q is not a variant name", variant)
	}
	return imgspecv1.Platform{OS: goos, Architecture: arch, Variant: variant}, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// normalizeArch maps architecture aliases to Go's names and drops or fills variants as
// containerd's platform normalization does.
func normalizeArch(arch, variant string) (string, string) {
	switch arch {
	case "i386", "i686":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		if variant == "8" || variant == "v8" {
			variant = ""
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
		return "arm", variant
	}
	return arch, variant
}
