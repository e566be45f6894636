package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.podman.io/image/v5/pkg/compression"
)

// facts is the part of testdata/<stem>.facts.json the load tests use.
type facts struct {
	ID              string            `json:"id"`
	Names           []string          `json:"names"`
	DiffIDs         []string          `json:"diff_ids"`
	ManifestDigests map[string]string `json:"manifest_digests"`
}

func readFacts(t testing.TB, stem string) facts {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(stem + ".facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f facts
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLoadFormats loads each format of the same image into a fresh store and checks the ID,
// the names, the digest recorded for that format, the layers and the manifest type.
func TestLoadFormats(t *testing.T) {
	cases := []struct {
		file, stem, digestKey, manifestType string
	}{
		{"busybox.docker.tar", "busybox", "docker_archive_as_read_by_skopeo", "application/vnd.docker.distribution.manifest.v2+json"},
		{"busybox.oci.tar", "busybox", "oci_archive", "application/vnd.oci.image.manifest.v1+json"},
		{"busybox.oci", "busybox", "oci_dir", "application/vnd.oci.image.manifest.v1+json"},
		{"tiny.docker.tar", "tiny", "docker_archive_as_read_by_skopeo", "application/vnd.docker.distribution.manifest.v2+json"},
		{"tiny.oci.tar", "tiny", "oci_archive", "application/vnd.oci.image.manifest.v1+json"},
		{"tiny.oci", "tiny", "oci_dir", "application/vnd.oci.image.manifest.v1+json"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			f := readFacts(t, c.stem)
			loaded := mustLoad(t, rt, c.file)
			want := []LoadedImage{{ID: f.ID, Names: f.Names}}
			if !reflect.DeepEqual(loaded, want) {
				t.Fatalf("loaded %+v, want %+v", loaded, want)
			}
			if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventLoad, ID: f.ID, Name: f.Names[0]}}) {
				t.Errorf("events %+v", ev)
			}
			img := mustLookup(t, rt, f.Names[0])
			if got := img.Digest().String(); got != f.ManifestDigests[c.digestKey] {
				t.Errorf("Digest %s, recorded %s", got, f.ManifestDigests[c.digestKey])
			}
			data, err := img.Inspect(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var diffIDs []string
			for _, d := range data.RootFS.Layers {
				diffIDs = append(diffIDs, d.String())
			}
			if !reflect.DeepEqual(diffIDs, f.DiffIDs) {
				t.Errorf("layers %v, recorded %v", diffIDs, f.DiffIDs)
			}
			if data.ManifestType != c.manifestType {
				t.Errorf("ManifestType %s, want %s", data.ManifestType, c.manifestType)
			}
		})
	}
}

// TestLoadMultiImage loads the archive `podman save -m` wrote: four images, five names.
func TestLoadMultiImage(t *testing.T) {
	rt, rec := newTestRuntime(t)
	loaded := mustLoad(t, rt, "chain.multi.docker.tar")
	var want []LoadedImage
	var wantEvents []Event
	for _, stem := range []string{"busybox", "chain-base", "chain-mid", "chain-top"} {
		f := readFacts(t, stem)
		names := f.Names
		if stem == "chain-top" {
			names = []string{"localhost/chain-top:latest", "localhost/chain-top:v1"} // archive order
		}
		want = append(want, LoadedImage{ID: f.ID, Names: names})
		wantEvents = append(wantEvents, Event{Type: EventLoad, ID: f.ID, Name: names[0]})
	}
	if !reflect.DeepEqual(loaded, want) {
		t.Fatalf("loaded %+v\nwant %+v", loaded, want)
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, wantEvents) {
		t.Errorf("events %+v\nwant %+v", ev, wantEvents)
	}
	images, err := rt.ListImages(context.Background(), nil)
	if err != nil || len(images) != 4 {
		t.Fatalf("%d images, err %v", len(images), err)
	}
}

