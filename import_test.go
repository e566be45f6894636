package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// The busybox image of testdata/ was made by `podman import` (shared commands.log) of the
// rootfs tarball that is its only layer; these are that import's inputs and podman's values.
const (
	busyboxLayer   = "390f3de514efd0b41e2cd6461c2bf2082d6d4a4ab034d02a88a2018a040723d2"
	busyboxID      = "63af6f693ec3870e85290581b6833db63c1ce023188891d41343e11100bf32af"
	busyboxMessage = "busybox v1.35.0 from Debian busybox-static"
	busyboxCreated = "2026-12-03T17:42:12.312764603Z"
	// busyboxManifest is the digest of the manifest podman 4.3 stored for the import
	// (shared testdata busybox.build-store.inspect.json, facts.json build_store_as_committed).
	busyboxManifest = digest.Digest("sha256:0a30a864874574ce7181a8e87a1ae5d3b09205a61b83d1bcb31ea97cd1394cb7")
)

var busyboxChanges = []string{`CMD ["sh"]`, "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// busyboxImportOptions are podman's import options, with the platform podman recorded so the
// tests do not depend on the host.
func busyboxImportOptions() *ImportOptions {
	return &ImportOptions{Changes: busyboxChanges, Message: busyboxMessage, OS: "linux", Arch: "amd64"}
}

// busyboxEntry returns the content of a file of testdata/busybox.docker.tar.
func busyboxEntry(t testing.TB, name string) []byte {
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
			t.Fatalf("no %s in busybox.docker.tar: %v", name, err)
		}
		if hdr.Name == name {
			raw, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
}

// busyboxRootfs writes the rootfs tarball podman imported (the layer file of
// testdata/busybox.docker.tar) to a temp dir and returns its path.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busybox-rootfs.tar")
	writeFile(t, path, string(busyboxEntry(t, busyboxLayer+".tar")))
	return path
}

// podmanConfig returns the config blob `podman import` wrote, as testdata/busybox.docker.tar
// carries it.
func podmanConfig(t *testing.T) []byte { return busyboxEntry(t, busyboxID+".json") }

// rawConfig returns the config blob stored for an image.
func rawConfig(t *testing.T, rt *Runtime, id string) []byte {
	t.Helper()
	raw, err := rt.store.ImageBigData(id, "sha256:"+id)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var createdField = regexp.MustCompile(`"created":"[^"]*"`)

// withCreated replaces every "created" time of a config blob.
func withCreated(raw []byte, created string) []byte {
	return createdField.ReplaceAll(raw, []byte(`"created":"`+created+`"`))
}

func mustImport(t testing.TB, rt *Runtime, source string, opts *ImportOptions) string {
	t.Helper()
	id, err := rt.Import(context.Background(), source, opts)
	if err != nil {
		t.Fatalf("importing %s: %v", source, err)
	}
	return id
}

// TestImportMatchesPodman imports the tarball podman imported, with the same changes and
// message: the config is podman's byte for byte except the created times, and with the file's
// time set to podman's it is podman's config exactly, so the image ID is podman's.
func TestImportMatchesPodman(t *testing.T) {
	rt, rec := newTestRuntime(t)
	rootfs := busyboxRootfs(t)
	want := podmanConfig(t)
	id := mustImport(t, rt, rootfs, busyboxImportOptions())
	got := rawConfig(t, rt, id)
	if !bytes.Equal(withCreated(got, busyboxCreated), want) {
		t.Errorf("config, created times aside:\n got %s\nwant %s", withCreated(got, busyboxCreated), want)
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventImport, ID: id}}) {
		t.Errorf("events %+v", ev)
	}
	created, err := time.Parse(time.RFC3339Nano, busyboxCreated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(rootfs, created, created); err != nil {
		t.Fatal(err)
	}
	if _, offset := created.Local().Zone(); offset != 0 {
		t.Skipf("local time zone is not UTC: c/image writes the file time in local time")
	}
	opts := busyboxImportOptions()
	opts.Name = "busybox"
	if id = mustImport(t, rt, rootfs, opts); id != busyboxID {
		t.Errorf("ID %s, podman's %s; config %s", id, busyboxID, rawConfig(t, rt, id))
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventImport, ID: busyboxID, Name: "localhost/busybox:latest"}}) {
		t.Errorf("events %+v", ev)
	}
	img := mustLookup(t, rt, "busybox")
	assertImportedBusybox(t, img)
	assertPodmanManifest(t, img)
}

