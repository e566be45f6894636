package image

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/directory"
	dockerarchive "go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
)

// saveChainNames are the five names `podman save -m` wrote to chain.multi.docker.tar, in its
// order.
var saveChainNames = []string{"localhost/busybox:latest", "localhost/chain-base:latest",
	"localhost/chain-mid:latest", "localhost/chain-top:latest", "localhost/chain-top:v1"}

// saveChainImages are chain.multi's four images by stem, with the names the archive gives them.
var saveChainImages = []struct {
	stem  string
	names []string
}{
	{"busybox", saveChainNames[:1]}, {"chain-base", saveChainNames[1:2]},
	{"chain-mid", saveChainNames[2:3]}, {"chain-top", saveChainNames[3:]},
}

// saveFacts is the part of testdata/<stem>.facts.json the save tests use.
type saveFacts struct {
	ID              string            `json:"id"`
	DiffIDs         []string          `json:"diff_ids"`
	OCILayers       []string          `json:"oci_archive_layer_digests"`
	ManifestDigests map[string]string `json:"manifest_digests"`
	Created         string            `json:"created"`
	OSArch          string            `json:"os_arch"`
	Config          struct {
		Env    []string          `json:"Env"`
		Labels map[string]string `json:"Labels"`
	} `json:"config"`
}

func readSaveFacts(t testing.TB, stem string) saveFacts {
	t.Helper()
	var f saveFacts
	readSaveJSON(t, testdataPath(stem+".facts.json"), &f)
	return f
}

func readSaveJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
}

// skopeoView is what `skopeo inspect` printed of podman's saved files
// (shared/testdata/images/<stem>.formats.inspect.json), minus RepoTags and DockerVersion.
type skopeoView struct {
	Digest       string
	Created      string
	Labels       map[string]string
	Architecture string
	Os           string
	Layers       []string
	Env          []string
}

// recordedSkopeo returns skopeo's view of podman's files per format. It reads the shared
// formats.inspect.json when this checkout sits beside it; otherwise it takes the same values
// from facts.json (testdata-facts.py copied them there: identical for every image and format).
func recordedSkopeo(t *testing.T, stem string) map[SaveFormat]skopeoView {
	t.Helper()
	shared := filepath.Join("..", "shared", "testdata", "images", stem+".formats.inspect.json")
	out := map[SaveFormat]skopeoView{}
	if _, err := os.Stat(shared); err == nil {
		readSaveJSON(t, shared, &out)
		return out
	}
	f := readSaveFacts(t, stem)
	osName, arch, _ := strings.Cut(f.OSArch, "/")
	base := skopeoView{Created: f.Created, Labels: f.Config.Labels, Architecture: arch, Os: osName, Env: f.Config.Env}
	docker := base
	docker.Digest, docker.Layers = f.ManifestDigests["docker_archive_as_read_by_skopeo"], f.DiffIDs
	oci := base
	oci.Digest, oci.Layers = f.ManifestDigests["oci_archive"], f.OCILayers
	out[DockerArchive], out[OCIArchive], out[OCIDir] = docker, oci, oci
	return out
}

// inspectSavedRef is what skopeo inspect computes for ref: c/image's Inspect and the
// manifest's digest.
func inspectSavedRef(t *testing.T, ref types.ImageReference) skopeoView {
	t.Helper()
	ctx := context.Background()
	img, err := ref.NewImage(ctx, nil)
	if err != nil {
		t.Fatalf("opening %s: %v", ref.StringWithinTransport(), err)
	}
	defer img.Close()
	info, err := img.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := img.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := manifest.Digest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return skopeoView{Digest: d.String(), Created: info.Created.UTC().Format(time.RFC3339Nano), Labels: info.Labels,
		Architecture: info.Architecture, Os: info.Os, Layers: info.Layers, Env: info.Env}
}

// savedImage is one image of a saved file as c/image reads it, with the names stored for it.
type savedImage struct {
	ref   types.ImageReference
	names []string
}

// readSaved opens what Save wrote at path: per docker-archive image, per OCI index entry, or
// the one image of a dir.
func readSaved(t *testing.T, path string, format SaveFormat) []savedImage {
	t.Helper()
	switch format {
	case DockerArchive:
		return readSavedDockerArchive(t, path)
	case OCIArchive:
		dir := filepath.Join(t.TempDir(), "layout")
		untarSaved(t, path, dir)
		return readSavedLayout(t, dir)
	case OCIDir:
		return readSavedLayout(t, path)
	}
	ref, err := directory.NewReference(path)
	if err != nil {
		t.Fatal(err)
	}
	return []savedImage{{ref: ref}}
}

