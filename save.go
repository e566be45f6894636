package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	stderrors "errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
)

// SaveFormat is an output format of Save, named as podman's `save --format` names it.
type SaveFormat string

// The formats Save writes.
const (
	// DockerArchive is a tar archive as `docker save` writes it (manifest.json, uncompressed
	// layers, each written once), holding one or more images with their names. The default.
	DockerArchive SaveFormat = "docker-archive"
	// OCIArchive is a tar archive of an OCI image layout (gzip layers unless
	// SaveOptions.Uncompressed), holding one or more images.
	OCIArchive SaveFormat = "oci-archive"
	// OCIDir is an OCI image layout directory, as OCIArchive without the tar.
	OCIDir SaveFormat = "oci-dir"
	// DockerDir is a directory in c/image's "dir" format with a Docker schema 2 manifest: one
	// image and no names.
	DockerDir SaveFormat = "docker-dir"
)

// Sentinel errors of Save.
var (
	// ErrDestinationExists: the destination of a save is something Save does not replace: a
	// non-empty directory, a device, a pipe or a socket, or a symbolic link to a device, pipe or
	// socket (such as /dev/stdout).
	ErrDestinationExists = errors.New("destination exists")
	// ErrInvalidSaveRequest: the arguments of a save contradict each other or the format (no
	// names, several images for docker-dir, extra tags for several images, an option the
	// format does not have).
	ErrInvalidSaveRequest = errors.New("invalid save request")
)

// SaveOptions tune Save. Nil means defaults.
type SaveOptions struct {
	// Format is the output format; "" means DockerArchive.
	Format SaveFormat
	// AdditionalTags are more names (normalized by NormalizeName; tags, not digests) for the
	// image, written after the names it was asked for by. Only when the names given to Save
	// resolve to a single image, and not for DockerDir, which stores no names.
	AdditionalTags []string
	// Compress writes gzip layers, as podman's --compress; DockerDir only (the other formats
	// have a fixed compression: none for DockerArchive, gzip for the OCI formats).
	Compress bool
	// Uncompressed writes the layers of OCIArchive and OCIDir uncompressed, as podman's
	// --uncompressed; OCI formats only.
	Uncompressed bool
	// ReportWriter receives c/image's progress lines ("Copying blob ..."), if not nil.
	ReportWriter io.Writer
}

// saveItem is one image to save with the names it is saved under, in order.
type saveItem struct {
	img   *Image
	names []string
}

// firstName returns the item's first name, or "" when it was asked for by ID only.
func (it *saveItem) firstName() string {
	if len(it.names) == 0 {
		return ""
	}
	return it.names[0]
}

// saver is one Save call: its options (defaults filled in), its images and its policy.
type saver struct {
	r     *Runtime
	opts  SaveOptions
	items []*saveItem
	pc    *signature.PolicyContext
}

// Save writes the images that names stand for (resolved by LookupImage) to path, in the
// format opts.Format.
//
// Each image is written once, in the order it is first named, and carries the names it was
// asked for by (the name LookupImage resolved to: "busybox" is written as
// "localhost/busybox:latest"), then opts.AdditionalTags; an image asked for by ID or ID prefix
// only gets no name. DockerArchive holds tagged names only (a digested name is not written);
// OCIArchive and OCIDir get one index entry per name, annotated with both
// org.opencontainers.image.ref.name and io.containerd.image.name (the full name), and one entry
// without annotations for an image asked for by ID only; DockerDir holds exactly one image.
// Signatures are not written, except by DockerDir, which keeps them.
//
// The output is written to a temp file or dir beside path (named "." + the base name of path
// + ".tmp-…") and renamed to path once complete, so a failed or cancelled save leaves no new
// file at path and no temp file. An existing file at path is replaced, as podman does, and so is
// an empty directory or a symbolic link (the link itself, never its target); path's directory
// must exist. Files are created with mode 0644 and directories 0755.
//
// Errors quote the input: no names, a missing path or one with a NUL byte, contradictory
// options and too many images for the format wrap ErrInvalidSaveRequest; an unknown format
// wraps ErrUnsupportedFormat; a name that matches no image wraps ErrImageUnknown, an
// ambiguous one ErrAmbiguous, an invalid one (or an invalid additional tag) ErrInvalidName,
// a manifest list ErrManifestList (nothing is written then); a non-empty directory, device or pipe at path wraps
// ErrDestinationExists.
// One save event per image is written after the output is in place, with the image's first
// name ("" for an image asked for by ID only).
func (r *Runtime) Save(ctx context.Context, names []string, path string, opts *SaveOptions) error {
	s := &saver{r: r}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Format == "" {
		s.opts.Format = DockerArchive
	}
	if err := s.validate(names, path); err != nil {
		return err
	}
	if err := s.resolve(names); err != nil {
		return errors.Wrapf(err, "saving %q to %q", names, path)
	}
	if err := ctx.Err(); err != nil {
		return errors.Wrapf(err, "saving %q to %q", names, path)
	}
	if err := s.run(ctx, path); err != nil {
		return errors.Wrapf(err, "saving %q to %q as %s", names, path, s.opts.Format)
	}
	for _, it := range s.items {
		r.emit(EventSave, it.img.ID(), it.firstName(), nil)
	}
	return nil
}

