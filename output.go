package image

import (
	stderrors "errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pkg/errors"
)

// output is the destination of a save and the temp file or dir beside it that is written
// first.
type output struct {
	dest, tmp string
	isDir     bool
	committed bool
	lock      *os.File // holds the flock that marks tmp as ours while we write it
}

// newOutput checks that dest can be replaced and creates the empty temp file or dir beside it.
func newOutput(dest string, isDir bool) (*output, error) {
	dest = filepath.Clean(dest)
	if err := checkDestination(dest); err != nil {
		return nil, err
	}
	parent, base := filepath.Dir(dest), filepath.Base(dest)
	fi, err := os.Stat(parent)
	if err == nil && !fi.IsDir() {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return nil, errors.Wrapf(err, "destination directory %q", parent)
	}
	o := &output{dest: dest, isDir: isDir}
	reapStale(parent, "."+base+".tmp-") // left by saves to dest whose process died
	pattern := "." + base + ".tmp-*"
	if isDir {
		dir, err := os.MkdirTemp(parent, pattern)
		if err != nil {
			return nil, errors.Wrap(err, "creating temp dir")
		}
		o.tmp = dir
		return o.ready(stderrors.Join(os.Chmod(dir, 0o755), o.takeLock()))
	}
	f, err := os.CreateTemp(parent, pattern)
	if err != nil {
		return nil, errors.Wrap(err, "creating temp file")
	}
	o.tmp = f.Name()
	return o.ready(stderrors.Join(f.Chmod(0o644), f.Close(), o.takeLock()))
}

// takeLock locks o.tmp so that no reaper removes it while this process lives.
func (o *output) takeLock() error {
	f, ok, err := lockOwned(o.tmp)
	if err == nil && !ok {
		err = errors.Errorf("%q is locked by another process", o.tmp)
	}
	o.lock = f
	return err
}

// unlock drops the lock on o.tmp.
func (o *output) unlock() {
	if o.lock != nil {
		_ = o.lock.Close()
		o.lock = nil
	}
}

// ready returns o, or removes the temp output and returns err when err is not nil.
func (o *output) ready(err error) (*output, error) {
	if err != nil {
		return nil, stderrors.Join(errors.Wrapf(err, "preparing temp output %q", o.tmp), o.cleanup())
	}
	return o, nil
}

// checkDestination refuses a destination Save must not replace: a non-empty directory, or
// a device, pipe or socket, directly or through a symbolic link.
func checkDestination(dest string) error {
	fi, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return errors.Wrapf(err, "checking destination %q", dest)
	case fi.IsDir():
		entries, err := os.ReadDir(dest)
		if err != nil {
			return errors.Wrapf(err, "checking destination %q", dest)
		}
		if len(entries) > 0 {
			return errors.Wrapf(ErrDestinationExists, "%q is a directory that is not empty", dest)
		}
	case fi.Mode()&os.ModeSymlink != 0:
		if target, err := os.Stat(dest); err == nil && isSpecial(target.Mode()) {
			return errors.Wrapf(ErrDestinationExists, "%q is a link to a device, pipe or socket", dest)
		}
	case isSpecial(fi.Mode()):
		return errors.Wrapf(ErrDestinationExists, "%q is a device, pipe or socket", dest)
	}
	return nil
}

func isSpecial(mode fs.FileMode) bool {
	return mode&(os.ModeDevice|os.ModeCharDevice|os.ModeNamedPipe|os.ModeSocket) != 0
}

// commit moves the temp output to the destination. A file replaces a file or a link
// atomically; a directory replaces an empty directory atomically; otherwise what is at the
// destination (an empty directory, or a file or link where a directory goes) is removed
// first. A destination that became a non-empty directory meanwhile is ErrDestinationExists.
func (o *output) commit() error {
	if err := checkDestination(o.dest); err != nil {
		return err
	}
	if fi, err := os.Lstat(o.dest); err == nil && fi.IsDir() != o.isDir {
		if err := os.Remove(o.dest); err != nil {
			return destinationError(o.dest, err)
		}
	}
	// os.Rename refuses any directory at the destination; rename(2) replaces an empty one.
	if err := syscall.Rename(o.tmp, o.dest); err != nil {
		return destinationError(o.dest, &os.LinkError{Op: "rename", Old: o.tmp, New: o.dest, Err: err})
	}
	o.committed = true
	o.unlock()
	return nil
}

// destinationError turns "directory not empty" into ErrDestinationExists.
func destinationError(dest string, err error) error {
	if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
		return errors.Wrapf(ErrDestinationExists, "%q is a directory that is not empty", dest)
	}
	return errors.Wrapf(err, "moving the output to %q", dest)
}

// cleanup removes the temp output unless it was committed.
func (o *output) cleanup() error {
	if o.committed {
		return nil
	}
	defer o.unlock()
	if err := os.RemoveAll(o.tmp); err != nil {
		return errors.Wrapf(err, "removing temp output %q", o.tmp)
	}
	return nil
}