func readSavedDockerArchive(t *testing.T, path string) []savedImage {
	t.Helper()
	reader, err := dockerarchive.NewReader(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reader.Close() })
	lists, err := reader.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []savedImage
	for _, refs := range lists {
		img := savedImage{ref: refs[0]}
		for _, ref := range refs {
			if named := ref.DockerReference(); named != nil {
				img.names = append(img.names, named.String())
			}
		}
		out = append(out, img)
	}
	return out
}

// readSavedLayout reads an OCI layout's index.json and checks that every entry carries both
// name annotations with the same value, or no annotation at all.
func readSavedLayout(t *testing.T, dir string) []savedImage {
	t.Helper()
	var index imgspecv1.Index
	readSaveJSON(t, filepath.Join(dir, "index.json"), &index)
	var out []savedImage
	for k, desc := range index.Manifests {
		ref, err := layout.NewIndexReference(dir, k)
		if err != nil {
			t.Fatal(err)
		}
		refName, containerd := desc.Annotations[imgspecv1.AnnotationRefName], desc.Annotations[annotationContainerdName]
		if refName != containerd || len(desc.Annotations) != 2*min(len(refName), 1) {
			t.Errorf("index entry %d: annotations %v, want ref.name and io.containerd.image.name both set to the name, or none", k, desc.Annotations)
		}
		img := savedImage{ref: ref}
		if refName != "" {
			img.names = []string{refName}
		}
		out = append(out, img)
	}
	return out
}

// untarSaved extracts a tar of regular files and directories (what Save writes) to dir.
func untarSaved(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(target, dir) {
			t.Fatalf("entry %q leaves the archive", hdr.Name)
		}
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, target, string(body))
	}
}

// loadedRuntime returns a fresh runtime with archives loaded and the load events dropped.
func loadedRuntime(t testing.TB, archives ...string) (*Runtime, *recorder) {
	t.Helper()
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, archives...)
	rec.take()
	return rt, rec
}

// assertNoSaveTemp fails the test if dir holds a temp output ("."-prefixed) or the
// Runtime's temp dir holds anything.
func assertNoSaveTemp(t *testing.T, rt *Runtime, dir string) {
	t.Helper()
	for _, d := range []string{dir, rt.SystemContext().BigFilesTemporaryDir} {
		entries, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if d != dir || strings.HasPrefix(e.Name(), ".") {
				t.Errorf("left behind in %s: %s", d, e.Name())
			}
		}
	}
}

