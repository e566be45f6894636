package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// busyboxRootfsLayer is the layer of testdata/busybox.docker.tar: the rootfs tarball podman
// imported to make that image (the shared commands.log).
const busyboxRootfsLayer = "390f3de514efd0b41e2cd6461c2bf2082d6d4a4ab034d02a88a2018a040723d2.tar"

// podmanImportArgs are the flags podman's import of busybox was given.
var podmanImportArgs = []string{
	"--change", `CMD ["sh"]`, "--change", "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"--message", "busybox v1.35.0 from Debian busybox-static",
}

// extractRootfs writes busybox's rootfs tarball to a temp file, with podman's creation time
// of the image as its modification time (c/image takes the image's time from the file).
func extractRootfs(t *testing.T) string {
	t.Helper()
	f, err := os.Open(testdataPath("busybox.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in busybox.docker.tar: %v", busyboxRootfsLayer, err)
		}
		if hdr.Name == busyboxRootfsLayer {
			break
		}
	}
	path := filepath.Join(t.TempDir(), "busybox-rootfs.tar")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, tr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339Nano, recordedInspect(t, "busybox")["Created"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, created, created); err != nil {
		t.Fatal(err)
	}
	return path
}

var fullID = regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`)

// TestImportPodmansBusybox runs podman's import command line: the output is the ID, and the
// image is podman's (same ID when the local time zone is UTC, as c/image writes local time).
func TestImportPodmansBusybox(t *testing.T) {
	e := newTestEnv(t)
	rootfs := extractRootfs(t)
	for _, name := range []string{"busybox", "localhost/busybox:latest"} {
		args := append(append([]string{"import"}, podmanImportArgs...), rootfs, name)
		out := e.mustRun(t, args...)
		if !fullID.MatchString(out) {
			t.Fatalf("output %q, want the image ID", out)
		}
		if _, offset := time.Now().Zone(); offset == 0 && out != "sha256:"+recordedID(t, "busybox")+"\n" {
			t.Errorf("ID %q, podman's %s", out, recordedID(t, "busybox"))
		}
	}
	got := e.mustRun(t, "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.Config.Cmd}} {{.Config.Env}} {{.Comment}} {{.Os}}/{{.Architecture}}", "busybox")
	rec := recordedInspect(t, "busybox")
	want := rec["Id"].(string) + " [localhost/busybox:latest] [sh] [PATH=/usr/sbin:/usr/bin:/sbin:/bin] busybox v1.35.0 from Debian busybox-static linux/amd64\n"
	if _, offset := time.Now().Zone(); offset != 0 {
		want = got[:64] + want[64:]
	}
	if got != want {
		t.Errorf("inspect: %q\nwant %q", got, want)
	}
}

// TestImportFlags: short flags, --platform, stdin, no name.
func TestImportFlags(t *testing.T) {
	e := newTestEnv(t)
	rootfs := extractRootfs(t)
	out := e.mustRun(t, "import", "-c", "CMD /bin/app", "-c", "LABEL a=b", "-m", "hello", "-q", "--platform", "linux/arm/v6", rootfs, "app:1")
	id := strings.TrimPrefix(strings.TrimSpace(out), "sha256:")
	got := e.mustRun(t, "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.Config.Cmd}} {{.Labels}} {{.Comment}}", "app:1")
	if want := id + " [localhost/app:1] [/bin/sh -c /bin/app] map[a:b] hello\n"; got != want {
		t.Errorf("inspect: %q, want %q", got, want)
	}
	assertPlatform(t, e, id, "linux", "arm")
	id = strings.TrimPrefix(strings.TrimSpace(e.mustRun(t, "import", "--os", "freebsd", "--arch", "x86_64", rootfs)), "sha256:")
	assertPlatform(t, e, id, "freebsd", "amd64")
	if tags := e.mustRun(t, "inspect", "--format", "{{.RepoTags}}", id); tags != "[]\n" {
		t.Errorf("unnamed import has tags %q", tags)
	}
	stdin, err := os.Open(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	saved := os.Stdin
	os.Stdin = stdin
	defer func() { os.Stdin = saved }()
	out = e.mustRun(t, "import", "-", "from-stdin")
	if !fullID.MatchString(out) {
		t.Fatalf("output %q, want the image ID", out)
	}
	if got := e.mustRun(t, "inspect", "--format", "{{.Id}}", "from-stdin"); "sha256:"+got != out {
		t.Errorf("from-stdin is %q, import printed %q", got, out)
	}
}

// assertPlatform checks the OS and architecture inspect reports for id (podman's inspect shows
// no variant; the library's tests check it).
func assertPlatform(t *testing.T, e *testEnv, id, os, arch string) {
	t.Helper()
	if got := e.mustRun(t, "inspect", "--format", "{{.Os}}/{{.Architecture}}", id); got != os+"/"+arch+"\n" {
		t.Errorf("platform %q, want %s/%s", got, os, arch)
	}
}

func TestImportErrors(t *testing.T) {
	e := newTestEnv(t)
	rootfs := extractRootfs(t)
	missing := filepath.Join(t.TempDir(), "missing.tar")
	garbage := filepath.Join(t.TempDir(), "garbage.tar")
	writeTestFile(t, garbage, strings.Repeat("not a tarball\n", 100))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no source", []string{"import"}, []string{"needs a source"}},
		{"too many arguments", []string{"import", rootfs, "a", "b"}, []string{"at most one name"}},
		{"missing file", []string{"import", missing}, []string{missing, "no such file"}},
		{"garbage", []string{"import", garbage}, []string{garbage, "not a tar archive"}},
		{"bad change", []string{"import", "-c", "FROM busybox", rootfs}, []string{`"FROM busybox"`, "unknown instruction FROM", "invalid change"}},
		{"bad env", []string{"import", "--change", `ENV A="x`, rootfs}, []string{"ENV", "unterminated"}},
		{"bad name", []string{"import", rootfs, "Bad/Name"}, []string{`"Bad/Name"`}},
		{"bad platform", []string{"import", "--platform", "linux", rootfs}, []string{`"linux"`, "OS/ARCH"}},
		{"empty platform part", []string{"import", "--platform", "linux//v7", rootfs}, []string{`"linux//v7"`}},
		{"platform and arch", []string{"import", "--platform", "linux/amd64", "--arch", "arm64", rootfs}, []string{"--platform", "--arch"}},
		{"ftp", []string{"import", "ftp://127.0.0.1/x.tar"}, []string{"ftp", "only http and https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := e.run(tt.args...)
			if code != exitError || stdout != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, exitError)
			}
			if !strings.HasPrefix(stderr, "Error: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q is not one \"Error: ...\" line", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
	if out := e.mustRun(t, "images", "-q"); out != "" {
		t.Errorf("images after failed imports: %q", out)
	}
}
