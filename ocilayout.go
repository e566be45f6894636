package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/storage/pkg/archive"
)

// This file reads OCI layouts, c/image "dir" layouts and the tar archives Load is given,
// refusing whatever refers outside them (see Load).

// annotationContainerdName is the annotation containerd and Docker 25+ put the full image
// name in; org.opencontainers.image.ref.name then holds only the tag.
const annotationContainerdName = "io.containerd.image.name"

// openOCIDir reads an OCI layout directory through c/image's root-confined reader: every
// index entry is an image; entries of the same manifest are one image with several names.
// Every manifest, config and layer is checked (checkImage) before c/image reads any.
func openOCIDir(path string) ([]loadSource, func(), error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, nil, err
	}
	release := func() {
		if err := root.Close(); err != nil {
			logrus.Debugf("closing %q: %v", path, err)
		}
	}
	sources, err := ociSources(root, path)
	if err != nil {
		release()
		return nil, nil, err
	}
	return sources, release, nil
}

func ociSources(root *os.Root, path string) ([]loadSource, error) {
	index, err := readIndex(root)
	if err != nil {
		return nil, err
	}
	reader := layout.NewReaderWithRoot(root)
	var sources []loadSource
	byDigest := map[digest.Digest]int{}
	for k, desc := range index.Manifests {
		names, err := ociNames(desc.Annotations)
		if err != nil {
			return nil, errors.Wrapf(err, "index entry %d", k+1)
		}
		if at, ok := byDigest[desc.Digest]; ok {
			sources[at].names = appendNew(sources[at].names, names...)
			continue
		}
		if err := checkOCIManifest(root, desc); err != nil {
			return nil, errors.Wrapf(err, "index entry %d", k+1)
		}
		ref, err := reader.NewIndexReference(path, k)
		if err != nil {
			return nil, errors.Wrapf(err, "index entry %d", k+1)
		}
		byDigest[desc.Digest] = len(sources)
		sources = append(sources, loadSource{ref: ref, names: names})
	}
	return sources, nil
}

// readIndex reads index.json, refusing one over maxJSONSize before reading it.
func readIndex(root *os.Root) (*imgspecv1.Index, error) {
	raw, err := readInRoot(root, imgspecv1.ImageIndexFile, maxJSONSize)
	if err != nil {
		return nil, err
	}
	var index imgspecv1.Index
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, errors.Wrapf(ErrUnsupportedFormat, "decoding index.json: %v", err)
	}
	return &index, nil
}

// checkOCIManifest checks the image an index entry refers to before c/image reads it: the
// manifest is a regular file inside the layout, at most maxJSONSize bytes, matching its
// digest, and not a list; then its config and layers pass checkImage.
func checkOCIManifest(root *os.Root, desc imgspecv1.Descriptor) error {
	name, err := checkBlob(root, "manifest", ociBlobName, desc.Digest, desc.URLs, maxJSONSize)
	if err != nil {
		return err
	}
	raw, err := readInRoot(root, name, maxJSONSize)
	if err != nil {
		return err
	}
	if desc.Digest.Algorithm().FromBytes(raw) != desc.Digest {
		return errors.Wrapf(ErrUnsafeArchive, "manifest %s does not match its digest", desc.Digest)
	}
	mimeType := desc.MediaType
	if mimeType == "" {
		mimeType = manifest.GuessMIMEType(raw)
	}
	return checkImage(root, ociBlobName, raw, mimeType)
}

// checkImage checks the config and layers of the manifest raw: no foreign URLs, each a
// regular file inside the root (named by blobName), the config at most maxJSONSize bytes.
// A manifest list is refused: loading one is not supported.
func checkImage(root *os.Root, blobName func(digest.Digest) string, raw []byte, mimeType string) error {
	if manifest.MIMETypeIsMultiImage(mimeType) {
		return errors.Wrap(ErrUnsupportedFormat, "a manifest list cannot be loaded")
	}
	m, err := manifest.FromBlob(raw, mimeType)
	if err != nil {
		return errors.Wrapf(ErrUnsupportedFormat, "parsing manifest: %v", err)
	}
	config := m.ConfigInfo()
	if _, err := checkBlob(root, "config", blobName, config.Digest, config.URLs, maxJSONSize); err != nil {
		return err
	}
	for k, l := range m.LayerInfos() {
		if _, err := checkBlob(root, "layer "+strconv.Itoa(k+1), blobName, l.Digest, l.URLs, 0); err != nil {
			return err
		}
	}
	return nil
}