// compareWithPodmanInspect compares the fields of Inspect that depend neither on the manifest
// nor on the rest of the store with podman's recorded inspect output.
func compareWithPodmanInspect(t *testing.T, img *Image, stem string) {
	t.Helper()
	data, err := img.Inspect(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, want := asJSONMap(t, data), readRecordedInspect(t, stem)
	for _, field := range []string{"Id", "Created", "Config", "Version", "Author", "Architecture", "Os", "RootFS", "Labels", "User", "History"} {
		if !reflect.DeepEqual(got[field], want[field]) {
			t.Errorf("%s %s: got %v, podman recorded %v", stem, field, got[field], want[field])
		}
	}
}

func saveSHA256(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// recordedArchiveSHA256 returns the sha256 testdata/SHA256SUMS records for file.
func recordedArchiveSHA256(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(testdataPath("SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok && name == file {
			return sum
		}
	}
	t.Fatalf("no sum for %s", file)
	return ""
}

// TestSaveRoundTrip saves chain.multi's five names in each format, loads the result into a
// fresh store and finds the same four images with the same names, layers, history and config
// as podman recorded; docker-dir holds chain-top alone, unnamed.
func TestSaveRoundTrip(t *testing.T) {
	type want struct {
		stem  string
		names []string
	}
	var all []want
	for _, img := range saveChainImages {
		all = append(all, want{img.stem, img.names})
	}
	cases := []struct {
		format  SaveFormat
		names   []string
		want    []want
		entries int
	}{
		{DockerArchive, saveChainNames, all, 4},
		{OCIArchive, saveChainNames, all, 5},
		{OCIDir, saveChainNames, all, 5},
		{DockerDir, []string{"chain-top:v1"}, []want{{"chain-top", nil}}, 1},
	}
	for _, c := range cases {
		t.Run(string(c.format), func(t *testing.T) {
			rt, rec := loadedRuntime(t, "chain.multi.docker.tar")
			// As in a store another process filled: the Runtime's temp dir does not exist yet.
			if err := os.RemoveAll(rt.SystemContext().BigFilesTemporaryDir); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if err := rt.Save(context.Background(), c.names, path, &SaveOptions{Format: c.format}); err != nil {
				t.Fatal(err)
			}
			var wantEvents []Event
			var wantLoaded []LoadedImage
			for _, w := range c.want {
				id := readSaveFacts(t, w.stem).ID
				first := "localhost/chain-top:v1" // docker-dir: asked for as chain-top:v1
				if len(w.names) > 0 {
					first = w.names[0]
				}
				wantEvents = append(wantEvents, Event{Type: EventSave, ID: id, Name: first})
				wantLoaded = append(wantLoaded, LoadedImage{ID: id, Names: w.names})
			}
			if ev := rec.take(); !reflect.DeepEqual(ev, wantEvents) {
				t.Errorf("events %+v\nwant %+v", ev, wantEvents)
			}
			assertNoSaveTemp(t, rt, dir)
			if got := readSaved(t, path, c.format); len(got) != c.entries {
				t.Errorf("%d entries saved, want %d", len(got), c.entries)
			}
			rt2, _ := newTestRuntime(t)
			res, err := rt2.Load(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Images, wantLoaded) {
				t.Fatalf("loaded %+v\nwant %+v", res.Images, wantLoaded)
			}
			for _, w := range c.want {
				compareWithPodmanInspect(t, mustLookup(t, rt2, readSaveFacts(t, w.stem).ID), w.stem)
			}
		})
	}
}

// TestSaveDockerArchiveMatchesPodman: a docker-archive save is byte for byte what podman 4.3
// saved, for every single-image archive and for `podman save -m` of chain.multi's names.
func TestSaveDockerArchiveMatchesPodman(t *testing.T) {
	type archive struct {
		file  string
		names []string
	}
	cases := []archive{{"chain.multi.docker.tar", saveChainNames}}
	for _, img := range recordedImages {
		cases = append(cases, archive{img.stem + ".docker.tar", []string{img.name}})
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			rt, _ := loadedRuntime(t, c.file)
			path := filepath.Join(t.TempDir(), "out.tar")
			if err := rt.Save(context.Background(), c.names, path, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := saveSHA256(t, path), recordedArchiveSHA256(t, c.file); got != want {
				t.Errorf("sha256 %s, podman's archive %s", got, want)
			}
		})
	}
}

// gzipDiffers lists the layers (by diff ID) whose gzip bytes differ from podman 4.3's: the
// busybox layer, the only one over 1 MiB, which pgzip compresses in several blocks. Debian's
// skopeo 1.9.3 gzips it to podman's bytes too, so the difference is the compression library
// (pgzip 1.2.7 and klauspost/compress 1.20.3 here). Every other layer matches byte for byte.
var gzipDiffers = map[string]bool{"sha256:390f3de514efd0b41e2cd6461c2bf2082d6d4a4ab034d02a88a2018a040723d2": true}

// TestSaveMatchesSkopeoRecord saves each recorded image in each format and checks that what
// skopeo inspect says of our file is what it said of podman's: the same created time, labels,
// platform, env and layers, and for docker-archive the same manifest digest. OCI manifests
// differ from podman's (it saved from the build store, whose manifests carry buildah's
// base-image annotations), so their digests are not compared.
func TestSaveMatchesSkopeoRecord(t *testing.T) {
	for _, img := range recordedImages {
		rt, _ := loadedRuntime(t, img.stem+".docker.tar")
		recorded := recordedSkopeo(t, img.stem)
		diffIDs := readSaveFacts(t, img.stem).DiffIDs
		for _, format := range []SaveFormat{DockerArchive, OCIArchive, OCIDir} {
			t.Run(img.stem+"/"+string(format), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "out")
				if err := rt.Save(context.Background(), []string{img.name}, path, &SaveOptions{Format: format}); err != nil {
					t.Fatal(err)
				}
				saved := readSaved(t, path, format)
				if len(saved) != 1 || !reflect.DeepEqual(saved[0].names, []string{img.name}) {
					t.Fatalf("saved %+v", saved)
				}
				got, want := inspectSavedRef(t, saved[0].ref), recorded[format]
				if format != DockerArchive {
					got.Digest, want.Digest = "", ""
					want.Layers = append([]string(nil), want.Layers...)
					for k := range want.Layers {
						if k < len(got.Layers) && gzipDiffers[diffIDs[k]] {
							want.Layers[k] = got.Layers[k]
						}
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("skopeo would say\n%+v\nit said of podman's file\n%+v", got, want)
				}
			})
		}
	}
}

