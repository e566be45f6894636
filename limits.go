package image

import (
	"context"
	"io"
	"os"

	"github.com/pkg/errors"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
)

// ErrLayerTooLarge: a layer of a local input (Load, Import) decompresses to more than the
// caller's MaxLayerUncompressedBytes. The error names the layer; nothing was written.
var ErrLayerTooLarge = errors.New("layer larger than the uncompressed size limit")

// ErrTooManyLayers: an image of a local input has more than MaxImageLayers layers (a
// layer-count bomb: the same small blob listed thousands of times costs the driver a full
// layer each). Nothing was written.
var ErrTooManyLayers = errors.New("too many layers")

// MaxImageLayers is the most layers Load accepts in one image. Overlay, the usual driver,
// cannot mount more than about 500 layers; real images have tens.
const MaxImageLayers = 500

// checkLayerLimits reads ref's manifest and refuses an image with more than MaxImageLayers
// layers; with maxBytes > 0 it also decompresses every layer once, without writing it, and
// refuses one that is larger than maxBytes, naming it. That pass reads each layer once more:
// its cost is measured by BenchmarkLoadLayerLimit.
func checkLayerLimits(ctx context.Context, sys *types.SystemContext, ref types.ImageReference, maxBytes int64) (retErr error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return err
	}
	defer func() {
		if err := src.Close(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return err
	}
	layers := img.LayerInfos()
	if len(layers) > MaxImageLayers {
		return errors.Wrapf(ErrTooManyLayers, "%d layers, more than %d", len(layers), MaxImageLayers)
	}
	if maxBytes <= 0 {
		return nil
	}
	for _, info := range layers {
		rc, _, err := src.GetBlob(ctx, info, none.NoCache)
		if err != nil {
			return errors.Wrapf(err, "reading layer %s", info.Digest)
		}
		err = checkUncompressed(rc, maxBytes)
		_ = rc.Close()
		if err != nil {
			return errors.Wrapf(err, "layer %s", info.Digest)
		}
	}
	return nil
}

// checkFileUncompressed refuses a (possibly compressed) file larger than maxBytes once
// decompressed; maxBytes <= 0 means no limit.
func checkFileUncompressed(path string, maxBytes int64) error {
	if maxBytes <= 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return checkUncompressed(f, maxBytes)
}

// checkUncompressed decompresses r (any compression c/image knows, or none) up to one byte
// past maxBytes, in a fixed-size buffer, and fails with ErrLayerTooLarge past it.
func checkUncompressed(r io.Reader, maxBytes int64) error {
	dr, _, err := compression.AutoDecompress(r)
	if err != nil {
		return err
	}
	defer dr.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(dr, maxBytes+1))
	if err != nil {
		return err
	}
	if n > maxBytes {
		return errors.Wrapf(ErrLayerTooLarge, "more than %d bytes uncompressed", maxBytes)
	}
	return nil
}
