// Package storeclone copies a vfs containers-storage store cheaply, for benchmarks that destroy
// a store (remove, prune) and must start each run from the same one. It is used by
// bench/nstore -clone (bench/compare.sh) and by the scale benchmarks (bench_scale_test.go).
package storeclone

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
)

// Clone copies the store src/root + src/run (graph root and run root, vfs driver) to
// dst/root + dst/run. The files c/storage only ever creates, replaces (write to a temp file,
// then rename) or deletes are hard-linked; lock files (written in place) and everything outside
// the vfs driver's directories are copied, except podman's database (root/libpod), which names
// the store's own paths, so podman would refuse a copy of it. The copy can then be changed
// without touching src. dst must not exist yet (or be empty); src and dst must be on one file
// system.
func Clone(src, dst string) error {
	for _, sub := range []string{"root", "run"} {
		base := filepath.Join(src, sub)
		err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(base, path)
			if err != nil {
				return err
			}
			return cloneEntry(path, filepath.Join(dst, sub, rel), sub == "root", rel, d)
		})
		if err != nil {
			return errors.Wrapf(err, "copying store %q to %q", src, dst)
		}
	}
	return nil
}

// cloneEntry copies one entry at path (rel inside the graph root when inGraph) to "to".
func cloneEntry(path, to string, inGraph bool, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case d.IsDir() && inGraph && rel == "libpod":
		return fs.SkipDir
	case d.IsDir():
		if err := os.MkdirAll(to, 0o700); err != nil {
			return err
		}
		return os.Chmod(to, info.Mode().Perm()|info.Mode()&(fs.ModeSticky|fs.ModeSetgid|fs.ModeSetuid))
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		return os.Symlink(target, to)
	case inGraph && linkable(rel):
		return os.Link(path, to)
	case d.Type().IsRegular():
		return copyFile(path, to, info.Mode())
	default:
		return nil // sockets, fifos: nothing c/storage needs
	}
}

// linkable reports whether a file of the graph root (path relative to it) may be shared by a
// hard link: a file of the vfs driver's directories other than a lock.
func linkable(rel string) bool {
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	switch top {
	case "vfs", "vfs-images", "vfs-layers":
		return !strings.HasSuffix(rel, ".lock")
	}
	return false
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
