package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/pkg/compression"
)

// hostileCase is one input of the corpus. A refusal must wrap sentinel (when set) and name
// every item of names, and the hostile layer when layerNamed is set; a case with confined
// set must load, and confined checks where the layer's files ended up.
type hostileCase struct {
	name       string
	build      func(t *testing.T, o *outside) string
	sentinel   error
	names      []string
	layerNamed bool
	confined   func(t *testing.T, rt *Runtime, id string, o *outside)
}

// TestLoadHostile runs the corpus: every archive-level case is refused naming the offending
// item, every layer-level one is refused or confined inside its layer; after a refusal the
// store is as it was and no event was written; in every case the marker file outside is
// untouched, the loopback server saw no request and no temp file is left. Archives are also
// refused through LoadReader.
func TestLoadHostile(t *testing.T) {
	o := newOutside(t)
	var cases []hostileCase
	for _, list := range [][]hostileCase{dockerCases(), dockerLinkCases(), dockerContentCases(), dockerCopyCases(),
		ociCases(), ociContentCases(), ociArchiveCases(), ociCopyCases(), layerCases()} {
		cases = append(cases, list...)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			before := snapshotStore(t, rt)
			path := c.build(t, o)
			res, err := rt.Load(context.Background(), path, nil)
			if c.confined != nil {
				if err != nil {
					t.Fatalf("legal input refused: %v", err)
				}
				c.confined(t, rt, res.Images[len(res.Images)-1].ID, o)
			} else {
				c.assertRefused(t, res, err, o)
				assertUnchanged(t, rt, before)
				if ev := rec.take(); len(ev) != 0 {
					t.Errorf("events after a refusal: %+v", ev)
				}
				if !isDir(path) {
					res, err := loadVia(t, rt, path, true)
					c.assertRefused(t, res, err, o)
					assertUnchanged(t, rt, before)
				}
			}
			o.check(t)
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
		})
	}
	t.Logf("%d hostile inputs", len(cases))
}

func (c *hostileCase) assertRefused(t *testing.T, res *LoadResult, err error, o *outside) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded %+v", res.Images)
	}
	t.Log(err)
	if c.sentinel != nil && !errors.Is(err, c.sentinel) {
		t.Errorf("error does not wrap %v", c.sentinel)
	}
	names := c.names
	if c.layerNamed {
		names = append(names, o.layer)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error does not name %q", n)
		}
	}
	if res != nil && len(res.Images) != 0 {
		t.Errorf("refused, yet reports %+v", res.Images)
	}
}

// outside is what lies outside every archive and store: a marker file that must never
// change, copies of tiny's real blobs (so that following a link to them would load), and a
// loopback server that must see no request.
type outside struct {
	dir, marker string
	content     []byte
	modTime     time.Time
	listing     []string
	// blobs holds a copy of every blob of testdata/tiny.oci, named by its hex digest.
	blobs string
	// url is the loopback server's; hits counts its requests.
	url  string
	hits atomic.Int64
	// layer is the hex digest of the last hostile layer built.
	layer string
}

func newOutside(t *testing.T) *outside {
	o := &outside{dir: t.TempDir(), content: []byte("marker: must stay as it is\n")}
	o.marker = filepath.Join(o.dir, "marker")
	o.blobs = filepath.Join(o.dir, "blobs")
	writeFile(t, o.marker, string(o.content))
	if err := os.CopyFS(o.blobs, os.DirFS(testdataPath("tiny.oci/blobs/sha256"))); err != nil {
		t.Fatal(err)
	}
	layer := entryBody(t, readEntries(t, testdataPath("tiny.docker.tar")), tinyLayer)
	writeFile(t, filepath.Join(o.dir, "layer.tar"), string(layer))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		o.hits.Add(1)
		_, _ = w.Write(layer)
	}))
	t.Cleanup(srv.Close)
	o.url = srv.URL + "/layer"
	fi, err := os.Stat(o.marker)
	if err != nil {
		t.Fatal(err)
	}
	o.modTime, o.listing = fi.ModTime(), listTree(t, o.dir)
	return o
}

