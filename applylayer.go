package image

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/pkg/errors"
	graphdriver "go.podman.io/storage/drivers"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/unshare"
	"golang.org/x/sys/unix"
)

// ApplyLayersInProcess makes c/storage write the files of every layer it applies with the vfs
// driver (and any other driver that uses c/storage's generic applier, graphdriver
// ApplyUncompressedLayer; overlay has its own) in a thread of this process that is
// chrooted into the layer's directory, instead of in a copy of this program that c/storage
// starts for each layer and chroots the same way. The confinement is the same: the code that
// reads the tar entries and creates the files (c/storage's archive.UnpackLayer, unchanged)
// sees only the layer's directory as its root, and reads the layer's bytes from a pipe. What
// goes is a process start per layer and the program's start-up work in it (BENCHMARKS.md has
// what that saves on a pull).
//
// It is process-wide (it sets a variable of c/storage's), takes effect for layers applied
// after it returns, cannot be undone, and is safe to call more than once. Call it from main
// before opening stores; imagectl does. The process must be able to chroot, as c/storage's
// child must (root, or root of a user namespace).
//
// One difference remains: c/storage's child points TMPDIR into the layer's directory, which a
// thread cannot do for itself, and the only use of it is the temp directory for a layer's
// AUFS hard-link entries (.wh..wh.plnk/*, which docker never exports). Such a layer applies
// when TMPDIR (or, when it is unset, /tmp) exists inside the layer's tree, and fails with an
// error saying so otherwise.
func ApplyLayersInProcess() {
	installApplier.Do(func() { graphdriver.ApplyUncompressedLayer = applyLayerInProcess })
}

// installApplier makes ApplyLayersInProcess set c/storage's variable once.
var installApplier sync.Once

// applyBufferSize is the size of the pipe, and of the reads on both of its ends, between the
// goroutine that reads the layer (its decompression and digests included) and the chrooted
// one that writes its files: large enough for the two to overlap and for few wake-ups. (With
// Go's io.Pipe, where each write waits for the reader, a pull of big100 took 0.3 s longer
// than with c/storage's child; with this pipe, 0.18 s less.)
const applyBufferSize = 1 << 20

// applyLayerInProcess is graphdriver.ApplyUncompressedLayer without the child process: it
// copies layer into a pipe that a locked, chrooted thread unpacks into dest, and returns the
// size of the layer's contents as c/storage's applier does.
func applyLayerInProcess(dest string, layer io.Reader, options *archive.TarOptions) (int64, error) {
	if options == nil {
		options = &archive.TarOptions{InUserNS: unshare.IsRootless()}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, errors.Wrapf(err, "applying a layer to %q: creating a pipe", dest)
	}
	growPipe(pw)
	done := make(chan unpackResult, 1)
	go unpackFromPipe(dest, pr, options, done)
	src := &sourceReader{r: layer}
	// (the struct hides os.File's ReadFrom, which would copy in 32 KiB writes)
	_, copyErr := io.CopyBuffer(struct{ io.Writer }{pw}, src, make([]byte, applyBufferSize))
	closeErr := pw.Close()
	res := <-done
	switch {
	case src.err != nil:
		return 0, src.err // the layer's own error (a digest check failing, say) before what it caused
	case res.err != nil:
		return 0, res.err // the reason writing to the pipe, if it failed, was cut short
	case copyErr != nil:
		return 0, errors.Wrapf(copyErr, "applying a layer to %q: writing to the pipe", dest)
	case closeErr != nil:
		return 0, errors.Wrapf(closeErr, "applying a layer to %q: closing the pipe", dest)
	}
	return res.size, nil
}

// sourceReader is the layer's reader, remembering the error it returned (other than EOF).
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// growPipe asks for a pipe buffer of applyBufferSize; a smaller one only costs speed.
func growPipe(w *os.File) {
	rc, err := w.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, applyBufferSize)
	})
}

// unpackResult is what unpackFromPipe sends back.
type unpackResult struct {
	size int64
	err  error
}

// unpackFromPipe unpacks the tar stream read from r into dest on a thread of its own,
// chrooted into dest, and sends the outcome to done. The thread is locked and never
// unlocked: Go ends it with the goroutine, so no other code ever runs with its root, and
// the threads Go starts while it is locked are cloned from another thread. The main thread
// is the exception (Go never ends it: a goroutine that exits locked to it parks it for
// good), so on it the work moves to another goroutine, which cannot run there meanwhile.
func unpackFromPipe(dest string, r *os.File, options *archive.TarOptions, done chan<- unpackResult) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			unpackFromPipe(dest, r, options, done)
		}()
		<-finished
		runtime.UnlockOSThread()
		return
	}
	var res unpackResult
	defer func() {
		if p := recover(); p != nil {
			res = unpackResult{err: errors.Errorf("applying a layer to %q: %v", dest, p)}
		}
		_ = r.Close() // a writer still writing gets EPIPE and stops
		done <- res
	}()
	if err := enterRoot(dest); err != nil {
		res.err = err
		return
	}
	in := bufio.NewReaderSize(r, applyBufferSize)
	size, err := archive.UnpackLayer("/", in, options)
	if err != nil {
		res.err = explainUnpackError(dest, err)
		return
	}
	// As c/storage's child does: read to the end, so the digests the caller computes of the
	// stream cover the tar's padding too.
	if _, err := io.Copy(io.Discard, in); err != nil {
		res.err = errors.Wrapf(err, "applying a layer to %q: reading the end of the layer", dest)
		return
	}
	res.size = size
}

// enterRoot gives the calling (locked) thread a root, working directory and umask of its
// own (CLONE_FS), then makes dest its root and working directory and its umask 0, as
// c/storage's child does before unpacking.
func enterRoot(dest string) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return errors.Wrapf(err, "applying a layer to %q: unsharing the thread's root", dest)
	}
	if err := unix.Chroot(dest); err != nil {
		return errors.Wrapf(err, "applying a layer: chroot %q", dest)
	}
	if err := unix.Chdir("/"); err != nil {
		return errors.Wrapf(err, "applying a layer: changing to the new root %q", dest)
	}
	unix.Umask(0)
	return nil
}

// explainUnpackError adds what the error means when unpacking failed to make the temp
// directory for AUFS hard-link entries (see ApplyLayersInProcess).
func explainUnpackError(dest string, err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) && (pathErr.Op == "mkdir" || pathErr.Op == "stat") && isUnder(filepath.Clean(pathErr.Path), filepath.Clean(os.TempDir())) {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.Wrapf(err, "applying a layer to %q: its AUFS hard-link entries need a temp directory, and %s (TMPDIR, or /tmp) does not exist in the layer's tree, where the layer is applied",
				dest, os.TempDir())
		}
		return errors.Wrapf(err, "applying a layer to %q: its AUFS hard-link entries need a temp directory, and %s (TMPDIR, or /tmp) is not usable in the layer's tree, where the layer is applied",
			dest, os.TempDir())
	}
	return err
}

// isUnder reports whether path is dir or inside it (both clean).
func isUnder(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}