// validate checks what can be checked before looking anything up.
func (s *saver) validate(names []string, path string) error {
	o := &s.opts
	switch {
	case len(names) == 0:
		return errors.Wrapf(ErrInvalidSaveRequest, "saving to %q: no image names", path)
	case path == "":
		return errors.Wrapf(ErrInvalidSaveRequest, "saving %q: no destination path", names)
	case strings.ContainsRune(path, 0):
		return errors.Wrapf(ErrInvalidSaveRequest, "saving %q to %q: a path cannot contain NUL", names, path)
	case !slices.Contains([]SaveFormat{DockerArchive, OCIArchive, OCIDir, DockerDir}, o.Format):
		return errors.Wrapf(ErrUnsupportedFormat, "saving %q to %q: unknown format %q (use docker-archive, oci-archive, oci-dir or docker-dir)", names, path, string(o.Format))
	case o.Compress && o.Format != DockerDir:
		return errors.Wrapf(ErrInvalidSaveRequest, "saving %q to %q: compression can only be chosen for docker-dir, not %s", names, path, o.Format)
	case o.Uncompressed && o.Format != OCIArchive && o.Format != OCIDir:
		return errors.Wrapf(ErrInvalidSaveRequest, "saving %q to %q: uncompressed layers can only be chosen for oci-archive and oci-dir, not %s", names, path, o.Format)
	case len(o.AdditionalTags) > 0 && o.Format == DockerDir:
		return errors.Wrapf(ErrInvalidSaveRequest, "saving %q to %q: docker-dir stores no names, so no additional tags %q", names, path, o.AdditionalTags)
	}
	return nil
}

// resolve looks each name up and groups the names by image, in the order the images are
// first named; a name given twice counts once.
func (s *saver) resolve(names []string) error {
	byID := map[string]*saveItem{}
	for _, name := range names {
		img, resolved, err := s.r.LookupImage(name, nil)
		if err != nil {
			return err
		}
		if img.IsManifestList() {
			return errors.Wrapf(ErrManifestList, "saving %q (image %s): save one of its instances instead", name, img.ID())
		}
		it, ok := byID[img.ID()]
		if !ok {
			it = &saveItem{img: img}
			byID[img.ID()] = it
			s.items = append(s.items, it)
		}
		if resolved != img.ID() && !slices.Contains(it.names, resolved) {
			it.names = append(it.names, resolved)
		}
	}
	if len(s.items) > 1 && s.opts.Format == DockerDir {
		return errors.Wrapf(ErrInvalidSaveRequest, "docker-dir holds one image, %d requested", len(s.items))
	}
	if len(s.opts.AdditionalTags) == 0 {
		return nil
	}
	if len(s.items) > 1 {
		return errors.Wrapf(ErrInvalidSaveRequest, "additional tags %q need a single image, %d requested", s.opts.AdditionalTags, len(s.items))
	}
	return s.addTags(s.items[0])
}

// addTags appends the normalized AdditionalTags to the item's names.
func (s *saver) addTags(it *saveItem) error {
	for _, tag := range s.opts.AdditionalTags {
		named, err := NormalizeName(tag)
		if err != nil {
			return errors.Wrapf(err, "additional tag %q", tag)
		}
		if _, ok := named.(reference.Digested); ok {
			return errors.Wrapf(ErrInvalidName, "additional tag %q: a tag cannot contain a digest", tag)
		}
		if !slices.Contains(it.names, named.String()) {
			it.names = append(it.names, named.String())
		}
	}
	return nil
}

// run writes the output beside path and moves it into place.
func (s *saver) run(ctx context.Context, path string) (retErr error) {
	// c/image reads each layer from the store into a temp file there first.
	if _, err := s.r.tmpDir(); err != nil {
		return err
	}
	isDir := s.opts.Format == OCIDir || s.opts.Format == DockerDir
	out, err := newOutput(path, isDir)
	if err != nil {
		return err
	}
	defer func() { retErr = stderrors.Join(retErr, out.cleanup()) }()
	pc, err := s.r.policyContext()
	if err != nil {
		return err
	}
	defer destroyPolicyContext(pc)
	s.pc = pc
	if err := s.write(ctx, out.tmp); err != nil {
		return err
	}
	return out.commit()
}