// check fails the test if anything outside changed or the server was asked for anything.
func (o *outside) check(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(o.marker)
	fi, serr := os.Stat(o.marker)
	if err != nil || serr != nil || !bytes.Equal(raw, o.content) || !fi.ModTime().Equal(o.modTime) {
		t.Errorf("marker changed: %q (%v, %v)", raw, err, serr)
	}
	if got := listTree(t, o.dir); !reflect.DeepEqual(got, o.listing) {
		t.Errorf("files outside changed:\n%v\nwas\n%v", got, o.listing)
	}
	if n := o.hits.Swap(0); n != 0 {
		t.Errorf("the loopback server saw %d requests", n)
	}
}

// listTree lists every path under dir with its size.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	return describeTree(t, dir, func(p string, fi fs.FileInfo) (string, error) {
		return fmt.Sprintf("%s %d", p, fi.Size()), nil
	})
}

// describeTree returns describe of every path under dir, in walk order.
func describeTree(t *testing.T, dir string, describe func(p string, fi fs.FileInfo) (string, error)) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line, err := describe(p, fi)
		out = append(out, line)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerCases are docker-archives with paths that leave them, refused before anything is
// written.
func dockerCases() []hostileCase {
	unsafe := ErrUnsafeArchive
	return []hostileCase{
		{name: "docker/config-dotdot", sentinel: unsafe, names: []string{"../" + tinyConfig},
			build: dockerManifest(func(it map[string]any) { it["Config"] = "../" + tinyConfig })},
		{name: "docker/layer-absolute", sentinel: unsafe, names: []string{"/" + tinyLayer},
			build: dockerManifest(func(it map[string]any) { it["Layers"] = []string{"/" + tinyLayer} })},
		{name: "docker/layer-dotdot-inside-path", sentinel: unsafe, names: []string{"blobs/../../" + tinyLayer},
			build: dockerManifest(func(it map[string]any) { it["Layers"] = []string{"blobs/../../" + tinyLayer} })},
		{name: "docker/entry-dotdot", sentinel: unsafe, names: []string{"../outside.txt"},
			build: dockerExtra(regEntry("../outside.txt", []byte("x")))},
		{name: "docker/entry-absolute", sentinel: unsafe, names: []string{"/tmp/evil.txt"},
			build: dockerExtra(regEntry("/tmp/evil.txt", []byte("x")))},
		{name: "docker/device-entry", sentinel: unsafe, names: []string{"dev/kmsg"},
			build: dockerExtra(archEntry{hdr: tar.Header{Name: "dev/kmsg", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 11}})},
	}
}