// TestSaveNamesAndIDs: each image is written once, in the order it is first named, with the
// names it was asked for by; an image asked for by ID or ID prefix only is written unnamed; a
// digested name is written to OCI indexes but cannot be to a docker-archive.
func TestSaveNamesAndIDs(t *testing.T) {
	busybox, base, top := readSaveFacts(t, "busybox").ID, readSaveFacts(t, "chain-base").ID, readSaveFacts(t, "chain-top").ID
	v1, latest := "localhost/chain-top:v1", "localhost/chain-top:latest"
	for _, format := range []SaveFormat{DockerArchive, OCIArchive, OCIDir} {
		t.Run(string(format), func(t *testing.T) {
			rt, rec := loadedRuntime(t, "chain.multi.docker.tar")
			digested := "localhost/chain-top@" + mustLookup(t, rt, top).Digest().String()
			names := []string{"chain-top:v1", busybox[:12], "chain-top", top, "sha256:" + base, digested, "chain-top:v1"}
			path := filepath.Join(t.TempDir(), "out")
			if err := rt.Save(context.Background(), names, path, &SaveOptions{Format: format}); err != nil {
				t.Fatal(err)
			}
			wantSaved := []LoadedImage{{ID: top, Names: []string{v1}}, {ID: top, Names: []string{latest}},
				{ID: top, Names: []string{digested}}, {ID: busybox}, {ID: base}}
			wantLoaded := []LoadedImage{{ID: top, Names: []string{v1, latest, digested}}, {ID: busybox}, {ID: base}}
			if format == DockerArchive {
				wantSaved = []LoadedImage{{ID: top, Names: []string{v1, latest}}, {ID: busybox}, {ID: base}}
				wantLoaded[0].Names = []string{v1, latest}
			}
			var saved []LoadedImage
			for _, s := range readSaved(t, path, format) {
				id, err := configID(context.Background(), nil, s.ref)
				if err != nil {
					t.Fatal(err)
				}
				saved = append(saved, LoadedImage{ID: id, Names: s.names})
			}
			if !reflect.DeepEqual(saved, wantSaved) {
				t.Errorf("saved %+v\nwant %+v", saved, wantSaved)
			}
			if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventSave, ID: top, Name: v1},
				{Type: EventSave, ID: busybox}, {Type: EventSave, ID: base}}) {
				t.Errorf("events %+v", ev)
			}
			rt2, _ := newTestRuntime(t)
			if res, err := rt2.Load(context.Background(), path, nil); err != nil || !reflect.DeepEqual(res.Images, wantLoaded) {
				t.Errorf("loaded %+v, %v\nwant %+v", res, err, wantLoaded)
			}
		})
	}
}

// TestSaveAdditionalTags: extra tags are normalized and follow the names asked for; a name
// given twice is written once.
func TestSaveAdditionalTags(t *testing.T) {
	want := []string{"localhost/busybox:latest", "quay.io/x/bb:1", "localhost/extra:latest"}
	id := readSaveFacts(t, "busybox").ID
	for _, format := range []SaveFormat{DockerArchive, OCIArchive, OCIDir} {
		t.Run(string(format), func(t *testing.T) {
			rt, rec := loadedRuntime(t, "busybox.docker.tar")
			path := filepath.Join(t.TempDir(), "out")
			opts := &SaveOptions{Format: format, AdditionalTags: []string{"quay.io/x/bb:1", "extra", "busybox"}}
			if err := rt.Save(context.Background(), []string{"busybox", "localhost/busybox:latest"}, path, opts); err != nil {
				t.Fatal(err)
			}
			if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventSave, ID: id, Name: want[0]}}) {
				t.Errorf("events %+v", ev)
			}
			rt2, _ := newTestRuntime(t)
			res, err := rt2.Load(context.Background(), path, nil)
			if err != nil || !reflect.DeepEqual(res.Images, []LoadedImage{{ID: id, Names: want}}) {
				t.Errorf("loaded %+v, %v", res, err)
			}
		})
	}
}