// assertPodmanManifest: the stored manifest is podman's (digest busyboxManifest in its build
// store) plus the top-level mediaType that c/image's tarball transport now writes.
func assertPodmanManifest(t *testing.T, img *Image) {
	t.Helper()
	raw, mime, err := img.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mediaType := []byte(`"mediaType":"` + imgspecv1.MediaTypeImageManifest + `",`)
	podman := bytes.Replace(raw, mediaType, nil, 1)
	if got := digest.FromBytes(podman); got != busyboxManifest || mime != imgspecv1.MediaTypeImageManifest {
		t.Errorf("manifest %s (%s) without mediaType has digest %s, podman's %s", raw, mime, got, busyboxManifest)
	}
	if img.Digest() != digest.FromBytes(raw) {
		t.Errorf("Digest %s, manifest digest %s", img.Digest(), digest.FromBytes(raw))
	}
}

// assertImportedBusybox compares Inspect with what podman recorded for the imported busybox.
func assertImportedBusybox(t *testing.T, img *Image) {
	t.Helper()
	data, err := img.Inspect(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var recorded []ImageData
	raw, err := os.ReadFile(testdataPath("busybox.inspect.json"))
	if err != nil || json.Unmarshal(raw, &recorded) != nil || len(recorded) != 1 {
		t.Fatalf("reading busybox.inspect.json: %v", err)
	}
	r := recorded[0]
	checks := []struct {
		field     string
		got, want any
	}{
		{"Id", data.ID, r.ID},
		{"Config", data.Config, r.Config},
		{"RootFS", data.RootFS, r.RootFS},
		{"History", data.History, r.History},
		{"Created", data.Created.UTC(), r.Created.UTC()},
		{"Architecture", data.Architecture, r.Architecture},
		{"Os", data.Os, r.Os},
		{"RepoTags", data.RepoTags, r.RepoTags},
		{"Comment", data.Comment, busyboxMessage}, // podman's build store: OCI manifest, comment of the history
		{"ManifestType", data.ManifestType, imgspecv1.MediaTypeImageManifest},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, podman %v", c.field, c.got, c.want)
		}
	}
}

// TestImportNoOptions: no changes, no message, no name: an unnamed image on the running
// platform, with podman's default comment and an empty config.
func TestImportNoOptions(t *testing.T) {
	rt, rec := newTestRuntime(t)
	id := mustImport(t, rt, busyboxRootfs(t), nil)
	img := mustLookup(t, rt, id)
	if len(img.Names()) != 0 {
		t.Errorf("names %v, want none", img.Names())
	}
	cfg, err := img.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != runtime.GOOS || cfg.Architecture != runtime.GOARCH || cfg.Variant != "" {
		t.Errorf("platform %s/%s/%s", cfg.OS, cfg.Architecture, cfg.Variant)
	}
	if len(cfg.History) != 1 || cfg.History[0].Comment != "imported from tarball" || cfg.History[0].EmptyLayer {
		t.Errorf("history %+v", cfg.History)
	}
	if !reflect.DeepEqual(cfg.Config, imgspecv1.ImageConfig{}) {
		t.Errorf("config %+v, want empty", cfg.Config)
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{Type: EventImport, ID: id}}) {
		t.Errorf("events %+v", ev)
	}
}

// TestImportCompressed: the same rootfs plain, gzip, zstd, xz and bzip2 compressed gives the same
// layer (diff ID = the plain tarball's digest) and the same config apart from the times.
func TestImportCompressed(t *testing.T) {
	rt, _ := newTestRuntime(t)
	rootfs := busyboxRootfs(t)
	want := podmanConfig(t)
	var top string
	for _, algo := range []string{"none", "gzip", "zstd", "xz", "bzip2"} {
		t.Run(algo, func(t *testing.T) {
			path := rootfs
			if algo != "none" {
				path = compressFile(t, rootfs, algo)
			}
			id := mustImport(t, rt, path, busyboxImportOptions())
			if got := withCreated(rawConfig(t, rt, id), busyboxCreated); !bytes.Equal(got, want) {
				t.Errorf("config %s", got)
			}
			img := mustLookup(t, rt, id)
			if top == "" {
				top = img.TopLayer()
			}
			if img.TopLayer() != top {
				t.Errorf("top layer %s, want %s", img.TopLayer(), top)
			}
			layer, err := rt.store.Layer(img.TopLayer())
			if err != nil || layer.UncompressedDigest.Encoded() != busyboxLayer {
				t.Errorf("layer %+v, err %v", layer, err)
			}
		})
	}
}