// dockerLinkCases are docker-archives with links that leave them or JSON over its cap, all
// refused before anything is written.
func dockerLinkCases() []hostileCase {
	unsafe := ErrUnsafeArchive
	return []hostileCase{
		{name: "docker/layer-symlink-absolute", sentinel: unsafe, names: []string{tinyLayer, "layer.tar"},
			build: func(t *testing.T, o *outside) string {
				return dockerReplace(t, tinyLayer, linkEntry(tar.TypeSymlink, tinyLayer, filepath.Join(o.dir, "layer.tar")))
			}},
		{name: "docker/v1-layer-symlink-escape", sentinel: unsafe, names: []string{tinyV1Layer, "../../outside/layer.tar"},
			build: func(t *testing.T, o *outside) string {
				return dockerReplaceRef(t, tinyV1Layer, linkEntry(tar.TypeSymlink, tinyV1Layer, "../../outside/layer.tar"))
			}},
		{name: "docker/link-chain-escape", sentinel: unsafe, names: []string{"b.tar", "../x/layer.tar"},
			build: func(t *testing.T, o *outside) string {
				return dockerReplaceRef(t, tinyV1Layer, linkEntry(tar.TypeSymlink, tinyV1Layer, "../a.tar"),
					linkEntry(tar.TypeSymlink, "a.tar", "b.tar"), linkEntry(tar.TypeSymlink, "b.tar", "../x/layer.tar"))
			}},
		{name: "docker/layer-hardlink-escape", sentinel: unsafe, names: []string{tinyLayer, "../outside/layer.tar"},
			build: func(t *testing.T, o *outside) string {
				return dockerReplace(t, tinyLayer, linkEntry(tar.TypeLink, tinyLayer, "../outside/layer.tar"))
			}},
		{name: "docker/layer-hardlink-absolute", sentinel: unsafe, names: []string{tinyLayer, "layer.tar"},
			build: func(t *testing.T, o *outside) string {
				return dockerReplace(t, tinyLayer, linkEntry(tar.TypeLink, tinyLayer, filepath.Join(o.dir, "layer.tar")))
			}},
		{name: "docker/config-symlink-absolute", sentinel: unsafe, names: []string{tinyConfig},
			build: func(t *testing.T, o *outside) string {
				return dockerReplace(t, tinyConfig, linkEntry(tar.TypeSymlink, tinyConfig, filepath.Join(o.blobs, strings.TrimSuffix(tinyConfig, ".json"))))
			}},
		{name: "docker/manifest.json-over-1MiB", sentinel: unsafe, names: []string{"manifest.json", "1048576"},
			build: dockerEntries(func(t *testing.T, entries []archEntry) []archEntry {
				return mutate(entries, "manifest.json", func(e *archEntry) { e.setBody(append(e.body, bytes.Repeat([]byte(" "), 1<<20)...)) })
			})},
		{name: "docker/config-over-4MiB", sentinel: unsafe, names: []string{"config", "4194304"},
			build: dockerEntries(func(t *testing.T, entries []archEntry) []archEntry {
				cfg := padJSON(t, entryBody(t, entries, tinyConfig), 4<<20)
				name := digest.FromBytes(cfg).Encoded() + ".json"
				entries = append(entries, regEntry(name, cfg))
				return editManifestJSON(t, entries, func(items []map[string]any) { items[0]["Config"] = name })
			})},
	}
}

// dockerContentCases are docker-archives referring to files they lack or to foreign layer
// sources, and a compressed hostile one, all refused before anything is written.
func dockerContentCases() []hostileCase {
	unsafe, missing := ErrUnsafeArchive, fs.ErrNotExist
	return []hostileCase{
		{name: "docker/missing-layer", sentinel: missing, names: []string{"missing.tar"},
			build: dockerManifest(func(it map[string]any) { it["Layers"] = []string{"missing.tar"} })},
		{name: "docker/missing-config", sentinel: missing, names: []string{"missing.json"},
			build: dockerManifest(func(it map[string]any) { it["Config"] = "missing.json" })},
		{name: "docker/layer-sources-urls", sentinel: unsafe, names: []string{"urls"},
			build: func(t *testing.T, o *outside) string {
				return dockerManifest(func(it map[string]any) {
					it["LayerSources"] = map[string]any{"sha256:" + strings.TrimSuffix(tinyLayer, ".tar"): map[string]any{
						"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1, "digest": "sha256:" + strings.TrimSuffix(tinyLayer, ".tar"),
						"urls": []string{o.url}}}
				})(t, o)
			}},
		{name: "docker/gzip-layer-symlink-absolute", sentinel: unsafe, names: []string{tinyLayer},
			build: func(t *testing.T, o *outside) string {
				return compressArchive(t, dockerReplace(t, tinyLayer, linkEntry(tar.TypeSymlink, tinyLayer, filepath.Join(o.dir, "layer.tar"))), compression.Gzip)
			}},
	}
}

// dockerCopyCases are damaged docker-archives that pass every check before the copy and are
// refused by c/image while copying, with an error naming the layer.
func dockerCopyCases() []hostileCase {
	return []hostileCase{
		{name: "docker/truncated-layer", names: []string{strings.TrimSuffix(tinyLayer, ".tar")},
			build: dockerEntries(func(t *testing.T, entries []archEntry) []archEntry {
				return mutate(entries, tinyLayer, func(e *archEntry) { e.setBody(e.body[:len(e.body)/2]) })
			})},
		{name: "docker/layer-digest-mismatch", names: []string{strings.TrimSuffix(tinyLayer, ".tar")},
			build: dockerEntries(func(t *testing.T, entries []archEntry) []archEntry {
				return mutate(entries, tinyLayer, func(e *archEntry) { e.body = flipByte(e.body, -1) })
			})},
	}
}

