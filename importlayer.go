package image

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// importLayer is the one layer of an image being imported, as the tarball transport described
// it: the digest of the tarball's bytes (the manifest's layer) and of its tar stream (the
// config's diff ID).
type importLayer struct {
	blob   digest.Digest
	diffID digest.Digest
}

// id is the ID c/image's containers-storage destination gives a base layer: its diff ID.
func (l importLayer) id() string { return l.diffID.Encoded() }

// importLayerOf reads the layer's digests from the opened tarball source.
func importLayerOf(ctx context.Context, src types.ImageSource) (importLayer, error) {
	m, err := ociManifest(ctx, src)
	if err != nil {
		return importLayer{}, err
	}
	rawConfig, _, err := src.GetBlob(ctx, types.BlobInfo{Digest: m.Config.Digest, Size: m.Config.Size}, nil)
	if err != nil {
		return importLayer{}, errors.Wrap(err, "reading the configuration")
	}
	defer rawConfig.Close()
	var config imgspecv1.Image
	if err := json.NewDecoder(rawConfig).Decode(&config); err != nil {
		return importLayer{}, errors.Wrap(err, "decoding the configuration")
	}
	if len(m.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 {
		return importLayer{}, errors.Errorf("internal error: the tarball image has %d layers and %d diff IDs", len(m.Layers), len(config.RootFS.DiffIDs))
	}
	l := importLayer{blob: m.Layers[0].Digest, diffID: config.RootFS.DiffIDs[0]}
	if err := l.blob.Validate(); err != nil {
		return importLayer{}, errors.Wrap(err, "layer digest")
	}
	if err := l.diffID.Validate(); err != nil {
		return importLayer{}, errors.Wrap(err, "layer diff ID")
	}
	return l, nil
}

// putImportLayer writes the tarball at path to the store as the layer c/image would make of
// it (same ID, same digests), straight from the file, before the copy: the copy then finds the
// blob in the store and reuses it, instead of spooling the whole tarball to a temp file and
// applying it from there (a write and two reads of the tarball fewer). The policy is checked
// first, so a refused image writes nothing. The bytes c/storage applies are checked against
// the digest the source computed before the layer is complete (verifyingReader): a file that
// changed meanwhile is refused (ErrImportSource) and the layer never exists under its ID.
// It returns whether it created the layer (false when the layer was already there), so that
// a failed copy can delete it.
func (r *Runtime) putImportLayer(ctx context.Context, pc *signature.PolicyContext, src types.ImageSource, path string) (string, bool, error) {
	l, err := importLayerOf(ctx, src)
	if err != nil {
		return "", false, err
	}
	if allowed, err := pc.IsRunningImageAllowed(ctx, image.UnparsedInstance(src, nil)); !allowed || err != nil {
		if err == nil {
			err = errors.New("the signature policy refused the image")
		}
		return "", false, err
	}
	if _, err := r.store.Layer(l.id()); err == nil {
		return l.id(), false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v := &verifyingReader{r: f, verifier: l.blob.Verifier()}
	// c/storage is given both digests, so it does not compute them again: the verifying reader
	// checks the bytes it reads against the blob digest, and those bytes are the ones whose
	// tar stream had the diff ID.
	layer, _, err := r.store.PutLayer(l.id(), "", nil, "", false, &storage.LayerOptions{OriginalDigest: l.blob, UncompressedDigest: l.diffID}, v)
	switch {
	case v.mismatch:
		return "", false, errors.Wrapf(ErrImportSource, "the tarball changed while it was imported (its digest is no longer %s)", l.blob)
	case errors.Is(err, storage.ErrDuplicateID):
		return l.id(), false, nil // another process wrote it meanwhile
	case err != nil:
		return "", false, errors.Wrap(err, "writing the layer")
	}
	if !v.verified {
		// Not reached while c/storage reads its input to the end, as it does for every format
		// (it drains the tar stream, and the decompressors read to the end of their input).
		r.deleteImportLayer(layer.ID)
		return "", false, errors.Wrapf(ErrImportSource, "the tarball was not read to its end while its layer was written (digest %s)", l.blob)
	}
	return layer.ID, true, nil
}

// errTarballChanged ends the input of a layer whose bytes are not the ones digested before.
var errTarballChanged = errors.New("the tarball changed while it was imported")

// verifyingReader passes r on and, at its end, returns errTarballChanged instead of io.EOF
// when what it read does not match the verifier. c/storage then fails the layer it is
// writing and deletes it before it releases the store's lock: no other process ever sees a
// layer under an ID its content does not match, and a kill during the write leaves an
// incomplete layer, which c/storage deletes when the store is next opened.
type verifyingReader struct {
	r        io.Reader
	verifier digest.Verifier
	// mismatch and verified say how the end went, once it was read.
	mismatch, verified bool
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	_, _ = v.verifier.Write(p[:n]) // a digest.Verifier's Write does not fail
	if errors.Is(err, io.EOF) {
		if !v.verifier.Verified() {
			v.mismatch = true
			return n, errTarballChanged
		}
		v.verified = true
	}
	return n, err
}

// deleteImportLayer deletes a layer putImportLayer created. c/storage refuses to delete it if an
// image, a container or another layer came to use it meanwhile (another import of the same
// tarball, in another process): then it stays.
func (r *Runtime) deleteImportLayer(id string) {
	if err := r.store.DeleteLayer(id); err != nil {
		logrus.Debugf("deleting layer %s of a failed import: %v", id, err)
	}
}