// savePathState describes what is at path (type, link target, content or entries), to prove
// a failed save left it alone.
func savePathState(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			t.Fatal(err)
		}
		return "link " + target
	case fi.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return "dir " + strings.Join(names, ",")
	case fi.Mode().IsRegular():
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return "file " + string(raw)
	}
	return "special " + fi.Mode().String()
}

// TestSaveErrors: bad requests fail with an error naming what is wrong and wrapping the
// documented sentinel, before anything is written: the store, the destination and the temp
// dirs are as they were, and no event is written.
func TestSaveErrors(t *testing.T) {
	rt, rec := loadedRuntime(t, "chain.multi.docker.tar")
	before := snapshotStore(t, rt)
	two := []string{"busybox", "chain-base"}
	nonEmpty := func(t *testing.T, p string) {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(p, "keep"), "mine")
	}
	cases := []struct {
		name     string
		names    []string
		opts     SaveOptions
		prepare  func(t *testing.T, path string)
		path     func(dir string) string
		sentinel error
		mention  string
	}{
		{name: "no names", sentinel: ErrInvalidSaveRequest, mention: "no image names"},
		{name: "no path", names: two, path: func(string) string { return "" }, sentinel: ErrInvalidSaveRequest, mention: "no destination path"},
		{name: "unknown format", names: two, opts: SaveOptions{Format: "tarball"}, sentinel: ErrUnsupportedFormat, mention: `"tarball"`},
		{name: "unknown name", names: []string{"busybox", "nosuch:1"}, sentinel: ErrImageUnknown, mention: `"nosuch:1"`},
		{name: "empty name", names: []string{"busybox", ""}, sentinel: ErrInvalidName, mention: `""`},
		{name: "tags for two images", names: two, opts: SaveOptions{AdditionalTags: []string{"x:1"}}, sentinel: ErrInvalidSaveRequest, mention: "2 requested"},
		{name: "docker-dir with two images", names: two, opts: SaveOptions{Format: DockerDir}, sentinel: ErrInvalidSaveRequest, mention: "2 requested"},
		{name: "compress docker-archive", names: two, opts: SaveOptions{Compress: true}, sentinel: ErrInvalidSaveRequest, mention: "docker-archive"},
		{name: "uncompressed docker-dir", names: two[:1], opts: SaveOptions{Format: DockerDir, Uncompressed: true}, sentinel: ErrInvalidSaveRequest, mention: "docker-dir"},
		{name: "tags for docker-dir", names: two[:1], opts: SaveOptions{Format: DockerDir, AdditionalTags: []string{"x:1"}}, sentinel: ErrInvalidSaveRequest, mention: `"x:1"`},
		{name: "invalid tag", names: two[:1], opts: SaveOptions{AdditionalTags: []string{"Upper:1"}}, sentinel: ErrInvalidName, mention: `"Upper:1"`},
		{name: "digested tag", names: two[:1], opts: SaveOptions{AdditionalTags: []string{"x@sha256:" + strings.Repeat("a", 64)}}, sentinel: ErrInvalidName, mention: "x@sha256"},
		{name: "missing directory", names: two, path: func(dir string) string { return filepath.Join(dir, "missing", "out") }, sentinel: os.ErrNotExist, mention: "destination directory"},
		{name: "non-empty dir", names: two, prepare: nonEmpty, sentinel: ErrDestinationExists, mention: "not empty"},
		{name: "non-empty dir, oci-dir", names: two, opts: SaveOptions{Format: OCIDir}, prepare: nonEmpty, sentinel: ErrDestinationExists, mention: "not empty"},
		{name: "link to a device", names: two, prepare: func(t *testing.T, p string) {
			if err := os.Symlink("/dev/null", p); err != nil {
				t.Fatal(err)
			}
		}, sentinel: ErrDestinationExists, mention: "device"},
		{name: "pipe", names: two, prepare: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, sentinel: ErrDestinationExists, mention: "pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if c.path != nil {
				path = c.path(dir)
			}
			if c.prepare != nil {
				c.prepare(t, path)
			}
			state := savePathState(t, path)
			err := rt.Save(context.Background(), c.names, path, &c.opts)
			if err == nil {
				t.Fatal("saved")
			}
			t.Log(err)
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error does not wrap %v", c.sentinel)
			}
			if !strings.Contains(err.Error(), c.mention) || !strings.Contains(err.Error(), path) {
				t.Errorf("error does not mention %q and the path", c.mention)
			}
			if got := savePathState(t, path); got != state {
				t.Errorf("destination was %q, now %q", state, got)
			}
			assertUnchanged(t, rt, before)
			assertNoSaveTemp(t, rt, dir)
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("events after a failed save: %+v", ev)
			}
		})
	}
}