// ociCases are OCI layouts with links that leave them, refused before anything is written.
func ociCases() []hostileCase {
	unsafe := ErrUnsafeArchive
	return []hostileCase{
		{name: "oci-dir/layer-blob-symlink-absolute", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyLayer, "is a link"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.symlink(t, d.blob(ociTinyLayer), filepath.Join(o.blobs, ociTinyLayer))
			})},
		{name: "oci-dir/config-blob-symlink-relative", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyConfig},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.symlink(t, d.blob(ociTinyConfig), "../../../../../../../../../.."+filepath.Join(o.blobs, ociTinyConfig))
			})},
		{name: "oci-dir/manifest-blob-symlink-absolute", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyManifest},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.symlink(t, d.blob(ociTinyManifest), filepath.Join(o.blobs, ociTinyManifest))
			})},
		{name: "oci-dir/blobs-sha256-dir-symlink", sentinel: unsafe, names: []string{"blobs/sha256 is a link"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.symlink(t, filepath.Join(string(d), "blobs", "sha256"), o.blobs)
			})},
		{name: "oci-dir/blobs-dir-symlink-relative", sentinel: unsafe, names: []string{"blobs is a link"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.symlink(t, filepath.Join(string(d), "blobs"), relPath(t, string(d), filepath.Dir(o.blobs)))
			})},
		{name: "oci-dir/dotdot-after-inner-link", sentinel: unsafe, names: []string{"blobs/up is a link", "outside the layout"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				// blobs/up -> .. stays inside, and so does blobs/sha256/<layer> read lexically
				// (layout/outside/<layer>); resolved as the kernel does, it leaves the layout.
				outsideCopy := filepath.Join(filepath.Dir(string(d)), "outside")
				if err := os.MkdirAll(outsideCopy, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(outsideCopy, ociTinyLayer), string(mustRead(t, d.blob(ociTinyLayer))))
				d.symlink(t, d.file("blobs/up"), "..")
				d.symlink(t, d.blob(ociTinyLayer), "../up/../../outside/"+ociTinyLayer)
			})},
		{name: "oci-dir/index.json-symlink", sentinel: unsafe, names: []string{"index.json is a link"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				copied := filepath.Join(t.TempDir(), "index.json")
				writeFile(t, copied, string(mustRead(t, d.file("index.json"))))
				d.symlink(t, filepath.Join(string(d), "index.json"), copied)
			})},
	}
}

