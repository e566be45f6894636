package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

// hostileFigures counts what issue 6 asks to report of the hostile-input table.
type hostileFigures struct {
	inputs, escapes, panics, changed atomic.Int64
}

// try runs one entry point on one input, turning a panic into a failure that is counted.
func (f *hostileFigures) try(t *testing.T, op func() error) (err error) {
	t.Helper()
	f.inputs.Add(1)
	defer func() {
		if p := recover(); p != nil {
			f.panics.Add(1)
			t.Errorf("panic: %v", p)
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return op()
}

// settle checks what an input left: the store as before it unless it was accepted, the
// world outside untouched; and counts what was wrong.
func (f *hostileFigures) settle(t *testing.T, rt *Runtime, before storeState, accepted bool, o *outside) {
	t.Helper()
	if !accepted && !reflect.DeepEqual(snapshotStore(t, rt), before) {
		f.changed.Add(1)
		t.Errorf("store changed by a refused input:\n%+v\nwas\n%+v", snapshotStore(t, rt), before)
	}
	if o != nil {
		failed := t.Failed()
		o.check(t)
		if !failed && t.Failed() {
			f.escapes.Add(1)
		}
	}
	assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
}

// TestHostileEntryPoints runs the hostile layers of the corpus (TestLoadHostile runs them
// through Load) through Import (the layer as a rootfs tarball) and Pull (the archive pushed
// to the test registry first), then bombs (decompression, layer count), malformed digests and
// a registry sending wrong bytes. Figures: inputs tried, escapes, panics, stores changed
// after a refusal; all but the first must be 0.
func TestHostileEntryPoints(t *testing.T) {
	ctx := context.Background()
	o := newOutside(t)
	reg := startRegistry(t, nil)
	var fig hostileFigures
	for _, c := range layerCases() {
		if !strings.HasPrefix(c.name, "layer-docker/") {
			continue
		}
		path := c.build(t, o)
		layer := entryBody(t, readEntries(t, path), o.layer+".tar")
		tarball := filepath.Join(t.TempDir(), "rootfs.tar")
		writeFile(t, tarball, string(layer))
		repo := reg.Host + "/hostile/" + strings.TrimPrefix(c.name, "layer-docker/")
		seed(t, reg, "docker-archive:"+path, strings.TrimPrefix(repo, reg.Host+"/")+":1")
		for _, entry := range []string{"import", "pull"} {
			t.Run(entry+"/"+strings.TrimPrefix(c.name, "layer-docker/"), func(t *testing.T) {
				rt, _ := newPullRuntime(t, reg.Host)
				before := snapshotStore(t, rt)
				var id string
				err := fig.try(t, func() (err error) {
					if entry == "import" {
						id, err = rt.Import(ctx, tarball, nil)
						return err
					}
					images, err := rt.Pull(ctx, repo+":1", PullAlways, nil)
					if err == nil {
						id = images[0].ID()
					}
					return err
				})
				switch {
				case c.confined != nil && err != nil:
					t.Errorf("legal input refused: %v", err)
				case c.confined != nil:
					c.confined(t, rt, id, o)
				case err == nil:
					t.Errorf("hostile layer accepted as %s", id)
				default:
					t.Log(err)
				}
				fig.settle(t, rt, before, c.confined != nil, o)
			})
		}
	}
	t.Run("decompression-bomb", func(t *testing.T) { hostileBomb(t, &fig) })
	t.Run("layer-count-bomb", func(t *testing.T) { hostileLayerCount(t, &fig) })
	t.Run("malformed-digests", func(t *testing.T) { hostileDigests(t, &fig, reg) })
	t.Run("wrong-bytes", func(t *testing.T) { hostileWrongBytes(t, &fig, reg) })
	t.Logf("hostile inputs through import, pull and bombs: %d tried, %d escapes, %d panics, %d stores changed after a refusal",
		fig.inputs.Load(), fig.escapes.Load(), fig.panics.Load(), fig.changed.Load())
}

// bombSize is what the decompression bomb expands to: 256 MiB of zeros in one file, about
// 250 KiB compressed.
const bombSize = 256 << 20

// writeBomb writes a gzip-compressed rootfs tarball holding one file of bombSize zeros.
func writeBomb(t *testing.T) (string, []byte, digest.Digest) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	diffID := digest.Canonical.Digester()
	tw := tar.NewWriter(io.MultiWriter(zw, diffID.Hash()))
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: bombSize}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for written := 0; written < bombSize; written += len(zeros) {
		if _, err := tw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := stderrorsJoin(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, raw, diffID.Digest()
}

func stderrorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hostileBomb: with MaxLayerUncompressedBytes, Load and Import refuse the bomb naming the
// layer before writing anything; without it, Load takes it with the heap bounded (c/storage
// streams the layer).
func hostileBomb(t *testing.T, fig *hostileFigures) {
	ctx := context.Background()
	tarball, raw, diffID := writeBomb(t)
	archive := withLayerAs(t, false, raw, diffID)
	const limit = 64 << 20
	for _, entry := range []string{"load", "import"} {
		rt, _ := newTestRuntime(t)
		before := snapshotStore(t, rt)
		err := fig.try(t, func() error {
			if entry == "load" {
				_, err := rt.Load(ctx, archive, &LoadOptions{MaxLayerUncompressedBytes: limit})
				return err
			}
			_, err := rt.Import(ctx, tarball, &ImportOptions{MaxLayerUncompressedBytes: limit})
			return err
		})
		if !errors.Is(err, ErrLayerTooLarge) {
			t.Errorf("%s of the bomb with a %d-byte limit: %v, want ErrLayerTooLarge", entry, limit, err)
		} else if entry == "load" && !strings.Contains(err.Error(), diffID.String()) { // a docker-archive's layers go by diff ID
			t.Errorf("load of the bomb: %v does not name the layer %s", err, diffID)
		}
		fig.settle(t, rt, before, false, nil)
	}
	// Without a limit the bomb loads, and the heap does not grow with it.
	rt, _ := newTestRuntime(t)
	peak := watchHeap()
	if err := fig.try(t, func() error { _, err := rt.Load(ctx, archive, nil); return err }); err != nil {
		t.Fatal(err)
	}
	if grew := peak(); grew > 64<<20 {
		t.Errorf("loading a %d MiB layer grew the heap by %d MiB", bombSize>>20, grew>>20)
	} else {
		t.Logf("loading the %d MiB bomb without a limit: heap grew by at most %d MiB", bombSize>>20, grew>>20)
	}
}

// watchHeap samples the heap until the returned function is called, which returns the most
// it grew over its size at the start.
func watchHeap() func() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	start := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > start && m.HeapInuse-start > peak.Load() {
					peak.Store(m.HeapInuse - start)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// hostileLayerCount: tiny's one layer listed MaxImageLayers+1 times is refused before
// anything is written.
func hostileLayerCount(t *testing.T, fig *hostileFigures) {
	docker := readEntries(t, testdataPath("tiny.docker.tar"))
	var config map[string]any
	if err := json.Unmarshal(entryBody(t, docker, tinyConfig), &config); err != nil {
		t.Fatal(err)
	}
	rootfs := config["rootfs"].(map[string]any)
	diffID := rootfs["diff_ids"].([]any)[0]
	var diffIDs []any
	var layers []string
	for k := 0; k <= MaxImageLayers; k++ {
		diffIDs, layers = append(diffIDs, diffID), append(layers, tinyLayer)
	}
	rootfs["diff_ids"] = diffIDs
	config["history"] = nil
	cfg := mustJSON(t, config)
	cfgName := digest.FromBytes(cfg).Encoded() + ".json"
	archive := writeArchive(t, editManifestJSON(t, append(docker, regEntry(cfgName, cfg)), func(items []map[string]any) {
		items[0]["Config"], items[0]["Layers"] = cfgName, layers
	}))
	rt, _ := newTestRuntime(t)
	before := snapshotStore(t, rt)
	err := fig.try(t, func() error { _, err := rt.Load(context.Background(), archive, nil); return err })
	if !errors.Is(err, ErrTooManyLayers) {
		t.Errorf("load of %d layers: %v, want ErrTooManyLayers", MaxImageLayers+1, err)
	}
	fig.settle(t, rt, before, false, nil)
}

// hostileDigests: malformed digests in pull references are refused before any request.
func hostileDigests(t *testing.T, fig *hostileFigures, reg *testregistry.Registry) {
	p := startProxy(t, reg)
	rt, _ := newPullRuntime(t, p.Host)
	for _, d := range []string{
		"sha256:" + strings.Repeat("a", 63), "sha256:" + strings.Repeat("A", 64), "sha256:" + strings.Repeat("g", 64),
		"sha512:" + strings.Repeat("a", 64), "md5:d41d8cd98f00b204e9800998ecf8427e", "sha256:", "sha256:../../etc/passwd",
	} {
		before := snapshotStore(t, rt)
		name := p.Host + "/lib/busybox@" + d
		err := fig.try(t, func() error { _, err := rt.Pull(context.Background(), name, PullAlways, nil); return err })
		if err == nil || !strings.Contains(err.Error(), d) {
			t.Errorf("pull %s: %v, want an error quoting it", name, err)
		}
		fig.settle(t, rt, before, false, nil)
	}
	if reqs := p.Requests(); len(reqs) != 0 {
		t.Errorf("malformed digests reached the registry: %+v", reqs)
	}
}

// hostileWrongBytes: a registry sending a blob whose bytes do not match its digest is
// refused naming the blob, with the store as it was.
func hostileWrongBytes(t *testing.T, fig *hostileFigures, reg *testregistry.Registry) {
	seed(t, reg, tinyArchive, "lib/tiny:1")
	p := startProxy(t, reg)
	p.Inject(testregistry.Fault{Kind: testregistry.Corrupt, Match: testregistry.BlobGet("")})
	rt, _ := newPullRuntime(t, p.Host)
	opts := &PullOptions{RegistryOptions: RegistryOptions{MaxRetries: new(uint)}}
	before := snapshotStore(t, rt)
	err := fig.try(t, func() error {
		_, err := rt.Pull(context.Background(), p.Host+"/lib/tiny:1", PullAlways, opts)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "sha256:") {
		t.Errorf("pull of corrupted blobs: %v, want an error naming the blob", err)
	}
	fig.settle(t, rt, before, false, nil)
}