// TestSaveReplacesDestination: an existing file, an empty dir and a symbolic link (dangling,
// to a file, to a dir) are replaced by the output, whatever the format; a link's target is
// never touched.
func TestSaveReplacesDestination(t *testing.T) {
	rt, _ := loadedRuntime(t, "tiny.docker.tar")
	id := readSaveFacts(t, "tiny").ID
	link := func(target string) func(t *testing.T, path, elsewhere string) {
		return func(t *testing.T, path, elsewhere string) {
			writeFile(t, filepath.Join(elsewhere, "precious"), "precious")
			if err := os.Symlink(filepath.Join(elsewhere, target), path); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, path, elsewhere string)
	}{
		{"file", func(t *testing.T, path, _ string) { writeFile(t, path, "old content") }},
		{"empty dir", func(t *testing.T, path, _ string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling link", link("nothing")},
		{"link to a file", link("precious")},
		{"link to a dir", link(".")},
	}
	for _, c := range cases {
		for _, format := range []SaveFormat{DockerArchive, OCIArchive, OCIDir, DockerDir} {
			t.Run(c.name+"/"+string(format), func(t *testing.T) {
				dir, elsewhere := t.TempDir(), t.TempDir()
				path := filepath.Join(dir, "out")
				c.prepare(t, path, elsewhere)
				outside := savePathState(t, elsewhere) + "|" + savePathState(t, filepath.Join(elsewhere, "precious"))
				if err := rt.Save(context.Background(), []string{"tiny"}, path, &SaveOptions{Format: format}); err != nil {
					t.Fatal(err)
				}
				fi, err := os.Lstat(path)
				wantDir := format == OCIDir || format == DockerDir
				if err != nil || fi.IsDir() != wantDir || (!wantDir && !fi.Mode().IsRegular()) {
					t.Fatalf("destination is %v (%v), want a dir: %v", fi.Mode(), err, wantDir)
				}
				if now := savePathState(t, elsewhere) + "|" + savePathState(t, filepath.Join(elsewhere, "precious")); now != outside {
					t.Errorf("outside the destination: was %q, now %q", outside, now)
				}
				assertNoSaveTemp(t, rt, dir)
				rt2, _ := newTestRuntime(t)
				if res, err := rt2.Load(context.Background(), path, nil); err != nil || len(res.Images) != 1 || res.Images[0].ID != id {
					t.Errorf("loading the output: %+v, %v", res, err)
				}
			})
		}
	}
}

// saveHookWriter is a ReportWriter that runs a function on its first write.
type saveHookWriter struct {
	once sync.Once
	fn   func()
}

func (w *saveHookWriter) Write(p []byte) (int, error) {
	w.once.Do(w.fn)
	return len(p), nil
}

// TestSaveInterrupted: a save cancelled while copying, or whose destination became a
// non-empty dir while it ran, leaves no file at the destination (or the dir as it became),
// no temp file and no event.
func TestSaveInterrupted(t *testing.T) {
	rt, rec := loadedRuntime(t, "chain.multi.docker.tar")
	for _, format := range []SaveFormat{DockerArchive, OCIArchive, OCIDir, DockerDir} {
		t.Run("cancelled/"+string(format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := rt.Save(ctx, []string{"chain-top"}, path, &SaveOptions{Format: format, ReportWriter: &saveHookWriter{fn: cancel}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if got := savePathState(t, path); got != "absent" {
				t.Errorf("destination: %s", got)
			}
			assertNoSaveTemp(t, rt, dir)
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("events %+v", ev)
			}
		})
		t.Run("destination filled/"+string(format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			fill := func() { // checked below: the destination must hold exactly this
				_ = os.Mkdir(path, 0o755)
				_ = os.WriteFile(filepath.Join(path, "keep"), []byte("mine"), 0o644)
			}
			err := rt.Save(context.Background(), []string{"chain-top"}, path, &SaveOptions{Format: format, ReportWriter: &saveHookWriter{fn: fill}})
			if !errors.Is(err, ErrDestinationExists) {
				t.Fatalf("error %v, want ErrDestinationExists", err)
			}
			if got := savePathState(t, path); got != "dir keep" {
				t.Errorf("destination: %s", got)
			}
			assertNoSaveTemp(t, rt, dir)
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("events %+v", ev)
			}
		})
	}
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dir := t.TempDir()
		if err := rt.Save(ctx, []string{"busybox"}, filepath.Join(dir, "out"), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		assertNoSaveTemp(t, rt, dir)
	})
}

// TestSaveOCIArchiveLayout: an oci-archive holds the layout's directories and files in
// lexical order, owned by 0:0 with fixed modes and time, so saving twice gives the same bytes.
func TestSaveOCIArchiveLayout(t *testing.T) {
	rt, _ := loadedRuntime(t, "chain.multi.docker.tar")
	dir := t.TempDir()
	var sums []string
	for _, name := range []string{"a.tar", "b.tar"} {
		path := filepath.Join(dir, name)
		if err := rt.Save(context.Background(), saveChainNames, path, &SaveOptions{Format: OCIArchive}); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, saveSHA256(t, path))
	}
	if sums[0] != sums[1] {
		t.Errorf("two saves differ: %v", sums)
	}
	f, err := os.Open(filepath.Join(dir, "a.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		wantMode := map[byte]int64{tar.TypeDir: 0o755, tar.TypeReg: 0o644}[hdr.Typeflag]
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Mode != wantMode || !hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: type %c uid %d gid %d mode %o time %v", hdr.Name, hdr.Typeflag, hdr.Uid, hdr.Gid, hdr.Mode, hdr.ModTime)
		}
		names = append(names, hdr.Name)
	}
	// 4 configs, 4 manifests and 4 distinct layers: 12 blobs.
	if len(names) != 2+12+2 || names[0] != "blobs/" || names[1] != "blobs/sha256/" ||
		names[14] != "index.json" || names[15] != "oci-layout" || !sort.StringsAreSorted(names) {
		t.Errorf("entries %q", names)
	}
}