// ociContentCases are OCI layouts with foreign URLs, JSON over its cap, missing blobs, a
// manifest not matching its digest and a FIFO for a blob, all refused before anything is
// written (and before the FIFO is opened).
func ociContentCases() []hostileCase {
	unsafe := ErrUnsafeArchive
	return []hostileCase{
		{name: "oci-dir/layer-urls", sentinel: unsafe, names: []string{"layer 1", "foreign urls"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editManifest(t, func(m map[string]any) { m["layers"].([]any)[0].(map[string]any)["urls"] = []string{o.url} })
			})},
		{name: "oci-dir/layer-urls-blob-absent", sentinel: unsafe, names: []string{"layer 1", "foreign urls"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editManifest(t, func(m map[string]any) { m["layers"].([]any)[0].(map[string]any)["urls"] = []string{o.url} })
				d.remove(t, d.blob(ociTinyLayer))
			})},
		{name: "oci-dir/config-urls", sentinel: unsafe, names: []string{"config", "foreign urls"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editManifest(t, func(m map[string]any) { m["config"].(map[string]any)["urls"] = []string{o.url} })
			})},
		{name: "oci-dir/index-entry-urls", sentinel: unsafe, names: []string{"manifest", "foreign urls"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editIndex(t, func(entry map[string]any) { entry["urls"] = []string{o.url} })
			})},
		{name: "oci-dir/index.json-over-4MiB", sentinel: unsafe, names: []string{"index.json", "4194304"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editIndex(t, func(entry map[string]any) {
					entry["annotations"] = map[string]string{"pad": strings.Repeat("x", 4<<20)}
				})
			})},
		{name: "oci-dir/manifest-over-4MiB", sentinel: unsafe, names: []string{"manifest", "4194304"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.editManifest(t, func(m map[string]any) { m["annotations"] = map[string]string{"pad": strings.Repeat("x", 4<<20)} })
			})},
		{name: "oci-dir/config-over-4MiB", sentinel: unsafe, names: []string{"config", "4194304"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				cfg := d.putBlob(t, padJSON(t, mustRead(t, d.blob(ociTinyConfig)), 4<<20))
				d.editManifest(t, func(m map[string]any) { setDescriptor(m["config"], cfg) })
			})},
		{name: "oci-dir/missing-layer", sentinel: fs.ErrNotExist, names: []string{"layer 1", ociTinyLayer},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) { d.remove(t, d.blob(ociTinyLayer)) })},
		{name: "oci-dir/missing-manifest", sentinel: fs.ErrNotExist, names: []string{"manifest", ociTinyManifest},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) { d.remove(t, d.blob(ociTinyManifest)) })},
		{name: "oci-dir/manifest-digest-mismatch", sentinel: unsafe, names: []string{ociTinyManifest, "does not match"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				writeFile(t, d.blob(ociTinyManifest), string(mustRead(t, d.blob(ociTinyManifest)))+" ")
			})},
		{name: "oci-dir/layer-blob-fifo", sentinel: ErrUnsupportedFormat, names: []string{ociTinyLayer, "not a regular file"},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				d.remove(t, d.blob(ociTinyLayer))
				if err := mkfifo(d.blob(ociTinyLayer)); err != nil {
					t.Skip("no fifo here:", err)
				}
			})},
	}
}

// ociArchiveCases are hostile oci-archives and c/image "dir" layouts, all refused before
// anything is written.
func ociArchiveCases() []hostileCase {
	unsafe := ErrUnsafeArchive
	return []hostileCase{
		{name: "oci-archive/layer-blob-symlink-absolute", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyLayer},
			build: ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
				return mutate(e, "blobs/sha256/"+ociTinyLayer, func(x *archEntry) { *x = linkEntry(tar.TypeSymlink, x.hdr.Name, filepath.Join(o.blobs, ociTinyLayer)) })
			})},
		{name: "oci-archive/blobs-sha256-symlink", sentinel: unsafe, names: []string{`symlink "blobs/sha256"`},
			build: ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
				return append([]archEntry{linkEntry(tar.TypeSymlink, "blobs/sha256", o.blobs)}, e...)
			})},
		{name: "oci-archive/entry-dotdot", sentinel: unsafe, names: []string{"../escape"},
			build: ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
				return append(e, regEntry("../escape", []byte("x")))
			})},
		{name: "oci-archive/entry-absolute", sentinel: unsafe, names: []string{"/blobs/sha256/" + ociTinyLayer},
			build: ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
				return append(e, regEntry("/blobs/sha256/"+ociTinyLayer, []byte("x")))
			})},
		{name: "oci-archive/hardlink-escape", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyLayer, "../outside/layer"},
			build: ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
				return mutate(e, "blobs/sha256/"+ociTinyLayer, func(x *archEntry) { *x = linkEntry(tar.TypeLink, x.hdr.Name, "../outside/layer") })
			})},
		{name: "oci-archive/zstd-blob-symlink-relative", sentinel: unsafe, names: []string{"blobs/sha256/" + ociTinyConfig},
			build: func(t *testing.T, o *outside) string {
				return compressArchive(t, ociArchive(func(t *testing.T, o *outside, e []archEntry) []archEntry {
					return mutate(e, "blobs/sha256/"+ociTinyConfig, func(x *archEntry) { *x = linkEntry(tar.TypeSymlink, x.hdr.Name, "../../../"+ociTinyConfig) })
				})(t, o), compression.Zstd)
			}},
		{name: "dir/layer-symlink-absolute", sentinel: unsafe, names: []string{ociTinyLayer, "is a link"},
			build: func(t *testing.T, o *outside) string {
				d := layoutDir(dirLayout(t))
				d.symlink(t, filepath.Join(string(d), ociTinyLayer), filepath.Join(o.blobs, ociTinyLayer))
				return string(d)
			}},
		{name: "dir/signature-symlink", sentinel: unsafe, names: []string{"signature-1 is a link"},
			build: func(t *testing.T, o *outside) string {
				d := layoutDir(dirLayout(t))
				d.symlink(t, filepath.Join(string(d), "signature-1"), o.marker)
				return string(d)
			}},
		{name: "dir/manifest-over-4MiB", sentinel: unsafe, names: []string{"manifest.json", "4194304"},
			build: func(t *testing.T, o *outside) string {
				d := dirLayout(t)
				writeFile(t, filepath.Join(d, "manifest.json"), string(padJSON(t, mustRead(t, filepath.Join(d, "manifest.json")), 4<<20)))
				return d
			}},
	}
}