// TestLoadMovesNames: a name another image holds moves to the loaded image, and the result
// and the events say from which image.
func TestLoadMovesNames(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar")
	busybox := readFacts(t, "busybox").ID
	if _, err := mustLookup(t, rt, "busybox").Tag("localhost/tiny:latest"); err != nil {
		t.Fatal(err)
	}
	rec.take()
	loaded := mustLoad(t, rt, "tiny.docker.tar")
	tiny := readFacts(t, "tiny").ID
	want := []LoadedImage{{ID: tiny, Names: []string{"localhost/tiny:latest"},
		Moved: []MovedName{{Name: "localhost/tiny:latest", From: busybox}}}}
	if !reflect.DeepEqual(loaded, want) {
		t.Fatalf("loaded %+v, want %+v", loaded, want)
	}
	wantEvents := []Event{{Type: EventLoad, ID: tiny, Name: "localhost/tiny:latest"},
		{Type: EventUntag, ID: busybox, Name: "localhost/tiny:latest"}}
	if ev := rec.take(); !reflect.DeepEqual(ev, wantEvents) {
		t.Errorf("events %+v, want %+v", ev, wantEvents)
	}
	if got := mustLookup(t, rt, "busybox").Names(); !reflect.DeepEqual(got, []string{"localhost/busybox:latest"}) {
		t.Errorf("busybox names %v", got)
	}
	// Loading the same archive again moves nothing.
	again := mustLoad(t, rt, "tiny.docker.tar")
	if len(again) != 1 || len(again[0].Moved) != 0 {
		t.Errorf("second load %+v", again)
	}
}

// TestLoadOCINames: the containerd annotation wins; a full ref.name names the image; a bare
// tag in ref.name names nothing.
func TestLoadOCINames(t *testing.T) {
	tiny := readFacts(t, "tiny").ID
	cases := []struct {
		name        string
		annotations map[string]string
		want        []string
	}{
		{"containerd name", map[string]string{"io.containerd.image.name": "quay.io/x/tiny:2", "org.opencontainers.image.ref.name": "2"}, []string{"quay.io/x/tiny:2"}},
		{"short containerd name", map[string]string{"io.containerd.image.name": "tiny:3"}, []string{"localhost/tiny:3"}},
		{"full ref.name", map[string]string{"org.opencontainers.image.ref.name": "quay.io/y/tiny:1"}, []string{"quay.io/y/tiny:1"}},
		{"bare tag", map[string]string{"org.opencontainers.image.ref.name": "latest"}, nil},
		{"no annotations", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			dir := copyOCIDir(t, "tiny.oci", c.annotations)
			res, err := rt.Load(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := []LoadedImage{{ID: tiny, Names: c.want}}
			if !reflect.DeepEqual(res.Images, want) {
				t.Errorf("loaded %+v, want %+v", res.Images, want)
			}
			images, err := rt.ListImages(context.Background(), nil)
			if err != nil || len(images) != 1 || !reflect.DeepEqual(images[0].Names(), append([]string(nil), c.want...)) {
				t.Errorf("store has %d images (%v), err %v", len(images), namesOf(images), err)
			}
		})
	}
}

func namesOf(images []*Image) [][]string {
	var out [][]string
	for _, img := range images {
		out = append(out, img.Names())
	}
	return out
}

// copyOCIDir copies testdata/<src> to a temp dir and sets the annotations of its only index
// entry.
func copyOCIDir(t *testing.T, src string, annotations map[string]string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(dst, os.DirFS(testdataPath(src))); err != nil {
		t.Fatal(err)
	}
	indexPath := filepath.Join(dst, "index.json")
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	entry := index["manifests"].([]any)[0].(map[string]any)
	if annotations == nil {
		delete(entry, "annotations")
	} else {
		entry["annotations"] = annotations
	}
	raw, err = json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, indexPath, string(raw))
	return dst
}

