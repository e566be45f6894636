package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

func init() {
	// tmpdir-owner makes its Runtime's temp dir, puts a file in it and waits to be killed.
	childRoles["tmpdir-owner"] = func(args []string) error {
		rt, err := childRuntime(args)
		if err != nil {
			return err
		}
		dir, err := rt.tmpDir()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "blob"), []byte("partial"), 0o600); err != nil {
			return err
		}
		ready()
		waitForKill()
		return nil
	}
}

// TestStaleTempReaped: the temp dir of a process killed with SIGKILL is removed by the next
// Runtime made on the store; the temp dirs of live Runtimes, in this process or another,
// are not.
func TestStaleTempReaped(t *testing.T) {
	rt, _ := newTestRuntime(t)
	base := filepath.Dir(rt.sys.BigFilesTemporaryDir)
	mine, err := rt.tmpDir()
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := startChild(t, "tmpdir-owner", storeArgs(rt)...)
	alive, _ := startChild(t, "tmpdir-owner", storeArgs(rt)...)
	if entries, _ := os.ReadDir(base); len(entries) != 3 {
		t.Fatalf("%d temp dirs, want 3 (ours and two children's)", len(entries))
	}
	killChild(t, dead)
	// Dirs not yet locked (a crash between making and locking one): the dead process's goes,
	// a live one's stays.
	deadNew := filepath.Join(base, fmt.Sprintf("%s%d-1", newTempPrefix, dead.Process.Pid))
	liveNew := filepath.Join(base, fmt.Sprintf("%s%d-2", newTempPrefix, os.Getpid()))
	for _, d := range []string{deadNew, liveNew} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: &types.SystemContext{BigFilesTemporaryDir: base}}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 3 || !contains(left, filepath.Base(mine)) || !contains(left, filepath.Base(liveNew)) {
		t.Errorf("after the reaper: %v, want ours, the live child's and the live unlocked one", left)
	}
	if err := os.Remove(liveNew); err != nil {
		t.Fatal(err)
	}
	// The live child's dir goes once it is killed too, and Shutdown removes ours.
	killChild(t, alive)
	if err := rt.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRuntime(rt.Store(), nil); err != nil {
		t.Fatal(err)
	}
	assertEmptyDir(t, base)
}

// TestStaleSaveOutputReaped: a save's temp output left by a killed process is removed by the
// next save to the same destination; one a live process is writing is not.
func TestStaleSaveOutputReaped(t *testing.T) {
	rt, _ := loadedRuntime(t, "busybox.docker.tar")
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.tar")
	stale := filepath.Join(dir, ".out.tar.tmp-111")
	live := filepath.Join(dir, ".out.tar.tmp-222")
	other := filepath.Join(dir, ".other.tar.tmp-333")
	for _, p := range []string{stale, live, other} {
		writeFile(t, p, "partial")
	}
	f, ok, err := lockOwned(live) // as a live process writing it would
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	defer f.Close()
	if err := rt.Save(context.Background(), []string{"busybox"}, dest, nil); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, live: true, other: true, dest: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestInterruptedImageRemoved: an image record without its config (a process killed between
// c/storage recording the image and writing its config) is removed by the next Runtime once
// the reaper finds that a process of ours died; complete images stay. Without a dead process
// of ours, such a record is left alone (podman 4.3 writes the config in a second step).
func TestInterruptedImageRemoved(t *testing.T) {
	rt, _ := loadedRuntime(t, "busybox.docker.tar")
	id := strings.Repeat("ab", 32)
	if _, err := rt.store.CreateImage(id, []string{"localhost/interrupted:1"}, "", "", nil); err != nil {
		t.Fatal(err)
	}
	// and one killed after its config, before its manifest
	id2 := strings.Repeat("cd", 32)
	if _, err := rt.store.CreateImage(id2, nil, "", "", &storage.ImageOptions{
		BigData: []storage.ImageBigDataOption{{Key: "sha256:" + id2, Data: []byte("{}")}},
	}); err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(rt.sys.BigFilesTemporaryDir)
	if _, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: &types.SystemContext{BigFilesTemporaryDir: base}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.store.Image(id); err != nil {
		t.Fatalf("with no dead process, the record went: %v", err)
	}
	child, _ := startChild(t, "tmpdir-owner", storeArgs(rt)...)
	killChild(t, child)
	if _, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: &types.SystemContext{BigFilesTemporaryDir: base}}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []string{id, id2} {
		if _, err := rt.store.Image(i); !errors.Is(err, ErrImageUnknown) {
			t.Errorf("the interrupted record %s: %v, want it removed", i, err)
		}
	}
	if _, err := rt.store.Image(readFacts(t, "busybox").ID); err != nil {
		t.Errorf("busybox: %v", err)
	}
}