// ociCopyCases are damaged OCI layouts that pass every check before the copy and are
// refused by c/image while copying, with an error naming the blob.
func ociCopyCases() []hostileCase {
	return []hostileCase{
		{name: "oci-dir/truncated-layer", names: []string{ociTinyLayer},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				raw := mustRead(t, d.blob(ociTinyLayer))
				writeFile(t, d.blob(ociTinyLayer), string(raw[:len(raw)/2]))
			})},
		{name: "oci-dir/layer-digest-mismatch", names: []string{ociTinyLayer},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				writeFile(t, d.blob(ociTinyLayer), string(flipByte(mustRead(t, d.blob(ociTinyLayer)), -1)))
			})},
		{name: "oci-dir/config-digest-mismatch", names: []string{ociTinyConfig},
			build: ociLayout(func(t *testing.T, o *outside, d layoutDir) {
				writeFile(t, d.blob(ociTinyConfig), string(mustRead(t, d.blob(ociTinyConfig)))+" ")
			})},
	}
}

// layerCases are hostile layers on top of tiny, each as a docker-archive and as an OCI
// layout. c/storage applies layers chrooted into the layer: `..` entries, absolute names and
// writes through links land inside the layer (checked there); a hard link to a file the
// layer does not hold is refused, with an error naming the layer.
func layerCases() []hostileCase {
	var cases []hostileCase
	for _, oci := range []bool{false, true} {
		flavour := map[bool]string{false: "docker", true: "oci"}[oci]
		layer := func(entries func(o *outside) []archEntry) buildFunc {
			return func(t *testing.T, o *outside) string {
				raw := layerBytes(t, entries(o)...)
				o.layer = digest.FromBytes(raw).Encoded()
				return withLayer(t, oci, raw)
			}
		}
		atMarker := confinedAt(func(o *outside) string { return o.marker })
		cases = append(cases,
			hostileCase{name: "layer-" + flavour + "/hardlink-dotdot", layerNamed: true, names: []string{"adding layer"},
				build: layer(func(o *outside) []archEntry { return []archEntry{linkEntry(tar.TypeLink, "hl", dotdots+o.marker)} })},
			hostileCase{name: "layer-" + flavour + "/hardlink-absolute", layerNamed: true, names: []string{"adding layer"},
				build: layer(func(o *outside) []archEntry { return []archEntry{linkEntry(tar.TypeLink, "hl", o.marker)} })},
			hostileCase{name: "layer-" + flavour + "/hardlink-through-root-symlink", layerNamed: true, names: []string{"adding layer"},
				build: layer(func(o *outside) []archEntry {
					return []archEntry{linkEntry(tar.TypeSymlink, "root", "/"), linkEntry(tar.TypeLink, "hl", "root"+o.marker)}
				})},
			hostileCase{name: "layer-" + flavour + "/dotdot-file", confined: atMarker,
				build: layer(func(o *outside) []archEntry { return []archEntry{regEntry(dotdots+o.marker, hostileBytes)} })},
			hostileCase{name: "layer-" + flavour + "/nested-dotdot-file", confined: atMarker,
				build: layer(func(o *outside) []archEntry { return []archEntry{regEntry("a/"+dotdots+o.marker, hostileBytes)} })},
			hostileCase{name: "layer-" + flavour + "/absolute-file", confined: atMarker,
				build: layer(func(o *outside) []archEntry { return []archEntry{regEntry(o.marker, hostileBytes)} })},
			hostileCase{name: "layer-" + flavour + "/hardlink-dotdot-to-own-file", confined: confinedAt(func(*outside) string { return "hl" }),
				build: layer(func(o *outside) []archEntry {
					return []archEntry{regEntry("own", hostileBytes), linkEntry(tar.TypeLink, "hl", dotdots+"own")}
				})},
			hostileCase{name: "layer-" + flavour + "/write-through-absolute-symlink", confined: atMarker,
				build: layer(func(o *outside) []archEntry {
					return []archEntry{linkEntry(tar.TypeSymlink, "escape", o.dir), regEntry("escape/marker", hostileBytes)}
				})},
			hostileCase{name: "layer-" + flavour + "/write-through-relative-symlink", confined: atMarker,
				build: layer(func(o *outside) []archEntry {
					return []archEntry{linkEntry(tar.TypeSymlink, "up", strings.TrimSuffix(dotdots, "/")+o.dir), regEntry("up/marker", hostileBytes)}
				})},
		)
	}
	return cases
}