// TestLoadBadInput: missing, empty, garbage, truncated input and directories that are no
// image fail with one error naming the input (listing what each format said when no format
// applies), and leave the store and the temp dir as they were.
func TestLoadBadInput(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	rec.take()
	before := snapshotStore(t, rt)
	dir := t.TempDir()
	full, err := os.ReadFile(testdataPath("busybox.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(dir, "emptydir")
	otherDir := filepath.Join(dir, "otherdir")
	for _, d := range []string{emptyDir, otherDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(otherDir, "notes.txt"), "not an image")
	files := map[string][]byte{
		"empty.tar":         nil,
		"garbage.tar":       []byte(strings.Repeat("this is not a tar archive\n", 100)),
		"truncated-10.tar":  full[:len(full)/10],
		"truncated-50.tar":  full[:len(full)/2],
		"truncated-99.tar":  full[:len(full)-4096],
		"truncated-hdr.tar": full[:700],
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		path     string
		sentinel error
	}{
		{filepath.Join(dir, "missing.tar"), fs.ErrNotExist},
		{emptyDir, ErrUnsupportedFormat},
		{otherDir, ErrUnsupportedFormat},
		{filepath.Join(dir, "empty.tar"), ErrUnsupportedFormat},
		{filepath.Join(dir, "garbage.tar"), ErrUnsupportedFormat},
		{filepath.Join(dir, "truncated-10.tar"), ErrUnsupportedFormat},
		{filepath.Join(dir, "truncated-50.tar"), ErrUnsupportedFormat},
		{filepath.Join(dir, "truncated-99.tar"), ErrUnsupportedFormat},
		{filepath.Join(dir, "truncated-hdr.tar"), ErrUnsupportedFormat},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			_, err := rt.Load(context.Background(), c.path, nil)
			if err == nil {
				t.Fatal("loaded")
			}
			t.Logf("%v", err)
			if !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
			if !strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q does not name the input", err)
			}
			if c.sentinel == ErrUnsupportedFormat && filepath.Base(c.path) != "empty.tar" { // (TestLoadEmptyFile)
				for _, format := range []string{"oci-dir:", "dir:", "docker-archive:", "oci-archive:"} {
					if !strings.Contains(err.Error(), format) {
						t.Errorf("error %q does not say what %s said", err, format)
					}
				}
			}
			assertUnchanged(t, rt, before)
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("events after a failed load: %+v", ev)
			}
		})
	}
}

// assertEmptyDir fails the test if dir holds anything (a temp file left behind).
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// TestLoadFailsMidCopy: an OCI layout whose second layer is missing or corrupt is recognized,
// then fails while copying; the layer already copied must not stay behind.
func TestLoadFailsMidCopy(t *testing.T) {
	manifestDigest := func(dir string) string {
		var index struct {
			Manifests []struct{ Digest string } `json:"manifests"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil || json.Unmarshal(raw, &index) != nil {
			t.Fatalf("reading index of %s: %v", dir, err)
		}
		return strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")
	}
	secondLayer := func(dir string) string {
		var m struct {
			Layers []struct{ Digest string } `json:"layers"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", manifestDigest(dir)))
		if err != nil || json.Unmarshal(raw, &m) != nil || len(m.Layers) != 2 {
			t.Fatalf("reading manifest of %s: %v", dir, err)
		}
		return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(m.Layers[1].Digest, "sha256:"))
	}
	cases := map[string]func(blob string){
		"missing layer": func(blob string) {
			if err := os.Remove(blob); err != nil {
				t.Fatal(err)
			}
		},
		"corrupt layer": func(blob string) {
			if err := os.WriteFile(blob, []byte("not the layer"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			before := snapshotStore(t, rt)
			dir := copyOCIDir(t, "tiny-whiteout.oci", map[string]string{"org.opencontainers.image.ref.name": "localhost/tw:1"})
			damage(secondLayer(dir))
			_, err := rt.Load(context.Background(), dir, nil)
			if err == nil {
				t.Fatal("loaded a damaged layout")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the input", err)
			}
			assertUnchanged(t, rt, before)
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("events after a failed load: %+v", ev)
			}
		})
	}
}

// TestLoadCompressed: docker-archives and oci-archives compressed with gzip or zstd load like
// the plain ones, through Load and LoadReader, and leave no temp file.
func TestLoadCompressed(t *testing.T) {
	busybox := readFacts(t, "busybox")
	for _, archive := range []string{"busybox.docker.tar", "busybox.oci.tar"} {
		for _, algo := range []compression.Algorithm{compression.Gzip, compression.Zstd} {
			t.Run(archive+"."+algo.Name(), func(t *testing.T) {
				path := compressArchive(t, testdataPath(archive), algo)
				for _, viaReader := range []bool{false, true} {
					rt, _ := newTestRuntime(t)
					res, err := loadVia(t, rt, path, viaReader)
					if err != nil {
						t.Fatalf("reader %v: %v", viaReader, err)
					}
					want := []LoadedImage{{ID: busybox.ID, Names: busybox.Names}}
					if !reflect.DeepEqual(res.Images, want) {
						t.Errorf("reader %v: loaded %+v, want %+v", viaReader, res.Images, want)
					}
					assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
				}
			})
		}
	}
}