// compressFile writes src compressed with algo beside src and returns the new path.
func compressFile(t testing.TB, src, algo string) string {
	t.Helper()
	in, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := src + "." + algo
	writeFile(t, dst, string(compress(t, in, algo)))
	return dst
}

// compress compresses data with c/image's compressor for algo, or the bzip2 command (c/image
// reads bzip2 but cannot write it).
func compress(t testing.TB, data []byte, algo string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if algo == "bzip2" {
		bzip2, err := exec.LookPath("bzip2")
		if err != nil {
			t.Skip("no bzip2 command")
		}
		cmd := exec.Command(bzip2, "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data), &buf
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a := map[string]compression.Algorithm{"gzip": compression.Gzip, "zstd": compression.Zstd, "xz": compression.Xz}[algo]
	w, err := compression.CompressStream(&buf, a, nil)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatalf("compressing with %s: %v", algo, err)
	}
	return buf.Bytes()
}

// TestImportSources: a path with ":" (the tarball transport splits at ":"), a reader, an
// http URL and an https URL all give the busybox layer and config.
func TestImportSources(t *testing.T) {
	rootfs := busyboxRootfs(t)
	content, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	colon := filepath.Join(t.TempDir(), "busybox:1.35.tar")
	writeFile(t, colon, string(content))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rootfs.tar" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(content)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	cases := []struct {
		name, source string
		reader       io.Reader
	}{
		{"path with colon", colon, nil},
		{"reader", "-", bytes.NewReader(content)},
		{"http", srv.URL + "/rootfs.tar", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			opts := busyboxImportOptions()
			opts.Reader = c.reader
			opts.Name = "imported:" + strings.ReplaceAll(c.name, " ", "-")
			id := mustImport(t, rt, c.source, opts)
			if got := withCreated(rawConfig(t, rt, id), busyboxCreated); !bytes.Equal(got, podmanConfig(t)) {
				t.Errorf("config %s", got)
			}
			if ev := rec.take(); len(ev) != 1 || ev[0].Name != "localhost/"+opts.Name {
				t.Errorf("events %+v", ev)
			}
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
		})
	}
}

// TestImportName: a short name is stored under localhost/, a name another image held moves
// (with an untag event for that image), a digested name is refused.
func TestImportName(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	tiny := mustLookup(t, rt, "tiny").ID()
	rec.take()
	id := mustImport(t, rt, busyboxRootfs(t), &ImportOptions{Name: "tiny"})
	if got := mustLookup(t, rt, id).Names(); !reflect.DeepEqual(got, []string{"localhost/tiny:latest"}) {
		t.Errorf("names %v", got)
	}
	want := []Event{{Type: EventImport, ID: id, Name: "localhost/tiny:latest"},
		{Type: EventUntag, ID: tiny, Name: "localhost/tiny:latest"}}
	if ev := rec.take(); !reflect.DeepEqual(ev, want) {
		t.Errorf("events %+v, want %+v", ev, want)
	}
	if got := mustLookup(t, rt, tiny).Names(); len(got) != 0 {
		t.Errorf("tiny kept %v", got)
	}
	id2 := mustImport(t, rt, busyboxRootfs(t), &ImportOptions{Name: "quay.io/x/bb:2"})
	if got := mustLookup(t, rt, id2).Names(); !reflect.DeepEqual(got, []string{"quay.io/x/bb:2"}) {
		t.Errorf("names %v", got)
	}
}

