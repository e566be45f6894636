package image

import (
	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
)

// Tag adds name (normalized by NormalizeName) to the image, atomically: c/storage adds it in
// one locked write, never a read-modify-write of the name list. A name is unique in the
// store, so if another image held it, that image loses it; Tag then returns that image's ID
// and writes an untag event for it after the tag event. The report is best effort: the
// previous owner is looked up just before the write, so a writer in another process can slip
// in between and the name it held is then moved without being reported.
// Digested names are refused (ErrInvalidName), as are read-only images (ErrReadOnly).
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
	full := named.String()
	store := i.runtime.store
	prev := ""
	if s, err := store.Image(full); err == nil && s.ID != i.ID() && hasName(s, full) {
		prev = s.ID
	}
	if err := store.AddNames(i.ID(), []string{full}); err != nil {
		return "", errors.Wrapf(err, "tagging image %s as %q", i.ID(), full)
	}
	if err := i.Reload(); err != nil {
		return "", err
	}
	i.runtime.emit(EventTag, i.ID(), full, nil)
	if prev != "" {
		i.runtime.emit(EventUntag, prev, full, nil)
	}
	return prev, nil
}

// Untag removes name (normalized by NormalizeName; a digested name removes only itself) from
// the image. A name the image does not have is an error wrapping ErrTagUnknown (c/storage
// would ignore it silently, so the store is read first); a read-only image is ErrReadOnly.
func (i *Image) Untag(name string) error {
	named, err := NormalizeName(name)
	if err != nil {
		return errors.Wrapf(err, "untagging image %s", i.ID())
	}
	if i.IsReadOnly() {
		return errors.Wrapf(ErrReadOnly, "untagging %q from image %s", name, i.ID())
	}
	full := named.String()
	if err := i.Reload(); err != nil {
		return err
	}
	if !hasName(i.snapshot(), full) {
		return errors.Wrapf(ErrTagUnknown, "untagging %q from image %s", full, i.ID())
	}
	if err := i.runtime.store.RemoveNames(i.ID(), []string{full}); err != nil {
		return errors.Wrapf(err, "untagging %q from image %s", full, i.ID())
	}
	if err := i.Reload(); err != nil {
		return err
	}
	i.runtime.emit(EventUntag, i.ID(), full, nil)
	return nil
}
