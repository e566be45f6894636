package image

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/storage/pkg/archive"
)

// annotationContainerdName is the annotation containerd and Docker 25+ put the full image
// name in; org.opencontainers.image.ref.name then holds only the tag.
const annotationContainerdName = "io.containerd.image.name"

// maxIndexSize caps index.json, as c/image caps manifests and indexes.
const maxIndexSize = 4 << 20

// openOCIDir reads an OCI layout directory through c/image's root-confined reader: every
// index entry is an image; entries of the same manifest are one image with several names.
func openOCIDir(_ context.Context, _ *Runtime, path string) ([]loadSource, func(), error) {
	if !isDir(path) {
		return nil, nil, errors.New("not a directory")
	}
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
			return nil, errors.Wrapf(err, "index entry %d", k)
		}
		if at, ok := byDigest[desc.Digest]; ok {
			sources[at].names = appendNew(sources[at].names, names...)
			continue
		}
		ref, err := reader.NewIndexReference(path, k)
		if err != nil {
			return nil, errors.Wrapf(err, "index entry %d", k)
		}
		byDigest[desc.Digest] = len(sources)
		sources = append(sources, loadSource{ref: ref, names: names})
	}
	return sources, nil
}

// readIndex reads index.json, refusing one over maxIndexSize before reading it.
func readIndex(root *os.Root) (*imgspecv1.Index, error) {
	f, err := root.Open(imgspecv1.ImageIndexFile)
	if err != nil {
		return nil, errors.Wrap(err, "no index.json")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.Wrap(err, "reading index.json")
	}
	if fi.Size() > maxIndexSize {
		return nil, errors.Errorf("index.json is %d bytes, over the limit of %d", fi.Size(), maxIndexSize)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return nil, errors.Wrap(err, "reading index.json")
	}
	var index imgspecv1.Index
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, errors.Wrap(err, "decoding index.json")
	}
	return &index, nil
}

// ociNames returns the name an index entry gives its image: io.containerd.image.name, else
// org.opencontainers.image.ref.name when it is a full name with a tag or digest (a bare tag
// such as "latest" names no repository), normalized by NormalizeName.
func ociNames(ann map[string]string) ([]string, error) {
	if n := ann[annotationContainerdName]; n != "" {
		named, err := NormalizeName(n)
		if err != nil {
			return nil, err
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
		return nil, err
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

// openOCIArchive extracts an oci-archive (possibly compressed) into a temp dir under the
// Runtime's temp dir and reads it as an OCI layout; release removes the dir.
func openOCIArchive(ctx context.Context, r *Runtime, path string) ([]loadSource, func(), error) {
	if isDir(path) {
		return nil, nil, errors.New("is a directory")
	}
	tmp, err := os.MkdirTemp(r.sys.BigFilesTemporaryDir, "oci-archive-")
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
	sources, release, err := openOCIDir(ctx, r, filepath.Clean(tmp))
	if err != nil {
		removeTmp()
		return nil, nil, err
	}
	return sources, func() { release(); removeTmp() }, nil
}

func untarFile(path, dest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return archive.Untar(f, dest, &archive.TarOptions{NoLchown: true})
}