// TestImportBadInput: every bad input fails with an error that quotes the source and wraps
// the right sentinel, and leaves the store, the temp dir and the events as they were.
func TestImportBadInput(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	rec.take()
	before := snapshotStore(t, rt)
	dir := t.TempDir()
	rootfs := busyboxRootfs(t)
	full, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	gz := compress(t, full, "gzip")
	files := map[string][]byte{
		"empty.tar":     nil,
		"garbage.tar":   []byte(strings.Repeat("this is not a tar archive\n", 100)),
		"short.tar":     []byte("x"),
		"truncated.tar": full[:len(full)/2],
		"truncated.gz":  gz[:len(gz)/2],
		"trunc:ated.gz": gz[:len(gz)/2],
		"empty.gz":      compress(t, nil, "gzip"),
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), string(content))
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	cases := []struct {
		name, source string
		opts         ImportOptions
		sentinel     error
		mention      []string
	}{
		{"missing", filepath.Join(dir, "missing.tar"), ImportOptions{}, fs.ErrNotExist, nil},
		{"directory", dir, ImportOptions{}, ErrNotTarball, []string{"a directory", "not a tar archive"}},
		{"empty", filepath.Join(dir, "empty.tar"), ImportOptions{}, ErrNotTarball, []string{"empty"}},
		{"garbage", filepath.Join(dir, "garbage.tar"), ImportOptions{}, ErrNotTarball, []string{"tar"}},
		{"short", filepath.Join(dir, "short.tar"), ImportOptions{}, ErrNotTarball, nil},
		{"empty gzip", filepath.Join(dir, "empty.gz"), ImportOptions{}, ErrNotTarball, nil},
		{"truncated", filepath.Join(dir, "truncated.tar"), ImportOptions{}, nil, nil},
		{"truncated gzip", filepath.Join(dir, "truncated.gz"), ImportOptions{}, nil, nil},
		{"truncated gzip, path with colon", filepath.Join(dir, "trunc:ated.gz"), ImportOptions{}, nil, nil},
		{"truncated reader", "-", ImportOptions{Reader: bytes.NewReader(full[:len(full)/2])}, nil, nil},
		{"404", srv.URL + "/rootfs.tar", ImportOptions{}, ErrImportSource, []string{"404 Not Found"}},
		{"password hidden", "http://user:secret@" + strings.TrimPrefix(srv.URL, "http://") + "/x.tar", ImportOptions{}, ErrImportSource, []string{"404"}},
		{"https, untrusted", tlsSrv.URL + "/rootfs.tar", ImportOptions{}, ErrImportSource, []string{"certificate"}},
		{"ftp", "ftp://127.0.0.1/rootfs.tar", ImportOptions{}, ErrImportSource, []string{`"ftp"`}},
		{"no reader", "-", ImportOptions{}, ErrImportSource, []string{"Reader"}},
		{"empty reader", "-", ImportOptions{Reader: strings.NewReader("")}, ErrUnsupportedFormat, nil},
		{"empty source", "", ImportOptions{}, ErrImportSource, nil},
		{"bad change", rootfs, ImportOptions{Changes: []string{"CMD sh", "FROM busybox"}}, ErrInvalidChange, []string{"FROM"}},
		{"bad env", rootfs, ImportOptions{Changes: []string{`ENV A="unterminated`}}, ErrInvalidChange, []string{"ENV"}},
		{"bad name", rootfs, ImportOptions{Name: "Bad/Name"}, ErrInvalidName, []string{"Bad/Name"}},
		{"digested name", rootfs, ImportOptions{Name: "x@sha256:" + strings.Repeat("a", 64)}, ErrInvalidName, nil},
		{"bad platform", rootfs, ImportOptions{OS: "lin/ux"}, ErrInvalidPlatform, []string{"lin/ux"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rt.Import(context.Background(), c.source, &c.opts)
			if err == nil {
				t.Fatal("imported")
			}
			t.Log(err)
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
			for _, m := range append(c.mention, redactURL(c.source)) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
			if tmp := filepath.Join(rt.store.GraphRoot(), "image-tmp"); strings.Contains(err.Error(), tmp) {
				t.Errorf("error %q names a temp file of the import instead of the source", err)
			}
			assertImportLeftNothing(t, rt, rec, before)
		})
	}
}

// assertImportLeftNothing checks what a failed import must leave: the store as it was, the
// Runtime's temp dir empty, no event.
func assertImportLeftNothing(t *testing.T, rt *Runtime, rec *recorder, before storeState) {
	t.Helper()
	assertUnchanged(t, rt, before)
	assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
	if ev := rec.take(); len(ev) != 0 {
		t.Errorf("events after a failed import: %+v", ev)
	}
}

// TestImportEmptyArchive: a tar with no entries (its end marker only) is a valid rootfs, as
// podman and Docker accept it.
func TestImportEmptyArchive(t *testing.T) {
	rt, _ := newTestRuntime(t)
	var buf bytes.Buffer
	if err := tar.NewWriter(&buf).Close(); err != nil {
		t.Fatal(err)
	}
	id := mustImport(t, rt, "-", &ImportOptions{Reader: &buf})
	cfg, err := mustLookup(t, rt, id).Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(make([]byte, 1024))
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != digest.Digest("sha256:"+hex.EncodeToString(empty[:])) {
		t.Errorf("diff IDs %v", cfg.RootFS.DiffIDs)
	}
}