// write writes the output in the chosen format to tmp (an empty file or an empty dir).
func (s *saver) write(ctx context.Context, tmp string) error {
	switch s.opts.Format {
	case OCIArchive:
		return s.writeOCIArchive(ctx, tmp)
	case OCIDir:
		return s.writeOCILayout(ctx, tmp)
	case DockerDir:
		ref, err := directory.NewReference(tmp)
		if err != nil {
			return err
		}
		sys := s.r.systemContext()
		sys.DirForceCompress = s.opts.Compress
		_, err = s.copy(ctx, s.items[0], ref, sys)
		return err
	default:
		return s.writeDockerArchive(ctx, tmp)
	}
}

// copy copies the item's image from the store to dest, with destSys as the destination's
// system context, and returns the manifest written.
func (s *saver) copy(ctx context.Context, it *saveItem, dest types.ImageReference, destSys *types.SystemContext) ([]byte, error) {
	src, err := is.Transport.NewStoreReference(s.r.store, nil, it.img.ID())
	if err != nil {
		return nil, errors.Wrapf(err, "creating store reference for image %s", it.img.ID())
	}
	opts := &copy.Options{
		SourceCtx:             s.r.systemContext(),
		DestinationCtx:        destSys,
		ReportWriter:          s.opts.ReportWriter,
		ForceManifestMIMEType: manifest.DockerV2Schema2MediaType,
		RemoveSignatures:      s.opts.Format != DockerDir, // the other formats cannot hold them
	}
	if s.opts.Format == OCIArchive || s.opts.Format == OCIDir {
		opts.ForceManifestMIMEType = imgspecv1.MediaTypeImageManifest
	}
	raw, err := copy.Image(ctx, s.pc, dest, src, opts)
	if err != nil {
		return nil, errors.Wrapf(err, "copying image %s", it.img.ID())
	}
	return raw, nil
}

// writeDockerArchive writes every image to one docker-archive through c/image's multi-image
// writer, which writes each layer once.
func (s *saver) writeDockerArchive(ctx context.Context, file string) (retErr error) {
	w, err := dockerarchive.NewWriter(s.r.systemContext(), file)
	if err != nil {
		return err
	}
	defer func() {
		if err := w.Close(); err != nil {
			retErr = stderrors.Join(retErr, errors.Wrap(err, "finishing the archive"))
		}
	}()
	for _, it := range s.items {
		dest, err := w.NewReference(nil)
		if err != nil {
			return err
		}
		sys := s.r.systemContext()
		sys.DockerArchiveAdditionalTags = repoTags(it)
		if _, err := s.copy(ctx, it, dest, sys); err != nil {
			return err
		}
	}
	return nil
}

// repoTags returns the item's tagged names; digested names cannot be written to a
// docker-archive's RepoTags and are left out.
func repoTags(it *saveItem) []reference.NamedTagged {
	tags := []reference.NamedTagged{}
	for _, name := range it.names {
		ref, err := reference.ParseNormalizedNamed(name)
		if tagged, ok := ref.(reference.NamedTagged); err == nil && ok {
			tags = append(tags, tagged)
			continue
		}
		logrus.Debugf("saving image %s: %q is not a tag, not written to the docker-archive", it.img.ID(), name)
	}
	return tags
}

// writeOCIArchive writes the images to an OCI layout in a temp dir under the Runtime's temp
// dir, then tars it to file.
func (s *saver) writeOCIArchive(ctx context.Context, file string) error {
	tmpDir, err := s.r.tmpDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(tmpDir, "oci-save-")
	if err != nil {
		return errors.Wrap(err, "creating temp dir")
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			logrus.Debugf("removing %q: %v", dir, err)
		}
	}()
	if err := s.writeOCILayout(ctx, dir); err != nil {
		return err
	}
	return tarDirToFile(ctx, dir, file)
}

// writeOCILayout copies each image once into the OCI layout dir (blobs shared: a layer
// compressed for one image is reused by the next), then writes index.json with one entry per
// name.
func (s *saver) writeOCILayout(ctx context.Context, dir string) error {
	descs := make([]imgspecv1.Descriptor, len(s.items))
	written := map[digest.Digest]types.BlobInfo{}
	for k, it := range s.items {
		ref, err := layout.NewReference(dir, "")
		if err != nil {
			return err
		}
		sys := s.r.systemContext()
		sys.OCIAcceptUncompressedLayers = s.opts.Uncompressed
		raw, err := s.copy(ctx, it, reusingReference{ImageReference: ref, written: written}, sys)
		if err != nil {
			return err
		}
		d, err := manifest.Digest(raw)
		if err != nil {
			return errors.Wrapf(err, "digesting the manifest of image %s", it.img.ID())
		}
		descs[k] = imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(raw))}
		if err := noteLayers(ctx, it.img, raw, written); err != nil {
			return err
		}
	}
	return writeIndex(dir, s.items, descs)
}

