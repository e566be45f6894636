package storeclone

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestClone(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	files := map[string]string{
		"root/vfs-images/images.json":        "[]",
		"root/vfs-images/images.lock":        "",
		"root/vfs-layers/layers.json":        "[]",
		"root/vfs/dir/abc/etc/os-release":    "ID=x",
		"root/storage.lock":                  "",
		"root/libpod/bolt_state.db":          "db",
		"run/vfs-layers/mountpoints.json":    "[]",
		"run/vfs-containers/containers.lock": "",
	}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("abc", filepath.Join(src, "root/vfs/dir/link")); err != nil {
		t.Fatal(err)
	}
	if err := Clone(src, dst); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		linked bool // same inode as the source
		absent bool
	}{
		{name: "root/vfs-images/images.json", linked: true},
		{name: "root/vfs-images/images.lock"},
		{name: "root/vfs-layers/layers.json", linked: true},
		{name: "root/vfs/dir/abc/etc/os-release", linked: true},
		{name: "root/storage.lock"},
		{name: "root/libpod/bolt_state.db", absent: true},
		{name: "run/vfs-layers/mountpoints.json"},
		{name: "run/vfs-containers/containers.lock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := os.Stat(filepath.Join(dst, tc.name))
			if tc.absent {
				if !os.IsNotExist(err) {
					t.Fatalf("copied, want left out (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.Stat(filepath.Join(src, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			sameInode := got.Sys().(*syscall.Stat_t).Ino == want.Sys().(*syscall.Stat_t).Ino
			if sameInode != tc.linked {
				t.Errorf("hard-linked: %v, want %v", sameInode, tc.linked)
			}
			if data, _ := os.ReadFile(filepath.Join(dst, tc.name)); string(data) != files[tc.name] {
				t.Errorf("content %q, want %q", data, files[tc.name])
			}
		})
	}
	if target, err := os.Readlink(filepath.Join(dst, "root/vfs/dir/link")); err != nil || target != "abc" {
		t.Errorf("symlink: %q, %v", target, err)
	}
}

func TestCloneMissingSource(t *testing.T) {
	if err := Clone(filepath.Join(t.TempDir(), "none"), filepath.Join(t.TempDir(), "copy")); err == nil {
		t.Error("clone of a missing store succeeded")
	}
}
