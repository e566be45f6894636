package image

import (
	"crypto/rand"
	"encoding/hex"
	stderrors "errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/storage"
	"golang.org/x/sys/unix"
)

// Temp files and crashes. Every temp file or dir of ours is owned through a flock(2) lock
// held by the process that made it, for as long as it uses it; the kernel drops the lock when
// that process dies, however it dies (SIGKILL included). A stale-temp reaper removes what
// nobody holds a lock on any more: when a Runtime is made (its temp base dir) and when Save
// prepares a destination (the temp outputs of earlier saves to the same destination). A temp
// file of a live process is never touched, in this process or another.

const (
	// runtimeTempPrefix starts the name of each Runtime's own temp dir in the temp base dir.
	runtimeTempPrefix = "image-rt-"
	// newTempPrefix starts the name such a dir has until it is locked, followed by the
	// creator's PID: a crash between creating and locking it leaves one, reaped once that
	// process is gone (or, in case the PID was reused, once it is older than newTempMaxAge).
	newTempPrefix = ".image-rt-new-"
	newTempMaxAge = time.Minute
)

// runtimeTempName returns the name of a new Runtime's temp dir: the process ID and a random
// part.
func runtimeTempName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return runtimeTempPrefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// lockOwned opens path (a file or dir) and takes an exclusive flock on it without waiting.
// ok is false when another open file holds the lock (its owner is alive).
func lockOwned(path string) (f *os.File, ok bool, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, errors.Wrapf(err, "locking %q", path)
	}
	return f, true, nil
}

// reapStale removes the entries of dir whose names start with prefix and whose owner is
// gone (nobody holds their lock), and returns what it removed. Entries it cannot lock or
// remove are left alone: the reaper never fails the operation that runs it.
func reapStale(dir, prefix string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasPrefix(name, prefix):
			f, ok, err := lockOwned(path)
			if err != nil || !ok {
				continue
			}
			if os.RemoveAll(path) == nil {
				removed = append(removed, name)
			}
			_ = f.Close()
		case prefix == runtimeTempPrefix && strings.HasPrefix(name, newTempPrefix):
			if newTempStale(e) && os.RemoveAll(path) == nil {
				removed = append(removed, name)
			}
		}
	}
	return removed
}

// newTempStale says whether a not yet locked temp dir was left by a process that died.
func newTempStale(e fs.DirEntry) bool {
	pid, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), newTempPrefix), "-")
	if n, err := strconv.Atoi(pid); err == nil && n > 0 && errors.Is(unix.Kill(n, 0), unix.ESRCH) {
		return true
	}
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) > newTempMaxAge
}

// removeInterrupted deletes the images whose creation a killed process interrupted, after
// the reaper found that a process of ours died: c/storage records a new image, then writes
// its config and manifest, so a kill in between leaves a record without its config or its
// manifest (the big-data items "sha256:<ID>" and "manifest" every image copied through
// c/image has, written in that order). Their layers go too
// unless something else uses them. It runs only after a crash of ours, because podman 4.3
// (c/image 5.23) writes the config in a later lock session than the record: a live podman
// can show such a record for a few milliseconds. A manifest list (podman manifest create),
// which has a manifest and no config, is no interrupted image and stays.
func removeInterrupted(store storage.Store) {
	images, err := store.Images()
	if err != nil {
		return
	}
	for _, img := range images {
		if img.ReadOnly || (slices.Contains(img.BigDataNames, "sha256:"+img.ID) &&
			slices.Contains(img.BigDataNames, storage.ImageDigestBigDataKey)) || isManifestList(store, &img) {
			continue
		}
		if _, err := store.DeleteImage(img.ID, true); err != nil {
			logrus.Debugf("removing image %s, whose creation was interrupted: %v", img.ID, err)
		}
	}
}

// tmpDir returns the Runtime's own temp dir (SystemContext().BigFilesTemporaryDir), made
// and locked on first use (and again if something removed it).
func (r *Runtime) tmpDir() (string, error) {
	dir := r.sys.BigFilesTemporaryDir
	r.tmp.Lock()
	defer r.tmp.Unlock()
	if r.tmp.lock != nil {
		if _, err := os.Stat(dir); err == nil {
			return dir, nil
		}
		_ = r.tmp.lock.Close()
		r.tmp.lock = nil
	}
	// Made by the caller already (e.g. with os.MkdirAll): lock it where it is.
	if f, ok, err := lockOwned(dir); err == nil && ok {
		r.tmp.lock = f
		return dir, nil
	}
	base := filepath.Dir(dir)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", errors.Wrapf(err, "creating temp dir %q", base)
	}
	// Made under another name, locked, then renamed: a reaper never sees it unlocked.
	tmp, err := os.MkdirTemp(base, newTempPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", errors.Wrapf(err, "creating temp dir in %q", base)
	}
	f, ok, err := lockOwned(tmp)
	if err == nil && !ok {
		err = errors.Errorf("%q is locked by another process", tmp)
	}
	if err == nil {
		if err = os.Rename(tmp, dir); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		return "", stderrors.Join(errors.Wrapf(err, "creating temp dir %q", dir), os.RemoveAll(tmp))
	}
	r.tmp.lock = f
	return dir, nil
}

// releaseTmpDir removes the Runtime's temp dir and drops its lock (Shutdown).
func (r *Runtime) releaseTmpDir() error {
	r.tmp.Lock()
	defer r.tmp.Unlock()
	if r.tmp.lock == nil {
		return nil
	}
	err := os.RemoveAll(r.sys.BigFilesTemporaryDir)
	_ = r.tmp.lock.Close()
	r.tmp.lock = nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Wrapf(err, "removing temp dir %q", r.sys.BigFilesTemporaryDir)
	}
	return nil
}