// loadVia loads path with Load, or with LoadReader from the open file.
func loadVia(t *testing.T, rt *Runtime, path string, viaReader bool) (*LoadResult, error) {
	t.Helper()
	if !viaReader {
		return rt.Load(context.Background(), path, nil)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return rt.LoadReader(context.Background(), f, nil)
}

// compressArchive writes src compressed with algo to a temp file and returns its path.
func compressArchive(t testing.TB, src string, algo compression.Algorithm) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src)+"."+algo.Name())
	var buf bytes.Buffer
	zw, err := compression.CompressStream(&buf, algo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestLoadReader: LoadReader loads what it reads, names the input "stream" in errors, and
// removes its spool file on every path: success, input no format reads, a failing reader and
// a cancelled context.
func TestLoadReader(t *testing.T) {
	raw, err := os.ReadFile(testdataPath("tiny.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name     string
		ctx      context.Context
		input    io.Reader
		sentinel error // nil: the load succeeds
	}{
		{"docker-archive", context.Background(), bytes.NewReader(raw), nil},
		{"garbage", context.Background(), strings.NewReader("not an archive"), ErrUnsupportedFormat},
		{"empty", context.Background(), strings.NewReader(""), ErrUnsupportedFormat},
		{"failing reader", context.Background(), io.MultiReader(bytes.NewReader(raw[:4096]), errReader{}), errBroken},
		{"canceled", canceled, bytes.NewReader(raw), context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			res, err := rt.LoadReader(c.ctx, c.input, nil)
			switch {
			case c.sentinel == nil && err != nil:
				t.Fatal(err)
			case c.sentinel == nil:
				if want := readFacts(t, "tiny"); len(res.Images) != 1 || res.Images[0].ID != want.ID {
					t.Errorf("loaded %+v", res.Images)
				}
			case !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), "loading stream"):
				t.Errorf("error %v, want one wrapping %v that names the stream", err, c.sentinel)
			case c.name == "empty" && !strings.Contains(err.Error(), "the stream is empty"):
				t.Errorf("error %v, want one saying the stream is empty", err)
			}
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
		})
	}
}

var errBroken = errors.New("broken reader")

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// TestLoadUnnamedDocker: a docker-archive whose RepoTags is null or empty loads unnamed.
func TestLoadUnnamedDocker(t *testing.T) {
	tiny := readFacts(t, "tiny").ID
	for name, tags := range map[string]any{"null": nil, "empty": []string{}} {
		t.Run(name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			entries := editManifestJSON(t, readEntries(t, testdataPath("tiny.docker.tar")), func(items []map[string]any) {
				items[0]["RepoTags"] = tags
			})
			res, err := rt.Load(context.Background(), writeArchive(t, entries), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := []LoadedImage{{ID: tiny}}; !reflect.DeepEqual(res.Images, want) {
				t.Errorf("loaded %+v, want %+v", res.Images, want)
			}
			if names := mustLookup(t, rt, tiny).Names(); len(names) != 0 {
				t.Errorf("names %v", names)
			}
		})
	}
}