// noteLayers records, for each layer of the OCI manifest raw just written for img, its blob
// in the layout under the layer's diff ID (the digest the store gives c/image).
func noteLayers(ctx context.Context, img *Image, raw []byte, written map[digest.Digest]types.BlobInfo) error {
	m, err := manifest.OCI1FromManifest(raw)
	if err != nil {
		return errors.Wrapf(err, "parsing the manifest written for image %s", img.ID())
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil // not one layer per diff ID: reuse nothing rather than guess
	}
	for k, l := range m.Layers {
		if l.MediaType == imgspecv1.MediaTypeImageLayerGzip {
			written[cfg.RootFS.DiffIDs[k]] = types.BlobInfo{Digest: l.Digest, Size: l.Size,
				CompressionOperation: types.Compress, CompressionAlgorithm: &compression.Gzip}
		}
	}
	return nil
}

// reusingReference is an OCI layout reference whose destination finds the layers an earlier
// copy of the same save has compressed: c/image's OCI destination looks a blob up only by the
// digest it is asked for (the store's uncompressed one), so without this every image that
// shares a base layer would compress it again.
type reusingReference struct {
	types.ImageReference
	// written maps a layer's diff ID to its compressed blob in the layout.
	written map[digest.Digest]types.BlobInfo
}

// NewImageDestination returns the layout's destination, reusing the written layers.
func (r reusingReference) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	dest, err := r.ImageReference.NewImageDestination(ctx, sys)
	if err != nil {
		return nil, err
	}
	return &reusingDestination{ImageDestination: dest, written: r.written}, nil
}

// reusingDestination is the destination of a reusingReference.
type reusingDestination struct {
	types.ImageDestination
	written map[digest.Digest]types.BlobInfo
}

// TryReusingBlob answers from the layers already written, else asks the layout.
func (d *reusingDestination) TryReusingBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache, canSubstitute bool) (bool, types.BlobInfo, error) {
	if blob, ok := d.written[info.Digest]; ok && canSubstitute {
		return true, blob, nil
	}
	return d.ImageDestination.TryReusingBlob(ctx, info, cache, canSubstitute)
}

// writeIndex replaces the layout's index.json (c/image's, one unnamed entry per image) with
// one entry per name of each item, or one entry without annotations for an item that has no
// name.
func writeIndex(dir string, items []*saveItem, descs []imgspecv1.Descriptor) error {
	index := imgspecv1.Index{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageIndex,
		Manifests: []imgspecv1.Descriptor{},
	}
	for k, it := range items {
		if len(it.names) == 0 {
			index.Manifests = append(index.Manifests, descs[k])
		}
		for _, name := range it.names {
			desc := descs[k]
			desc.Annotations = map[string]string{
				imgspecv1.AnnotationRefName: name,
				annotationContainerdName:    name,
			}
			index.Manifests = append(index.Manifests, desc)
		}
	}
	raw, err := json.Marshal(index)
	if err != nil {
		return errors.Wrap(err, "encoding index.json")
	}
	if err := os.WriteFile(filepath.Join(dir, imgspecv1.ImageIndexFile), raw, 0o644); err != nil {
		return errors.Wrap(err, "writing index.json")
	}
	return nil
}

// tarDirToFile writes the tree under dir to file as an uncompressed tar, in lexical order,
// with owner 0:0, modes 0755 and 0644 and the time 1970-01-01, so the same tree gives the
// same bytes.
func tarDirToFile(ctx context.Context, dir, file string) (retErr error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer func() { retErr = stderrors.Join(retErr, f.Close()) }()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		return tarEntry(tw, dir, path, d)
	})
	if err != nil {
		return errors.Wrapf(err, "writing the archive of %q", dir)
	}
	return errors.Wrap(tw.Close(), "finishing the archive")
}

// tarEntry writes one directory or regular file of the layout to tw.
func tarEntry(tw *tar.Writer, dir, path string, d fs.DirEntry) error {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	switch {
	case d.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
		return tw.WriteHeader(hdr)
	case !d.Type().IsRegular():
		return errors.Errorf("%q is not a regular file", rel)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