// TestSaveLayerCompression: docker-dir keeps the store's uncompressed layers unless
// Compress; the OCI formats gzip them unless Uncompressed. Either way the image loads back
// the same.
func TestSaveLayerCompression(t *testing.T) {
	f := readSaveFacts(t, "chain-top")
	cases := []struct {
		name      string
		opts      SaveOptions
		mediaType string
		diffIDs   bool // the layer digests are the diff IDs (uncompressed)
	}{
		{"docker-dir", SaveOptions{Format: DockerDir}, manifest.DockerV2SchemaLayerMediaTypeUncompressed, true},
		{"docker-dir compressed", SaveOptions{Format: DockerDir, Compress: true}, manifest.DockerV2Schema2LayerMediaType, false},
		{"oci-dir", SaveOptions{Format: OCIDir}, imgspecv1.MediaTypeImageLayerGzip, false},
		{"oci-dir uncompressed", SaveOptions{Format: OCIDir, Uncompressed: true}, imgspecv1.MediaTypeImageLayer, true},
	}
	rt, _ := loadedRuntime(t, "chain.multi.docker.tar")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out")
			if err := rt.Save(context.Background(), []string{"chain-top"}, path, &c.opts); err != nil {
				t.Fatal(err)
			}
			img, err := readSaved(t, path, c.opts.Format)[0].ref.NewImage(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			var digests []string
			for _, l := range img.LayerInfos() {
				digests = append(digests, l.Digest.String())
				if l.MediaType != c.mediaType {
					t.Errorf("layer %s: media type %s, want %s", l.Digest, l.MediaType, c.mediaType)
				}
			}
			if reflect.DeepEqual(digests, f.DiffIDs) != c.diffIDs {
				t.Errorf("layer digests %v, diff IDs %v", digests, f.DiffIDs)
			}
			rt2, _ := newTestRuntime(t)
			if res, err := rt2.Load(context.Background(), path, nil); err != nil || len(res.Images) != 1 || res.Images[0].ID != f.ID {
				t.Errorf("loading the output: %+v, %v", res, err)
			}
		})
	}
}