// TestLoadMultiImageOCI: an OCI layout with two images and several entries per manifest
// loads each image once, with the names of all its entries in index order (a bare tag and
// an entry without annotations add none), as a dir, an archive and a compressed archive.
func TestLoadMultiImageOCI(t *testing.T) {
	tiny, busybox := readFacts(t, "tiny"), readFacts(t, "busybox")
	dir := mergeOCIDirs(t, []ociEntry{
		{"tiny.oci", map[string]string{annotationContainerdName: "quay.io/a/tiny:1", "org.opencontainers.image.ref.name": "1"}},
		{"busybox.oci", map[string]string{"org.opencontainers.image.ref.name": "localhost/busybox:latest"}},
		{"tiny.oci", map[string]string{"org.opencontainers.image.ref.name": "quay.io/a/tiny:2"}},
		{"tiny.oci", map[string]string{"org.opencontainers.image.ref.name": "latest"}},
		{"busybox.oci", nil},
		{"busybox.oci", map[string]string{annotationContainerdName: "busybox:musl"}},
	})
	archive := writeArchive(t, dirEntries(t, dir))
	want := []LoadedImage{
		{ID: tiny.ID, Names: []string{"quay.io/a/tiny:1", "quay.io/a/tiny:2"}},
		{ID: busybox.ID, Names: []string{"localhost/busybox:latest", "localhost/busybox:musl"}},
	}
	for name, path := range map[string]string{"dir": dir, "archive": archive, "archive.zstd": compressArchive(t, archive, compression.Zstd)} {
		t.Run(name, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			res, err := rt.Load(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Images, want) {
				t.Errorf("loaded %+v\nwant %+v", res.Images, want)
			}
			wantEvents := []Event{{Type: EventLoad, ID: tiny.ID, Name: "quay.io/a/tiny:1"}, {Type: EventLoad, ID: busybox.ID, Name: "localhost/busybox:latest"}}
			if ev := rec.take(); !reflect.DeepEqual(ev, wantEvents) {
				t.Errorf("events %+v", ev)
			}
			for _, img := range want {
				if got := mustLookup(t, rt, img.ID).Names(); !reflect.DeepEqual(got, reversed(img.Names)) {
					t.Errorf("%s has names %v, want %v", img.ID, got, reversed(img.Names))
				}
			}
		})
	}
}

// TestLoadDirFormat: a layout in c/image's "dir" format loads unnamed (the hostile corpus
// has the refusals).
func TestLoadDirFormat(t *testing.T) {
	tiny := readFacts(t, "tiny").ID
	rt, _ := newTestRuntime(t)
	dir := dirLayout(t)
	res, err := rt.Load(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []LoadedImage{{ID: tiny}}; !reflect.DeepEqual(res.Images, want) {
		t.Errorf("loaded %+v, want %+v", res.Images, want)
	}
}

// BenchmarkLoadCompressed measures what compression adds to a load: the same busybox
// archive, docker-archive and oci-archive, plain, gzip and zstd. "load" is the whole load
// into a store emptied between iterations (dominated by writing the layer's files, which
// varies a lot here); "open" is only what differs between plain and compressed input:
// detecting the format, decompressing to a temp file, reading the tar headers and opening
// the archive (an oci-archive is extracted then), with its cleanup.
func BenchmarkLoadCompressed(b *testing.B) {
	busybox := readFacts(b, "busybox").ID
	for _, archive := range []string{"busybox.docker.tar", "busybox.oci.tar"} {
		inputs := map[string]string{"plain": testdataPath(archive)}
		for _, algo := range []compression.Algorithm{compression.Gzip, compression.Zstd} {
			inputs[algo.Name()] = compressArchive(b, testdataPath(archive), algo)
		}
		for _, kind := range []string{"plain", "gzip", "zstd"} {
			b.Run(archive+"/"+kind+"/open", func(b *testing.B) {
				rt, _ := newTestRuntime(b)
				for b.Loop() {
					in, err := rt.openInput(context.Background(), inputs[kind])
					if err != nil {
						b.Fatal(err)
					}
					in.release()
				}
			})
			b.Run(archive+"/"+kind+"/load", func(b *testing.B) {
				rt, _ := newTestRuntime(b)
				for range b.N {
					if _, err := rt.Load(context.Background(), inputs[kind], nil); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if _, err := rt.store.DeleteImage(busybox, true); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// TestLoadReportWriter: c/image's progress lines go to the caller's writer, and only there.
func TestLoadReportWriter(t *testing.T) {
	rt, _ := newTestRuntime(t)
	var report strings.Builder
	if _, err := rt.Load(context.Background(), testdataPath("tiny.docker.tar"), &LoadOptions{ReportWriter: &report}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "Copying blob") || !strings.Contains(report.String(), "Writing manifest") {
		t.Errorf("progress lines: %q", report.String())
	}
}

// TestLoadEmptyFile: an empty file is refused saying so (not with what each format missed).
func TestLoadEmptyFile(t *testing.T) {
	rt, _ := newTestRuntime(t)
	empty := filepath.Join(t.TempDir(), "empty.tar")
	writeFile(t, empty, "")
	_, err := rt.Load(context.Background(), empty, nil)
	if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), strconv.Quote(empty)+": the file is empty") {
		t.Fatalf("error %v, want ErrUnsupportedFormat saying %s is empty", err, empty)
	}
}
