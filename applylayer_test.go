package image

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/chrootarchive"
)

// needChroot skips t unless this process may chroot (c/storage's own applier needs it too).
func needChroot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("applying layers needs root (chroot)")
	}
}

// applyCase is a layer applied on top of parent, once by c/storage's child process and once
// in process.
type applyCase struct {
	name    string
	parent  []archEntry
	entries func(outside string) []archEntry
	// fails says both appliers must refuse the layer.
	fails bool
}

// TestApplyLayerInProcessMatchesChild applies every case with c/storage's applier (a child
// process chrooted into the layer) and with applyLayerInProcess onto the same parent: both
// succeed or both fail, with the same size and the same tree (names, modes, owners, link
// targets, contents, file times), and nothing outside the layer changes.
func TestApplyLayerInProcessMatchesChild(t *testing.T) {
	needChroot(t)
	for _, c := range applyCases(t) {
		t.Run(c.name, func(t *testing.T) {
			o := newOutside(t)
			child, inproc := t.TempDir(), t.TempDir()
			for _, dir := range []string{child, inproc} {
				if _, err := chrootarchive.ApplyUncompressedLayer(dir, bytes.NewReader(tarBytes(t, c.parent)), nil); err != nil {
					t.Fatalf("applying the parent: %v", err)
				}
			}
			raw := tarBytes(t, c.entries(o.dir))
			wantSize, wantErr := chrootarchive.ApplyUncompressedLayer(child, bytes.NewReader(raw), nil)
			size, err := applyLayerInProcess(inproc, bytes.NewReader(raw), nil)
			if (err != nil) != c.fails || (wantErr != nil) != c.fails {
				t.Fatalf("in process: %v; child: %v; want failure: %v", err, wantErr, c.fails)
			}
			if size != wantSize && !c.fails {
				t.Errorf("size %d, child's %d", size, wantSize)
			}
			if got, want := treeOf(t, inproc), treeOf(t, child); !reflect.DeepEqual(got, want) {
				t.Errorf("tree in process:\n%s\nchild's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			o.check(t)
		})
	}
}

func applyCases(t *testing.T) []applyCase {
	big := make([]byte, 3<<20+17) // several pipe buffers, not a multiple of any
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	owned := regEntry("etc/owned", []byte("uid 1000\n"))
	owned.hdr.Uid, owned.hdr.Gid = 1000, 1001
	setuid := regEntry("bin/tool", []byte("#!/bin/sh\n"))
	setuid.hdr.Mode = 0o4755
	private := regEntry("etc/private", []byte("secret\n"))
	private.hdr.Mode = 0o600
	fifo := archEntry{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}}
	dir := archEntry{hdr: tar.Header{Name: "opt/dir/", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: time.Unix(1700000000, 0)}}
	var many []archEntry
	for k := range 2000 {
		many = append(many, regEntry(fmt.Sprintf("many/%02d/f%04d", k%50, k), []byte(strings.Repeat("x", k%700))))
	}
	parent := []archEntry{regEntry("a/x", []byte("x")), regEntry("a/y", []byte("y")), regEntry("b/z", []byte("z")), regEntry("keep", []byte("k"))}
	fixed := func(e ...archEntry) func(string) []archEntry { return func(string) []archEntry { return e } }
	return []applyCase{
		{name: "files", entries: fixed(append([]archEntry{dir, regEntry("big", big), owned, setuid, private, fifo,
			regEntry("empty", nil), linkEntry(tar.TypeSymlink, "lib", "usr/lib"), linkEntry(tar.TypeLink, "big-again", "big")}, many...)...)},
		{name: "whiteouts", parent: parent, entries: fixed(regEntry("a/.wh.x", nil), regEntry("b/.wh..wh..opq", nil), regEntry("b/new", []byte("n")))},
		{name: "dotdot", parent: parent, entries: func(o string) []archEntry { return []archEntry{regEntry(dotdots+o+"/marker", hostileBytes)} }},
		{name: "absolute", parent: parent, entries: func(o string) []archEntry { return []archEntry{regEntry(o+"/marker", hostileBytes)} }},
		{name: "through-absolute-symlink", entries: func(o string) []archEntry {
			return []archEntry{linkEntry(tar.TypeSymlink, "escape", o), regEntry("escape/marker", hostileBytes)}
		}},
		{name: "through-relative-symlink", entries: func(o string) []archEntry {
			return []archEntry{linkEntry(tar.TypeSymlink, "up", strings.TrimSuffix(dotdots, "/")+o), regEntry("up/marker", hostileBytes)}
		}},
		{name: "hardlink-outside", fails: true, entries: func(o string) []archEntry { return []archEntry{linkEntry(tar.TypeLink, "hl", o+"/marker")} }},
		{name: "hardlink-through-root-symlink", fails: true, entries: func(o string) []archEntry {
			return []archEntry{linkEntry(tar.TypeSymlink, "root", "/"), linkEntry(tar.TypeLink, "hl", "root"+o+"/marker")}
		}},
		{name: "symlink-then-dir-over-it", entries: func(o string) []archEntry {
			return []archEntry{linkEntry(tar.TypeSymlink, "d", o), {hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}}, regEntry("d/marker", hostileBytes)}
		}},
	}
}