// TestImportCancelled: a cancelled context fails the import and changes nothing.
func TestImportCancelled(t *testing.T) {
	rt, rec := newTestRuntime(t)
	before := snapshotStore(t, rt)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rootfs := busyboxRootfs(t)
	content, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{rootfs, "-"} {
		if _, err := rt.Import(ctx, source, &ImportOptions{Reader: bytes.NewReader(content)}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want context.Canceled", source, err)
		}
	}
	assertImportLeftNothing(t, rt, rec, before)
}

// TestImportConcurrent: ten goroutines import the same tarball at once, from the file (one
// image: same bytes, same time) and from readers (each its own creation time, so its own
// image), half unnamed, half with distinct names; all succeed, and every image exists on the
// same layer.
func TestImportConcurrent(t *testing.T) {
	rt, rec := newTestRuntime(t)
	rootfs := busyboxRootfs(t)
	content, err := os.ReadFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := &ImportOptions{Changes: busyboxChanges}
			if k%2 == 1 {
				opts.Name = fmt.Sprintf("concurrent:%d", k)
			}
			source := rootfs
			if k%4 >= 2 {
				source, opts.Reader = "-", bytes.NewReader(content)
			}
			ids[k], errs[k] = rt.Import(context.Background(), source, opts)
		}()
	}
	wg.Wait()
	top := ""
	for k := 0; k < n; k++ {
		if errs[k] != nil {
			t.Errorf("import %d: %v", k, errs[k])
			continue
		}
		img := mustLookup(t, rt, ids[k])
		if top == "" {
			top = img.TopLayer()
		}
		if img.TopLayer() != top {
			t.Errorf("import %d: top layer %s, others %s", k, img.TopLayer(), top)
		}
		if k%2 == 1 {
			if want := fmt.Sprintf("localhost/concurrent:%d", k); !hasName(img.snapshot(), want) {
				t.Errorf("import %d: names %v lack %s", k, img.Names(), want)
			}
		}
	}
	if ev := rec.take(); len(ev) != n {
		t.Errorf("%d events, want %d", len(ev), n)
	}
	assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
}

// BenchmarkImport imports the busybox rootfs tarball (2 MB, about 400 entries) into a vfs
// store; the image is removed between iterations so every one writes its layer.
func BenchmarkImport(b *testing.B) {
	rt, _ := newTestRuntime(b)
	rootfs := busyboxRootfs(b)
	fi, err := os.Stat(rootfs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		id := mustImport(b, rt, rootfs, &ImportOptions{Changes: busyboxChanges})
		b.StopTimer()
		if _, err := rt.store.DeleteImage(id, true); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// ExampleRuntime_Import imports a rootfs tarball from a reader, with podman's --change syntax.
func ExampleRuntime_Import() {
	dir, err := os.MkdirTemp("", "import-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(testPolicy), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	rt, err := NewRuntimeFromStoreOptions(storage.StoreOptions{
		GraphRoot: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), GraphDriverName: "vfs",
	}, &RuntimeOptions{SystemContext: &types.SystemContext{SignaturePolicyPath: policy}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = rt.Shutdown(true) }()

	var rootfs bytes.Buffer // a rootfs with one file
	tw := tar.NewWriter(&rootfs)
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 6})
	_, _ = tw.Write([]byte("hello\n"))
	_ = tw.Close()

	id, err := rt.Import(context.Background(), "-", &ImportOptions{
		Reader:  &rootfs,
		Changes: []string{"CMD cat /hello.txt", "ENV GREETING=hello"},
		Message: "made by an example",
		Name:    "hello",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	img, resolved, err := rt.LookupImage("hello", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := img.Config(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resolved, img.ID() == id)
	fmt.Printf("%q %q\n", cfg.Config.Cmd, cfg.Config.Env)
	fmt.Println(cfg.History[0].Comment)
	// Output:
	// localhost/hello:latest true
	// ["/bin/sh" "-c" "cat /hello.txt"] ["GREETING=hello"]
	// made by an example
}

// TestErrNotTarballIsUnsupportedFormat: callers that test Import's errors with
// ErrUnsupportedFormat, as before ErrNotTarball existed, still match.
func TestErrNotTarballIsUnsupportedFormat(t *testing.T) {
	err := fmt.Errorf("importing %q: empty file: %w", "x", ErrNotTarball)
	if !errors.Is(err, ErrUnsupportedFormat) || !errors.Is(err, ErrNotTarball) || errors.Is(ErrUnsupportedFormat, ErrNotTarball) {
		t.Fatalf("errors.Is: %v", err)
	}
}
