package image

import (
	"github.com/pkg/errors"
	"go.podman.io/storage"
)

// Sentinel errors. Every error the package returns names the input it concerns and wraps one
// of these (or an error of the libraries below), so callers test with errors.Is.
var (
	// ErrImageUnknown: no image matches the name or ID. It is c/storage's own sentinel, so
	// errors from the store and from this package compare equal.
	ErrImageUnknown = storage.ErrImageUnknown
	// ErrAmbiguous: a short ID prefix or a short name matches more than one image.
	ErrAmbiguous = errors.New("ambiguous image reference")
	// ErrInvalidName: a name or ID does not follow the reference grammar or the rules of
	// NormalizeName.
	ErrInvalidName = errors.New("invalid image name")
	// ErrTagUnknown: Untag was asked to remove a name the image does not have.
	ErrTagUnknown = errors.New("tag not known")
	// ErrUnsupportedTransport: a lookup was given a transport other than containers-storage.
	ErrUnsupportedTransport = errors.New("unsupported transport for a local image")
	// ErrUnsupportedFormat: Load could not read its input as any of the supported formats.
	ErrUnsupportedFormat = errors.New("not a supported image archive or layout")
	// ErrNoPolicy: an operation that copies images found no signature policy.
	ErrNoPolicy = errors.New("no signature policy")
)

// ErrReadOnly: the image lives in a read-only additional image store and cannot be changed.
var ErrReadOnly = errors.New("image is read-only")

// ErrManifestList: the image is a manifest list (Image.IsManifestList), which has no config,
// history or layers to read.
var ErrManifestList = errors.New("image is a manifest list")

// ErrNotTarball: Import's source is not a tar archive (plain or compressed): an empty file, a
// directory, or other content. errors.Is also matches it with ErrUnsupportedFormat, which
// Import returned for these before.
var ErrNotTarball error = notTarball{}

type notTarball struct{}

func (notTarball) Error() string { return "not a tar archive" }

func (notTarball) Is(target error) bool { return target == ErrUnsupportedFormat }
