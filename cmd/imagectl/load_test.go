package main

import (
	"archive/tar"
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