// TestSaveOCISharedLayers: in a multi-image OCI save, an image whose layers another image
// already wrote gets exactly the manifest it gets when saved alone, and the layout holds each
// blob once.
func TestSaveOCISharedLayers(t *testing.T) {
	rt, _ := loadedRuntime(t, "chain.multi.docker.tar")
	all := filepath.Join(t.TempDir(), "all")
	if err := rt.Save(context.Background(), saveChainNames[:4], all, &SaveOptions{Format: OCIDir}); err != nil {
		t.Fatal(err)
	}
	var index imgspecv1.Index
	readSaveJSON(t, filepath.Join(all, "index.json"), &index)
	blobs := map[string]bool{}
	for k, name := range saveChainNames[:4] {
		alone := filepath.Join(t.TempDir(), "alone")
		if err := rt.Save(context.Background(), []string{name}, alone, &SaveOptions{Format: OCIDir}); err != nil {
			t.Fatal(err)
		}
		var single imgspecv1.Index
		readSaveJSON(t, filepath.Join(alone, "index.json"), &single)
		if got, want := index.Manifests[k].Digest, single.Manifests[0].Digest; got != want {
			t.Errorf("%s: manifest %s in the multi-image layout, %s alone", name, got, want)
		}
		entries, err := os.ReadDir(filepath.Join(alone, "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			blobs[e.Name()] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(all, "blobs", "sha256"))
	if err != nil || len(entries) != len(blobs) || len(blobs) != 12 {
		t.Errorf("%d blobs in the layout (%v), %d distinct in the single saves, want 12", len(entries), err, len(blobs))
	}
}

// TestReusingDestination: a layer already written is found by its diff ID, as the gzip blob;
// any other blob is looked up in the layout.
func TestReusingDestination(t *testing.T) {
	ref, err := layout.NewReference(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	diffID, gz := digest.FromString("layer"), digest.FromString("gzip layer")
	blob := types.BlobInfo{Digest: gz, Size: 10, CompressionOperation: types.Compress, CompressionAlgorithm: &compression.Gzip}
	dest, err := reusingReference{ImageReference: ref, written: map[digest.Digest]types.BlobInfo{diffID: blob}}.NewImageDestination(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	cases := []struct {
		digest        digest.Digest
		canSubstitute bool
		reused        bool
	}{{diffID, true, true}, {diffID, false, false}, {digest.FromString("other"), true, false}}
	for _, c := range cases {
		reused, got, err := dest.TryReusingBlob(context.Background(), types.BlobInfo{Digest: c.digest}, nil, c.canSubstitute)
		if err != nil || reused != c.reused || (reused && !reflect.DeepEqual(got, blob)) {
			t.Errorf("%s (substitute %v): reused %v %+v, %v", c.digest, c.canSubstitute, reused, got, err)
		}
	}
}

// TestSaveReportWriter: c/image's progress lines go to the caller's writer.
func TestSaveReportWriter(t *testing.T) {
	rt, _ := loadedRuntime(t, "tiny.docker.tar")
	var report strings.Builder
	if err := rt.Save(context.Background(), []string{"tiny"}, filepath.Join(t.TempDir(), "out"), &SaveOptions{ReportWriter: &report}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Copying blob", "Copying config", "Writing manifest"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report %q lacks %q", report.String(), want)
		}
	}
}

// BenchmarkSave saves chain.multi's four images (five names, 2.2 MB of layers, the busybox
// layer shared by all four) as docker-archive and oci-archive.
func BenchmarkSave(b *testing.B) {
	rt, _ := loadedRuntime(b, "chain.multi.docker.tar")
	for _, format := range []SaveFormat{DockerArchive, OCIArchive} {
		b.Run(string(format), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "out")
			for b.Loop() {
				if err := rt.Save(context.Background(), saveChainNames, path, &SaveOptions{Format: format}); err != nil {
					b.Fatal(err)
				}
			}
			if fi, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(fi.Size()), "bytes/archive")
			}
		})
	}
}