// checkBlob checks one descriptor: no foreign URLs (c/image would fetch them), a valid
// digest, and a regular file inside the root of at most limit bytes (0: no limit). It
// returns the blob's path in the root.
func checkBlob(root *os.Root, what string, blobName func(digest.Digest) string, d digest.Digest, urls []string, limit int64) (string, error) {
	if len(urls) > 0 {
		return "", errors.Wrapf(ErrUnsafeArchive, "%s %s has foreign urls %q", what, d, urls)
	}
	if err := d.Validate(); err != nil {
		return "", errors.Wrapf(ErrUnsupportedFormat, "%s: invalid digest %q", what, d)
	}
	name := blobName(d)
	if _, err := statInRoot(root, name, limit); err != nil {
		return "", errors.Wrapf(err, "%s %s", what, d)
	}
	return name, nil
}

// ociBlobName is the path of a (validated) blob in an OCI layout.
func ociBlobName(d digest.Digest) string {
	return path.Join(imgspecv1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// dirBlobName is the path of a (validated) blob in a c/image "dir" layout.
func dirBlobName(d digest.Digest) string {
	if d.Algorithm() == digest.Canonical {
		return d.Encoded()
	}
	return d.Algorithm().String() + "-" + d.Encoded()
}

// openDir reads a directory in c/image's "dir" format (one image, no names), after checking
// that its manifest, config, layers, version and signature files are inside it: c/image
// reads that format through plain paths, not through a root.
func openDir(path string) ([]loadSource, func(), error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	if err := checkDirLayout(root); err != nil {
		return nil, nil, err
	}
	ref, err := directory.NewReference(path)
	if err != nil {
		return nil, nil, err
	}
	return []loadSource{{ref: ref}}, func() {}, nil
}

func checkDirLayout(root *os.Root) error {
	raw, err := readInRoot(root, "manifest.json", maxJSONSize)
	if err != nil {
		return err
	}
	if err := checkImage(root, dirBlobName, raw, manifest.GuessMIMEType(raw)); err != nil {
		return err
	}
	extra := []string{"version"}
	for k := 1; exists(filepath.Join(root.Name(), "signature-"+strconv.Itoa(k))); k++ {
		extra = append(extra, "signature-"+strconv.Itoa(k))
	}
	for _, name := range extra {
		if _, err := statInRoot(root, name, maxJSONSize); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// resolveInRoot returns the path that name (slash-separated, relative to root) refers to,
// resolving links component by component as the kernel and os.Root do (a `..` after a link
// climbs from where the link led, not lexically), and refuses (ErrUnsafeArchive, naming the
// link) a link to an absolute path or one that climbs above the root. A missing component
// ends the walk: the caller's own access reports it.
func resolveInRoot(root *os.Root, name string) (string, error) {
	todo := strings.Split(name, "/")
	var done []string // resolved components, none of them a link
	link := name      // the last link followed ("x is a link to y"), for the error
	for hops := 0; len(todo) > 0; {
		comp := todo[0]
		todo = todo[1:]
		switch {
		case comp == "" || comp == ".":
			continue
		case comp == ".." && len(done) == 0:
			return "", errors.Wrapf(ErrUnsafeArchive, "%s, outside the layout", link)
		case comp == "..":
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(path.Join(done...), comp)
		fi, err := root.Lstat(cur)
		if err != nil {
			return path.Join(append([]string{cur}, todo...)...), nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, comp)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errors.Wrapf(ErrUnsupportedFormat, "%s: too many links", name)
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		link = fmt.Sprintf("%s is a link to %q", cur, target)
		if path.IsAbs(target) {
			return "", errors.Wrapf(ErrUnsafeArchive, "%s, outside the layout", link)
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return path.Join(done...), nil
}

// statInRoot checks that name resolves inside root (resolveInRoot) to a regular file of at
// most limit bytes (0: no limit), and returns the resolved path.
func statInRoot(root *os.Root, name string, limit int64) (string, error) {
	resolved, err := resolveInRoot(root, name)
	if err != nil {
		return "", err
	}
	fi, err := root.Stat(resolved)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.Wrapf(ErrUnsupportedFormat, "%s is not a regular file", name)
	}
	if limit > 0 && fi.Size() > limit {
		return "", errors.Wrapf(ErrUnsafeArchive, "%s is %d bytes, over the limit of %d", name, fi.Size(), limit)
	}
	return resolved, nil
}

// readInRoot reads name, a regular file inside root of at most limit bytes (statInRoot).
func readInRoot(root *os.Root, name string, limit int64) ([]byte, error) {
	resolved, err := statInRoot(root, name, limit)
	if err != nil {
		return nil, err
	}
	f, err := root.Open(resolved)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, errors.Wrapf(err, "reading %s", name)
	}
	if int64(len(raw)) > limit {
		return nil, errors.Wrapf(ErrUnsafeArchive, "%s grew over the limit of %d bytes", name, limit)
	}
	return raw, nil
}

// ociNames returns the name an index entry gives its image: io.containerd.image.name
// (normalized by NormalizeName; an invalid one is an error wrapping ErrInvalidName), else
// org.opencontainers.image.ref.name when it is a valid full name with a tag or digest,
// normalized; any other ref.name (a bare tag such as "latest", or no valid name) names
// nothing.
func ociNames(ann map[string]string) ([]string, error) {
	if n := ann[annotationContainerdName]; n != "" {
		named, err := NormalizeName(n)
		if err != nil {
			return nil, errors.Wrap(err, annotationContainerdName)
		}
		return []string{named.String()}, nil
	}
	n := ann[imgspecv1.AnnotationRefName]
	ref, err := reference.Parse(n)
	if n == "" || err != nil {
		return nil, nil
	}
	_, tagged := ref.(reference.Tagged)
	_, digested := ref.(reference.Digested)
	if _, named := ref.(reference.Named); !named || !(tagged || digested) {
		return nil, nil
	}
	named, err := NormalizeName(n)
	if err != nil {
		logrus.Debugf("%s %q names nothing: %v", imgspecv1.AnnotationRefName, n, err)
		return nil, nil
	}
	return []string{named.String()}, nil
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, have := range list {
			found = found || have == it
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

// openOCIArchive extracts the plain tar at path (its headers checked by scanTar) into a temp
// dir under the Runtime's temp dir and reads it as an OCI layout; release removes the dir.
func (r *Runtime) openOCIArchive(path string) ([]loadSource, func(), error) {
	dir, err := r.tmpDir()
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp(dir, "oci-archive-")
	if err != nil {
		return nil, nil, errors.Wrap(err, "creating temp dir")
	}
	removeTmp := func() {
		if err := os.RemoveAll(tmp); err != nil {
			logrus.Debugf("removing %q: %v", tmp, err)
		}
	}
	if err := untarFile(path, tmp); err != nil {
		removeTmp()
		return nil, nil, err
	}
	sources, release, err := openOCIDir(filepath.Clean(tmp))
	if err != nil {
		removeTmp()
		return nil, nil, err
	}
	return sources, func() { release(); removeTmp() }, nil
}

// untarFile extracts the tar at path into dest with c/storage, which keeps every entry
// inside dest.
func untarFile(path, dest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return archive.Untar(f, dest, &archive.TarOptions{NoLchown: true})
}

// decompressed returns the path of the plain tar for the archive at path: path itself when
// it is a plain file, else a temp file (removed by the returned function) holding it
// decompressed, or spooled when path is a pipe or a device, which can be read only once.
func (r *Runtime) decompressed(ctx context.Context, path string) (string, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return r.spool(ctx, f)
	}
	plain, compressed, err := compression.AutoDecompress(f)
	if err != nil {
		return "", nil, errors.Wrap(err, "detecting compression")
	}
	defer plain.Close()
	if !compressed {
		return path, func() {}, nil
	}
	return r.writeTemp(func(w io.Writer) error {
		_, err := io.Copy(w, readerWithContext{ctx: ctx, r: plain})
		return errors.Wrap(err, "decompressing")
	})
}

// writeTemp creates a temp file under the Runtime's temp dir and fills it; it returns the
// file's path and a function that removes it. On failure nothing is left behind.
func (r *Runtime) writeTemp(fill func(io.Writer) error) (string, func(), error) {
	dir, err := r.tmpDir()
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(dir, "load-*.tar")
	if err != nil {
		return "", nil, errors.Wrap(err, "creating temp file")
	}
	remove := func() {
		if err := os.Remove(f.Name()); err != nil {
			logrus.Debugf("removing %q: %v", f.Name(), err)
		}
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	return f.Name(), remove, nil
}

// readerWithContext stops reading once ctx is done, so a long copy can be cancelled.
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (c readerWithContext) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// tarIndex is what one pass over a tar's headers found.
type tarIndex struct {
	// entries maps each cleaned entry name to its first header (c/image reads the first).
	entries map[string]*tar.Header
	// manifest is the content of manifest.json; nil when there is none.
	manifest []byte
}

// scanTar reads the headers of the plain tar at path once (seeking over the contents),
// refuses entries that leave the archive (checkEntry) and reads manifest.json, refusing
// one over maxTarManifestSize before reading it.
func scanTar(file string) (*tarIndex, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := &tarIndex{entries: map[string]*tar.Header{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return idx, nil
		}
		if err != nil {
			return nil, errors.Wrap(err, "reading tar headers")
		}
		if err := checkEntry(hdr); err != nil {
			return nil, err
		}
		name := path.Clean(hdr.Name)
		if _, seen := idx.entries[name]; seen {
			continue
		}
		idx.entries[name] = hdr
		if name == "manifest.json" {
			if idx.manifest, err = readTarManifest(tr, hdr); err != nil {
				return nil, err
			}
		}
	}
}

// readTarManifest reads manifest.json, which must be a regular file of at most
// maxTarManifestSize bytes.
func readTarManifest(tr io.Reader, hdr *tar.Header) ([]byte, error) {
	if hdr.Typeflag != tar.TypeReg {
		return nil, errors.Wrap(ErrUnsupportedFormat, "manifest.json is not a regular file")
	}
	if hdr.Size > maxTarManifestSize {
		return nil, errors.Wrapf(ErrUnsafeArchive, "manifest.json is %d bytes, over the limit of %d", hdr.Size, maxTarManifestSize)
	}
	raw, err := io.ReadAll(tr)
	if err != nil {
		return nil, errors.Wrap(err, "reading manifest.json")
	}
	return raw, nil
}

// checkEntry refuses a tar entry whose name leaves the archive (`..`, absolute), a link
// whose target does, and anything but files, directories and links.
func checkEntry(hdr *tar.Header) error {
	if escapes(hdr.Name) {
		return errors.Wrapf(ErrUnsafeArchive, "entry %q leaves the archive", hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
		return nil
	case tar.TypeSymlink:
		target := path.Join(path.Dir(path.Clean(hdr.Name)), hdr.Linkname)
		if path.IsAbs(hdr.Linkname) || escapes(target) {
			return errors.Wrapf(ErrUnsafeArchive, "symlink %q -> %q leaves the archive", hdr.Name, hdr.Linkname)
		}
		return nil
	case tar.TypeLink:
		if escapes(hdr.Linkname) {
			return errors.Wrapf(ErrUnsafeArchive, "hard link %q -> %q leaves the archive", hdr.Name, hdr.Linkname)
		}
		return nil
	}
	return errors.Wrapf(ErrUnsafeArchive, "entry %q has type %q, not a file, directory or link", hdr.Name, string(hdr.Typeflag))
}

// escapes reports whether the slash-separated path p is absolute or climbs above its root.
func escapes(p string) bool {
	c := path.Clean(p)
	return path.IsAbs(p) || c == ".." || strings.HasPrefix(c, "../")
}

// maxLinkHops bounds how many links are followed to resolve one path.
const maxLinkHops = 40

// resolve returns the name of the regular file that the archive path ref refers to,
// following symlinks (relative to their directory) and hard links (relative to the root)
// inside the archive.
func (idx *tarIndex) resolve(ref string) (string, error) {
	if escapes(ref) {
		return "", errors.Wrap(ErrUnsafeArchive, "leaves the archive")
	}
	name := path.Clean(ref)
	for range maxLinkHops {
		hdr := idx.entries[name]
		if hdr == nil {
			return "", errors.Wrapf(fs.ErrNotExist, "%q is not in the archive", name)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			return name, nil
		case tar.TypeSymlink:
			name = path.Join(path.Dir(name), hdr.Linkname)
		case tar.TypeLink:
			name = path.Clean(hdr.Linkname)
		default:
			return "", errors.Wrapf(ErrUnsupportedFormat, "%q is not a regular file", name)
		}
		if escapes(name) { // checkEntry refused such links already
			return "", errors.Wrapf(ErrUnsafeArchive, "link to %q leaves the archive", name)
		}
	}
	return "", errors.Wrapf(ErrUnsupportedFormat, "%q: too many links", ref)
}
