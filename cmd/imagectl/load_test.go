package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOutput(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		archive string
		want    string
	}{
		{"busybox.docker.tar", "Loaded image: localhost/busybox:latest\n"},
		{"chain.multi.docker.tar", "Loaded image: localhost/busybox:latest\n" +
			"Loaded image: localhost/chain-base:latest\n" +
			"Loaded image: localhost/chain-mid:latest\n" +
			"Loaded image: localhost/chain-top:latest\n" +
			"Loaded image: localhost/chain-top:v1\n"},
		{"tiny.oci.tar", "Loaded image: localhost/tiny:latest\n"},
		{"busybox.oci", "Loaded image: localhost/busybox:latest\n"},
	}
	for _, tt := range tests {
		for _, flag := range []string{"-i", "--input"} {
			if got := e.mustRun(t, "load", flag, testdataPath(tt.archive)); got != tt.want {
				t.Errorf("load %s %s: got %q, want %q", flag, tt.archive, got, tt.want)
			}
		}
	}
	if got := lines(e.mustRun(t, "images", "-q")); len(got) != 5 {
		t.Errorf("images -q after the loads: %q, want 5 images", got)
	}
}

func TestLoadMovedName(t *testing.T) {
	e := newLoadedEnv(t)
	e.mustRun(t, "tag", "chain-base", "localhost/busybox:latest")
	got := e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	want := "Loaded image: localhost/busybox:latest\n" +
		"Moved name: localhost/busybox:latest (from image " + recordedID(t, "chain-base")[:12] + ")\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadUnnamed(t *testing.T) {
	e := newTestEnv(t)
	archive := unnamedArchive(t, testdataPath("tiny.docker.tar"))
	got := e.mustRun(t, "load", "-i", archive)
	if want := "Loaded image: sha256:" + recordedID(t, "tiny") + "\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if rows := e.mustRun(t, "images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"); rows != "<none> <none> "+recordedID(t, "tiny")[:12]+"\n" {
		t.Errorf("images: %q", rows)
	}
}

// unnamedArchive copies a docker-archive with "RepoTags": null in its manifest.json, so
// that it loads as an unnamed image, and returns the copy's path.
func unnamedArchive(t *testing.T, src string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), "unnamed.docker.tar")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "manifest.json" {
			body = dropRepoTags(t, body)
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func dropRepoTags(t *testing.T, manifest []byte) []byte {
	t.Helper()
	var entries []map[string]any
	if err := json.Unmarshal(manifest, &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		e["RepoTags"] = nil
	}
	out, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "localhost/") {
		t.Fatalf("manifest.json still names the image: %s", out)
	}
	return out
}

// TestLoadStdin: `load -i -` reads the archive from stdin, plain or compressed, prints what
// podman prints, and leaves no spool file; a hostile archive on stdin is refused with an
// error naming the offending entry, and the store stays empty.
func TestLoadStdin(t *testing.T) {
	busybox := testdataPath("busybox.docker.tar")
	tests := []struct {
		name, input, want, wantErr string
	}{
		{"docker-archive", busybox, "Loaded image: localhost/busybox:latest\n", ""},
		{"gzip docker-archive", gzipped(t, busybox), "Loaded image: localhost/busybox:latest\n", ""},
		{"oci-archive", testdataPath("tiny.oci.tar"), "Loaded image: localhost/tiny:latest\n", ""},
		{"escaping symlink", escapingArchive(t), "", `symlink "evil.tar" -> "/etc/passwd" leaves the archive`},
		{"not an archive", writeTemp(t, "not an archive"), "", "loading stream: oci-dir: not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			in, err := os.Open(tt.input)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			got, err := e.runStdin(in, "load", "-i", "-")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("load -i -: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("load -i -: error %v, want one saying %q", err, tt.wantErr)
			case got != tt.want:
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.wantErr != "" {
				if rows := e.mustRun(t, "images", "-q"); rows != "" {
					t.Errorf("images after a refused load: %q", rows)
				}
			}
			assertNoTempFiles(t, e)
		})
	}
}

// TestLoadWithoutInput: without -i, load reads the archive from stdin as podman does; an
// empty stdin is an error saying so.
func TestLoadWithoutInput(t *testing.T) {
	e := newTestEnv(t)
	f, err := os.Open(testdataPath("busybox.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if out, err := e.runStdin(f, "load"); err != nil || out != "Loaded image: localhost/busybox:latest\n" {
		t.Errorf("load from stdin without -i: %q, %v", out, err)
	}
	if _, err := e.runStdin(strings.NewReader(""), "load"); err == nil || !strings.Contains(err.Error(), "the stream is empty") {
		t.Errorf("load of an empty stdin: %v, want an error saying it is empty", err)
	}
}

// runStdin runs imagectl in-process with stdin and returns its stdout and error.
func (e *testEnv) runStdin(stdin io.Reader, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetIn(stdin)
	cmd.SetArgs(append(append([]string(nil), e.globals...), args...))
	err := cmd.ExecuteContext(context.Background())
	return stdout.String(), err
}

// assertNoTempFiles fails the test if the store's temp dir holds anything.
func assertNoTempFiles(t *testing.T, e *testEnv) {
	t.Helper()
	root := e.globals[1] // --root's value
	entries, err := os.ReadDir(filepath.Join(root, "image-tmp"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, de := range entries {
		t.Errorf("left behind: %s", de.Name())
	}
}

// gzipped writes src compressed with gzip to a temp file and returns its path.
func gzipped(t *testing.T, src string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, buf.String())
}

// escapingArchive is tiny.docker.tar plus a symlink entry pointing at /etc/passwd.
func escapingArchive(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(testdataPath("tiny.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "evil.tar", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, buf.String()+string(raw))
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input")
	writeTestFile(t, path, content)
	return path
}
