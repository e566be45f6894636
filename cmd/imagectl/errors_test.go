package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	e := newLoadedEnv(t)
	missing := filepath.Join(t.TempDir(), "missing.tar")
	garbage := filepath.Join(t.TempDir(), "garbage.tar")
	writeTestFile(t, garbage, "this is not an image archive\n")
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error line
	}{
		{"unknown image", []string{"inspect", "nosuchimage"}, []string{`"nosuchimage"`, "image not known"}},
		{"unknown among known", []string{"inspect", "busybox", "nosuchimage"}, []string{`"nosuchimage"`}},
		{"tag unknown image", []string{"tag", "nosuchimage", "x"}, []string{`"nosuchimage"`}},
		{"untag unknown image", []string{"untag", "nosuchimage", "x"}, []string{`"nosuchimage"`}},
		{"untag a name the image lacks", []string{"untag", "busybox", "other:1"}, []string{`"localhost/other:1"`, "tag not known"}},
		{"untag without names", []string{"untag", "busybox"}, []string{"at least one name"}},
		{"tag without names", []string{"tag", "busybox"}, []string{"at least one name"}},
		{"inspect without images", []string{"inspect"}, []string{"at least one image"}},
		{"images with two arguments", []string{"images", "busybox", "tiny"}, []string{"accepts at most 1 arg"}},
		{"tag with a digest", []string{"tag", "busybox", "x@sha256:" + strings.Repeat("a", 64)}, []string{"digest"}},
		{"tag with a bad name", []string{"tag", "busybox", "Bad/Name"}, []string{`"Bad/Name"`}},
		{"ambiguous or bad ID", []string{"inspect", "sha256:1234"}, []string{`"sha256:1234"`}},
		{"load a missing file", []string{"load", "-i", missing}, []string{missing}},
		{"load garbage", []string{"load", "-i", garbage}, []string{garbage, "not a supported image archive"}},
		{"bad log level", []string{"--log-level", "loud", "images"}, []string{`"loud"`}},
		{"bad template", []string{"images", "--format", "{{.Nope"}, []string{"--format"}},
		{"unknown template field", []string{"images", "--format", "{{.Nope}}"}, []string{"Nope"}},
		{"unknown subcommand", []string{"frobnicate"}, []string{`"frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := e.run(tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d (stdout %q)", code, exitError, stdout)
			}
			if !strings.HasPrefix(stderr, "Error: ") || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q is not one \"Error: ...\" message", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
}

func TestInspectPrintsFoundBeforeError(t *testing.T) {
	e := newLoadedEnv(t)
	stdout, _, code := e.run("inspect", "--format", "{{.Id}}", "nosuchimage", "busybox")
	if code == 0 || stdout != recordedID(t, "busybox")+"\n" {
		t.Errorf("exit %d, stdout %q: want busybox's ID and a failure", code, stdout)
	}
	stdout, _, _ = e.run("inspect", "nosuchimage")
	if stdout != "[]\n" {
		t.Errorf("stdout %q, want [] as podman prints", stdout)
	}
}

// TestMissingPolicyFile: a --signature-policy file that does not exist is named as such, and
// the hint to give one (for when no policy was given and the system has none) is left out.
func TestMissingPolicyFile(t *testing.T) {
	e := newTestEnv(t)
	missing := filepath.Join(t.TempDir(), "no-such-policy.json")
	_, stderr, code := e.run("--signature-policy", missing, "load", "-i", testdataPath("busybox.docker.tar"))
	if code != exitError || !strings.Contains(stderr, `"`+missing+`" does not exist`) || strings.Contains(stderr, "give imagectl a policy file") {
		t.Errorf("exit %d, stderr %q; want one error naming %s as missing, without the hint", code, stderr, missing)
	}
}
