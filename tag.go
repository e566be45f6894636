package image

import (
	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/storage"
)

// Tag adds name (normalized by NormalizeName) to the image, atomically: c/storage adds it in
// one locked write, never a read-modify-write of the name list. A name is unique in the
// store, so if another image held it, that image loses it; Tag then returns that image's ID
// and writes an untag event for it after the tag event. The report is best effort: the
// previous owner is looked up just before the write, so a writer in another process can slip
// in between and the name it held is then moved without being reported.
// Tagging an image with a name it already has changes nothing, returns "" and still writes
// a tag event. Errors quote name: digested and invalid names are refused (ErrInvalidName),
// as are read-only images (ErrReadOnly); an image removed meanwhile is ErrImageUnknown.
func (i *Image) Tag(name string) (string, error) {
	named, err := NormalizeName(name)
	if err != nil {
		return "", errors.Wrapf(err, "tagging image %s", i.ID())
	}
	if _, ok := named.(reference.Digested); ok {
		return "", errors.Wrapf(ErrInvalidName, "tagging image %s as %q: a tag cannot contain a digest", i.ID(), name)
	}
	if i.IsReadOnly() {
		return "", errors.Wrapf(ErrReadOnly, "tagging image %s as %q", i.ID(), name)
	}
	return i.tag(name, named.String())
}

// tag adds the normalized name full (given by the caller as name) and reports the image that
// lost it.
func (i *Image) tag(name, full string) (string, error) {
	store := i.runtime.store
	prev := ""
	if s, err := store.Image(full); err == nil && s.ID != i.ID() && hasName(s, full) {
		prev = s.ID
	}
	if err := store.AddNames(i.ID(), []string{full}); err != nil {
		return "", errors.Wrapf(namesError(err), "tagging image %s as %q", i.ID(), name)
	}
	i.runtime.emit(EventTag, i.ID(), full, nil)
	if prev != "" {
		i.runtime.emit(EventUntag, prev, full, nil)
	}
	if err := i.Reload(); err != nil {
		return prev, errors.Wrapf(err, "tagging image %s as %q", i.ID(), name)
	}
	return prev, nil
}

// Untag removes name (normalized by NormalizeName; a digested name removes only itself) from
// the image and writes an untag event. Errors quote name: a name the image does not have is
// ErrTagUnknown (c/storage would ignore it silently, so the store is read first), an invalid
// name ErrInvalidName, a read-only image ErrReadOnly, an image removed meanwhile
// ErrImageUnknown.
func (i *Image) Untag(name string) error {
	named, err := NormalizeName(name)
	if err != nil {
		return errors.Wrapf(err, "untagging image %s", i.ID())
	}
	if i.IsReadOnly() {
		return errors.Wrapf(ErrReadOnly, "untagging %q from image %s", name, i.ID())
	}
	return i.untag(name, named.String())
}

// untag removes the normalized name full (given by the caller as name).
func (i *Image) untag(name, full string) error {
	if err := i.Reload(); err != nil {
		return errors.Wrapf(err, "untagging %q from image %s", name, i.ID())
	}
	if !hasName(i.snapshot(), full) {
		return errors.Wrapf(ErrTagUnknown, "untagging %q from image %s: it has no name %q", name, i.ID(), full)
	}
	if err := i.runtime.store.RemoveNames(i.ID(), []string{full}); err != nil {
		return errors.Wrapf(namesError(err), "untagging %q from image %s", name, i.ID())
	}
	i.runtime.emit(EventUntag, i.ID(), full, nil)
	if err := i.Reload(); err != nil {
		return errors.Wrapf(err, "untagging %q from image %s", name, i.ID())
	}
	return nil
}

// namesError turns the error of c/storage's AddNames or RemoveNames into ours: for an ID it
// finds nowhere c/storage answers ErrLayerUnknown, which for an image means ErrImageUnknown.
func namesError(err error) error {
	if errors.Is(err, storage.ErrLayerUnknown) {
		return ErrImageUnknown
	}
	return err
}
