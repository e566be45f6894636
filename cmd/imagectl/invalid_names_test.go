package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cmdInvalidNames are names imagectl's commands must refuse (an argument vector cannot hold
// a NUL byte, so it is left to the library's tests). looksUp marks the names that a lookup
// reads as an ID or a name that is simply not there: rm then still removes the other names
// it was given, as podman does for a name it does not find.
var cmdInvalidNames = []struct {
	what, in string
	looksUp  bool
}{
	{"uppercase", "Busybox", false},
	{"space", "busy box", false},
	{"newline", "busybox\n", false},
	{"escape", "busybox\x1b[31m", false},
	{"dot dot", "a/../b", false},
	{"256 characters", strings.Repeat("a", 256), false},
	{"64-hex repository", hex64, true},
	{"64-hex repository with a tag", hex64 + ":v1", true},
	{"sha256 with 63 digits", "sha256:" + hex64[:63], false},
}

// hex64 is 64 hex digits that are no testdata image's ID.
const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestInvalidNamesCommands: tag, untag, rm, save, pull and import refuse every invalid name
// (as the image, or as the name to give) with exit 125 and one "Error: ..." message that
// quotes it (so control characters are escaped, never written to the terminal), and change
// nothing, also when valid names come before it; pull asks the registry nothing.
func TestInvalidNamesCommands(t *testing.T) {
	e, reg := newRegistryEnv(t, nil)
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	e.mustRun(t, "load", "-i", testdataPath("tiny-whiteout.docker.tar"))
	rootfs := extractRootfs(t)
	before := storeNames(t, e)
	reg.ResetStats()
	for _, tt := range cmdInvalidNames {
		t.Run(tt.what, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.tar")
			calls := [][]string{
				{"tag", "busybox", tt.in},
				{"tag", "busybox", "good:1", tt.in},
				{"tag", tt.in, "good:1"},
				{"untag", "busybox", tt.in},
				{"rm", tt.in},
				{"save", "-o", out, tt.in},
				{"save", "-o", out, "busybox", tt.in},
				{"pull", "--policy", "always", tt.in},
				{"pull", tt.in},
				{"import", rootfs, tt.in},
			}
			if !tt.looksUp {
				calls = append(calls, []string{"rm", "tiny-whiteout", tt.in})
			}
			for _, args := range calls {
				assertRefused(t, e, tt.in, args...)
				if got := storeNames(t, e); got != before {
					t.Fatalf("%q changed the store:\n%s\nbefore:\n%s", args, got, before)
				}
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("save left %v (%v)", entries, err)
			}
		})
	}
	if n := reg.Stats().Requests; n != 0 {
		t.Errorf("the registry got %d requests for invalid names", n)
	}
}

// TestAmbiguousPrefixCommands: "6" is a prefix of both busybox's ID (63af…) and
// tiny-whiteout's (6adb…): tag, rm, save and pull (which looks it up first) refuse it as
// ambiguous and act on neither.
func TestAmbiguousPrefixCommands(t *testing.T) {
	e, reg := newRegistryEnv(t, nil)
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	e.mustRun(t, "load", "-i", testdataPath("tiny-whiteout.docker.tar"))
	const prefix = "6"
	for _, name := range []string{"busybox", "tiny-whiteout"} {
		if !strings.HasPrefix(recordedID(t, name), prefix) {
			t.Fatalf("recorded ID of %s does not start with %q", name, prefix)
		}
	}
	before := storeNames(t, e)
	reg.ResetStats()
	out := filepath.Join(t.TempDir(), "out.tar")
	for _, args := range [][]string{
		{"tag", prefix, "good:1"},
		{"rm", prefix},
		{"rm", "--force", prefix},
		{"save", "-o", out, prefix},
		{"pull", "--policy", "missing", prefix}, // (always, the default, asks the registry)
		{"inspect", prefix},
	} {
		stderr := assertRefused(t, e, prefix, args...)
		if !strings.Contains(stderr, "ambiguous") {
			t.Errorf("%q: %q does not say the name is ambiguous", args, stderr)
		}
	}
	if got := storeNames(t, e); got != before {
		t.Errorf("the store changed:\n%s\nbefore:\n%s", got, before)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("save of an ambiguous prefix left %s (%v)", out, err)
	}
	if n := reg.Stats().Requests; n != 0 {
		t.Errorf("the registry got %d requests", n)
	}
}

// assertRefused runs imagectl with args and fails unless it exits 125 with nothing on
// stdout (inspect prints "[]") and "Error: " lines on stderr quoting in, free of control
// characters. It returns stderr.
func assertRefused(t *testing.T, e *testEnv, in string, args ...string) string {
	t.Helper()
	stdout, stderr, code := e.run(args...)
	if code != exitError {
		t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitError, stderr)
	}
	if stdout != "" && stdout != "[]\n" {
		t.Errorf("%q printed %q", args, stdout)
	}
	for _, line := range lines(stderr) {
		if !strings.HasPrefix(line, "Error: ") {
			t.Errorf("%q: stderr line %q is not an \"Error: \" message", args, line)
		}
	}
	if !strings.Contains(stderr, strconv.Quote(in)) {
		t.Errorf("%q: stderr %q does not quote %s", args, stderr, strconv.Quote(in))
	}
	for _, c := range strings.TrimSuffix(stderr, "\n") {
		if c < ' ' && c != '\n' || c == 0x7f {
			t.Errorf("%q: stderr %q holds the control character %q", args, stderr, c)
			break
		}
	}
	return stderr
}

// storeNames lists every image of e's store (intermediate ones too) with its names.
func storeNames(t *testing.T, e *testEnv) string {
	t.Helper()
	return e.mustRun(t, "images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}")
}