// treeOf lists every path under dir with its type and mode, owner, size, link target,
// content digest and (but for directories, which unpacking creates on the way) file time.
func treeOf(t *testing.T, dir string) []string {
	t.Helper()
	return describeTree(t, dir, func(p string, fi fs.FileInfo) (string, error) {
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d %d", strings.TrimPrefix(p, dir), fi.Mode(), st.Uid, st.Gid, fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			return line + " -> " + target + " " + fi.ModTime().UTC().String(), err
		case fi.Mode().IsRegular():
			raw, err := os.ReadFile(p)
			return line + fmt.Sprintf(" %s %d links %s", digest.FromBytes(raw).Encoded()[:12], st.Nlink, fi.ModTime().UTC()), err
		}
		return line, nil
	})
}

// TestApplyLayerInProcessLeavesNoChrootedThread: after applies that succeed, fail and panic
// nowhere, every thread of the process has the host's root again (the chrooted ones ended),
// and the process's working directory and umask are what they were.
func TestApplyLayerInProcessLeavesNoChrootedThread(t *testing.T) {
	needChroot(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	umask := syscall.Umask(0o022)
	syscall.Umask(umask)
	good := tarBytes(t, []archEntry{regEntry("f", []byte("data"))})
	bad := tarBytes(t, []archEntry{linkEntry(tar.TypeLink, "hl", "/nonexistent")})
	var wg sync.WaitGroup
	for k := range 32 {
		wg.Go(func() {
			raw := good
			if k%2 == 1 {
				raw = bad
			}
			_, _ = applyLayerInProcess(t.TempDir(), bytes.NewReader(raw), nil)
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		chrooted := chrootedThreads(t)
		if len(chrooted) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads still chrooted: %v", chrooted)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := os.Getwd(); err != nil || got != wd {
		t.Errorf("working directory %q (%v), was %q", got, err, wd)
	}
	if got := syscall.Umask(umask); got != umask {
		t.Errorf("umask %#o, was %#o", got, umask)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "host"), []byte("x"), 0o644); err != nil {
		t.Errorf("writing by a host path after the applies: %v", err)
	}
}

// chrootedThreads lists the threads of this process whose root is not the host's.
func chrootedThreads(t *testing.T) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		root, err := os.Readlink("/proc/self/task/" + task.Name() + "/root")
		if err == nil && root != "/" {
			out = append(out, task.Name()+": "+root)
		}
	}
	return out
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestApplyLayerInProcessErrors: the reader's own error comes back (the digest checks that
// fail at the end of the input rely on it), whether or not the tar looked complete; a cut
// tar and bytes that are no tar are refused, as c/storage's child refuses them.
func TestApplyLayerInProcessErrors(t *testing.T) {
	needChroot(t)
	raw := tarBytes(t, []archEntry{regEntry("f", bytes.Repeat([]byte("d"), 3<<20))})
	errDigest := errors.New("digest mismatch")
	for _, c := range []struct {
		name  string
		input func() io.Reader
		is    error
	}{
		{"reader-fails-at-end", func() io.Reader { return &failingReader{data: raw, err: errDigest} }, errDigest},
		{"reader-fails-midway", func() io.Reader { return &failingReader{data: raw[:1<<20], err: errDigest} }, errDigest},
		{"cut-tar", func() io.Reader { return bytes.NewReader(raw[:2<<20]) }, nil},
		{"not-a-tar", func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte("not a tar "), 1000)) }, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := applyLayerInProcess(t.TempDir(), c.input(), nil)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("error %v, want %v", err, c.is)
			}
			if c.is == nil {
				if _, childErr := chrootarchive.ApplyUncompressedLayer(t.TempDir(), c.input(), nil); childErr == nil {
					t.Errorf("c/storage's child took what applyLayerInProcess refused (%v)", err)
				}
			}
		})
	}
}

// TestApplyLayerInProcessAUFSLinks: a layer with AUFS hard-link entries applies as the child
// applies it when TMPDIR is inside the layer's tree, and otherwise fails with an error saying
// why (ApplyLayersInProcess documents it).
func TestApplyLayerInProcessAUFSLinks(t *testing.T) {
	needChroot(t)
	layer := tarBytes(t, []archEntry{
		{hdr: tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}},
		regEntry(archive.WhiteoutLinkDir+"/plnk1", []byte("linked\n")),
		linkEntry(tar.TypeLink, "usr/linked", archive.WhiteoutLinkDir+"/plnk1"),
	})
	t.Run("tmpdir-in-layer", func(t *testing.T) {
		t.Setenv("TMPDIR", "/tmp")
		child, inproc := t.TempDir(), t.TempDir()
		if _, err := chrootarchive.ApplyUncompressedLayer(child, bytes.NewReader(layer), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := applyLayerInProcess(inproc, bytes.NewReader(layer), nil); err != nil {
			t.Fatal(err)
		}
		if got, want := treeOf(t, inproc), treeOf(t, child); !reflect.DeepEqual(got, want) {
			t.Errorf("tree in process:\n%s\nchild's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("tmpdir-elsewhere", func(t *testing.T) {
		t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "not-in-the-layer"))
		_, err := applyLayerInProcess(t.TempDir(), bytes.NewReader(layer), nil)
		if err == nil || !strings.Contains(err.Error(), "AUFS hard-link entries need a temp directory") {
			t.Fatalf("error %v, want one about the AUFS temp directory", err)
		}
	})
}