// dotdots climbs far above any layer's root.
const dotdots = "../../../../../../../../../../../../../../../../"

// hostileBytes is what hostile layers try to write outside.
var hostileBytes = []byte("written by a hostile layer\n")

// confinedAt checks that the hostile file exists inside the top layer at the path where
// it meant to escape to, with its content.
func confinedAt(target func(o *outside) string) func(t *testing.T, rt *Runtime, id string, o *outside) {
	return func(t *testing.T, rt *Runtime, id string, o *outside) {
		t.Helper()
		if got := readInLayer(t, rt, id, target(o)); !bytes.Equal(got, hostileBytes) {
			t.Errorf("inside the layer at %s: %q, want the hostile file", target(o), got)
		}
	}
}

// readInLayer reads the file at rel inside the top layer of image id (not following a final
// symlink out of it: the file must be a regular one).
func readInLayer(t *testing.T, rt *Runtime, id, rel string) []byte {
	t.Helper()
	top := mustLookup(t, rt, id).TopLayer()
	dir, err := rt.store.Mount(top, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = rt.store.Unmount(top, true) }()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	raw, err := root.ReadFile(strings.TrimPrefix(rel, "/"))
	if err != nil {
		t.Errorf("reading %s in the layer: %v", rel, err)
	}
	return raw
}

// TestLoadForeignArchives: archives as other tools write them load with the right names: a
// Docker 25+ archive (manifest.json and an OCI layout with the full name in
// io.containerd.image.name and the tag in ref.name), a BuildKit oci-archive (only the
// containerd name, a bare-tag ref.name) and skopeo's `oci-archive:file:tag` (ref.name is the
// tag: no repository, so unnamed).
func TestLoadForeignArchives(t *testing.T) {
	tiny := readFacts(t, "tiny").ID
	cases := []struct {
		name  string
		build func(t *testing.T) string
		names []string
	}{
		{"docker-25", docker25Archive, []string{"docker.io/library/tiny:latest", "quay.io/x/tiny:2"}},
		{"buildkit-oci", func(t *testing.T) string {
			return ociArchiveWith(t, map[string]string{annotationContainerdName: "docker.io/library/tiny:latest", "org.opencontainers.image.ref.name": "latest"})
		}, []string{"docker.io/library/tiny:latest"}},
		{"skopeo-oci-archive-tag", func(t *testing.T) string {
			return ociArchiveWith(t, map[string]string{"org.opencontainers.image.ref.name": "v1"})
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			res, err := rt.Load(context.Background(), c.build(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := []LoadedImage{{ID: tiny, Names: c.names}}; !reflect.DeepEqual(res.Images, want) {
				t.Errorf("loaded %+v, want %+v", res.Images, want)
			}
			if got := mustLookup(t, rt, tiny).Names(); len(got) != len(c.names) || len(got) > 0 && !reflect.DeepEqual(got, reversed(c.names)) {
				t.Errorf("store names %v", got)
			}
		})
	}
}
