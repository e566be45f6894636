package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chainLoaded is what `load` prints for chain.multi's images saved under their five names.
const chainLoaded = "Loaded image: localhost/busybox:latest\n" +
	"Loaded image: localhost/chain-base:latest\n" +
	"Loaded image: localhost/chain-mid:latest\n" +
	"Loaded image: localhost/chain-top:latest\n" +
	"Loaded image: localhost/chain-top:v1\n"

// TestSaveFormats saves in every format, then loads the output into a fresh store: the
// images come back with their names (docker-dir holds one image and no name).
func TestSaveFormats(t *testing.T) {
	e := newLoadedEnv(t)
	e.mustRun(t, "load", "-i", testdataPath("tiny.docker.tar"))
	chain := []string{"busybox", "chain-base", "chain-mid", "chain-top", "chain-top:v1"}
	tests := []struct {
		args  []string
		names []string
		want  string
	}{
		{nil, chain, chainLoaded},
		{[]string{"-m"}, chain, chainLoaded},
		{[]string{"--format", "docker-archive"}, chain, chainLoaded},
		{[]string{"--format", "oci-archive"}, chain, chainLoaded},
		{[]string{"--format", "oci-archive", "--uncompressed"}, chain, chainLoaded},
		{[]string{"--format", "oci-dir"}, chain, chainLoaded},
		{[]string{"--format", "docker-dir"}, []string{"chain-top"}, "Loaded image: sha256:" + recordedID(t, "chain-top") + "\n"},
		{[]string{"--format", "docker-dir", "--compress"}, []string{"chain-top"}, "Loaded image: sha256:" + recordedID(t, "chain-top") + "\n"},
		{[]string{"-q"}, []string{recordedID(t, "tiny")[:12]}, "Loaded image: sha256:" + recordedID(t, "tiny") + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append(append([]string{"save", "-o", out}, tt.args...), tt.names...)
			if got := e.mustRun(t, args...); got != "" {
				t.Errorf("save printed %q", got)
			}
			if got := newTestEnv(t).mustRun(t, "load", "-i", out); got != tt.want {
				t.Errorf("load of the output: got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSaveStdout: without -o the archive goes to stdout, byte for byte what podman saved.
func TestSaveStdout(t *testing.T) {
	e := newLoadedEnv(t)
	for _, args := range [][]string{{"save", "chain-top"}, {"save", "--output", "", "chain-top"}} {
		stdout, stderr, code := e.run(args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		sum := sha256.Sum256([]byte(stdout))
		if got, want := hex.EncodeToString(sum[:]), recordedSum(t, "chain-top.docker.tar"); got != want {
			t.Errorf("%v: stdout has sha256 %s, podman's chain-top.docker.tar %s", args, got, want)
		}
	}
	tmp := filepath.Join(e.globals[1], "image-tmp") // --root's value
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Errorf("temp dir %s holds %v (%v)", tmp, entries, err)
	}
}

// recordedSum returns the sha256 testdata/SHA256SUMS records for file.
func recordedSum(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(testdataPath("SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines(string(raw)) {
		if sum, name, ok := strings.Cut(line, "  "); ok && name == file {
			return sum
		}
	}
	t.Fatalf("no sum for %s", file)
	return ""
}

// TestSaveErrors: bad requests exit 125 with an error naming the problem and leave nothing
// at the destination.
func TestSaveErrors(t *testing.T) {
	e := newLoadedEnv(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no names", []string{"save", "-o", out}, []string{"at least one image name"}},
		{"unknown name", []string{"save", "-o", out, "busybox", "nosuch"}, []string{`"nosuch"`, "image not known"}},
		{"unknown format", []string{"save", "-o", out, "--format", "tarball", "busybox"}, []string{`"tarball"`}},
		{"compress an archive", []string{"save", "-o", out, "--compress", "busybox"}, []string{"docker-dir"}},
		{"uncompressed docker-archive", []string{"save", "-o", out, "--uncompressed", "busybox"}, []string{"oci-archive"}},
		{"docker-dir with two images", []string{"save", "-o", out, "--format", "docker-dir", "busybox", "chain-base"}, []string{"docker-dir", "2 requested"}},
		{"a directory to stdout", []string{"save", "--format", "oci-dir", "busybox"}, []string{"-o"}},
		{"missing directory", []string{"save", "-o", filepath.Join(dir, "missing", "out"), "busybox"}, []string{filepath.Join(dir, "missing")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := e.run(tt.args...)
			if code != exitError || stdout != "" {
				t.Errorf("exit %d, stdout %q", code, stdout)
			}
			if !strings.HasPrefix(stderr, "Error: ") {
				t.Errorf("stderr %q", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) != 0 {
				t.Errorf("left in %s: %v (%v)", dir, entries, err)
			}
		})
	}
}
