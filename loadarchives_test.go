package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"
)

// The pieces of testdata/tiny.docker.tar the hostile archives are built from.
const (
	tinyConfig  = "b61b7acfe780890d8ed55c38e29a29beb8c645b6081b828b8bbe7d94960cfad8.json"
	tinyLayer   = "4029aaa3da8b5d518f6d29e2ea03dfca90505089d9d9eb7211263efbb23380fc.tar"
	tinyV1Layer = "9c18dabb1eebd715b589ca562a20dc737f8b9f7cb190241c25375d84f9c542e1/layer.tar"
)

// The blobs of testdata/tiny.oci (its layer is gzip-compressed).
const (
	ociTinyManifest = "4a38a9d7159688f3c12b5ef95f5415a421235b95cb67866e31fe80c707012e90"
	ociTinyConfig   = "b61b7acfe780890d8ed55c38e29a29beb8c645b6081b828b8bbe7d94960cfad8"
	ociTinyLayer    = "7643931be6a3df9ba2e37d23af18952df87110546ccff554718c9074207e0d1f"
)

// TestLoadOddButLegal: inputs that look odd but are legal load, with the right names: `./`
// entries, long names (PAX) in the archive and in a layer, references that are links inside
// the archive, an OCI blob linked inside the layout, an archive read from a FIFO, and
// tiny-whiteout's in-root absolute symlink (/usr/share/hostname.abs -> /etc/passwd), which
// stays a symlink in its layer. Nothing outside changes and no temp file is left.
func TestLoadOddButLegal(t *testing.T) {
	o := newOutside(t)
	tiny := readFacts(t, "tiny")
	for _, c := range legalCases() {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			res, err := rt.Load(context.Background(), c.build(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := res.Images[0].ID
			if c.check != nil {
				c.check(t, rt, id)
			} else if want := []LoadedImage{{ID: tiny.ID, Names: tiny.Names}}; !reflect.DeepEqual(res.Images, want) {
				t.Errorf("loaded %+v, want %+v", res.Images, want)
			}
			o.check(t)
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
		})
	}
}

// legalCase is an odd but legal input; check (when set) replaces the check of the result.
type legalCase struct {
	name  string
	build func(t *testing.T) string
	check func(t *testing.T, rt *Runtime, id string)
}

// legalCases are the inputs of TestLoadOddButLegal.
func legalCases() []legalCase {
	long := strings.Repeat("a-long-directory-name/", 12)
	return []legalCase{
		{"docker/dot-slash-entries", func(t *testing.T) string {
			entries := readEntries(t, testdataPath("tiny.docker.tar"))
			for k := range entries {
				entries[k].hdr.Name = "./" + entries[k].hdr.Name
			}
			return writeArchive(t, append([]archEntry{{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}}}, entries...))
		}, nil},
		{"docker/pax-long-layer-name", func(t *testing.T) string {
			return dockerReplaceRef(t, long+tinyLayer, regEntry(long+tinyLayer, entryBody(t, readEntries(t, testdataPath("tiny.docker.tar")), tinyLayer)))
		}, nil},
		{"docker/layer-symlink-inside", func(t *testing.T) string {
			return writeArchive(t, editManifestJSON(t, readEntries(t, testdataPath("tiny.docker.tar")), func(items []map[string]any) {
				items[0]["Layers"] = []string{tinyV1Layer} // a symlink to ../<digest>.tar in podman's archive
			}))
		}, nil},
		{"docker/layer-hardlink-inside", func(t *testing.T) string {
			return dockerReplaceRef(t, tinyV1Layer, linkEntry(tar.TypeLink, tinyV1Layer, tinyLayer))
		}, nil},
		{"docker/config-symlink-inside", func(t *testing.T) string {
			entries := append(readEntries(t, testdataPath("tiny.docker.tar")), linkEntry(tar.TypeSymlink, "cfg/config.json", "../"+tinyConfig))
			return writeArchive(t, editManifestJSON(t, entries, func(items []map[string]any) { items[0]["Config"] = "cfg/config.json" }))
		}, nil},
		{"oci-dir/blob-symlink-inside", func(t *testing.T) string {
			d := tinyLayoutDir(t)
			if err := os.MkdirAll(filepath.Join(string(d), "elsewhere"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(d.blob(ociTinyLayer), filepath.Join(string(d), "elsewhere", "layer")); err != nil {
				t.Fatal(err)
			}
			d.symlink(t, d.blob(ociTinyLayer), "../../elsewhere/layer")
			return string(d)
		}, nil},
		{"oci-archive/dot-slash-entries", func(t *testing.T) string {
			entries := dirEntries(t, string(tinyLayoutDir(t)))
			for k := range entries {
				entries[k].hdr.Name = "./" + entries[k].hdr.Name
			}
			return writeArchive(t, entries)
		}, nil},
		{"layer/pax-long-file-name", func(t *testing.T) string {
			return withLayer(t, false, layerBytes(t, regEntry(long+"file", hostileBytes)))
		}, func(t *testing.T, rt *Runtime, id string) {
			if got := readInLayer(t, rt, id, long+"file"); !bytes.Equal(got, hostileBytes) {
				t.Errorf("long-named file holds %q", got)
			}
		}},
		{"docker/fifo-path", func(t *testing.T) string {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := mkfifo(fifo); err != nil {
				t.Skip("no fifo here:", err)
			}
			raw := mustRead(t, testdataPath("tiny.docker.tar"))
			go func() { // blocks until Load opens the fifo
				if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					_, _ = f.Write(raw)
					_ = f.Close()
				}
			}()
			return fifo
		}, nil},
		{"tiny-whiteout/absolute-symlink-in-layer", func(t *testing.T) string {
			return testdataPath("tiny-whiteout.docker.tar")
		}, checkHostnameAbs},
		{"tiny-whiteout.oci/absolute-symlink-in-layer", func(t *testing.T) string {
			return testdataPath("tiny-whiteout.oci")
		}, checkHostnameAbs},
	}
}

// checkHostnameAbs: tiny-whiteout's top layer holds /usr/share/hostname.abs, a symlink to
// /etc/passwd that stays a symlink (never resolved against the host).
func checkHostnameAbs(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	top := mustLookup(t, rt, id).TopLayer()
	dir, err := rt.store.Mount(top, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = rt.store.Unmount(top, true) }()
	link := filepath.Join(dir, "usr/share/hostname.abs")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("hostname.abs is not a symlink: %v", err)
	}
	if target, err := os.Readlink(link); err != nil || target != "/etc/passwd" {
		t.Errorf("hostname.abs -> %q (%v), want /etc/passwd", target, err)
	}
}

// docker25Archive writes tiny the way `docker save` 25+ does: blobs/sha256 holds the
// config, the plain layer and an OCI manifest; index.json has one entry per name, with
// io.containerd.image.name and the bare tag in ref.name; manifest.json refers to the blobs.
func docker25Archive(t *testing.T) string {
	docker := readEntries(t, testdataPath("tiny.docker.tar"))
	cfg, layer := entryBody(t, docker, tinyConfig), entryBody(t, docker, tinyLayer)
	cfgD, layerD := digest.FromBytes(cfg), digest.FromBytes(layer)
	m := mustJSON(t, map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgD, "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerD, "size": len(layer)}}})
	mD := digest.FromBytes(m)
	var index []any
	for _, name := range []string{"docker.io/library/tiny:latest", "quay.io/x/tiny:2"} {
		index = append(index, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mD, "size": len(m),
			"annotations": map[string]string{annotationContainerdName: name, "org.opencontainers.image.ref.name": name[strings.LastIndex(name, ":")+1:]}})
	}
	return writeArchive(t, []archEntry{
		{hdr: tar.Header{Name: "blobs/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "blobs/sha256/", Typeflag: tar.TypeDir, Mode: 0o755}},
		regEntry("blobs/sha256/"+cfgD.Encoded(), cfg),
		regEntry("blobs/sha256/"+layerD.Encoded(), layer),
		regEntry("blobs/sha256/"+mD.Encoded(), m),
		regEntry("index.json", mustJSON(t, map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})),
		regEntry("manifest.json", mustJSON(t, []any{map[string]any{"Config": "blobs/sha256/" + cfgD.Encoded(),
			"RepoTags": []string{"tiny:latest", "quay.io/x/tiny:2"}, "Layers": []string{"blobs/sha256/" + layerD.Encoded()}}})),
		regEntry("oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`)),
		regEntry("repositories", mustJSON(t, map[string]any{"tiny": map[string]string{"latest": layerD.Encoded()}})),
	})
}

// ociArchiveWith writes tiny.oci as an oci-archive whose only index entry has annotations.
func ociArchiveWith(t *testing.T, annotations map[string]string) string {
	return writeArchive(t, dirEntries(t, copyOCIDir(t, "tiny.oci", annotations)))
}

// archEntry is one entry of an archive a test builds.
type archEntry struct {
	hdr  tar.Header
	body []byte
}

func (e *archEntry) setBody(body []byte) { e.body, e.hdr.Size = body, int64(len(body)) }

func regEntry(name string, body []byte) archEntry {
	return archEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func linkEntry(typ byte, name, target string) archEntry {
	return archEntry{hdr: tar.Header{Name: name, Typeflag: typ, Linkname: target, Mode: 0o777}}
}

// readEntries returns every entry of the tar at path.
func readEntries(t testing.TB, path string) []archEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []archEntry
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, archEntry{hdr: *hdr, body: body})
	}
}

func entryBody(t testing.TB, entries []archEntry, name string) []byte {
	t.Helper()
	for _, e := range entries {
		if e.hdr.Name == name {
			return e.body
		}
	}
	t.Fatalf("no entry %q", name)
	return nil
}

// mutate returns a copy of entries where fn changed the entry called name.
func mutate(entries []archEntry, name string, fn func(*archEntry)) []archEntry {
	out := append([]archEntry(nil), entries...)
	for k := range out {
		if out[k].hdr.Name == name {
			fn(&out[k])
		}
	}
	return out
}

func tarBytes(t testing.TB, entries []archEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeArchive writes entries as a tar in a new temp dir and returns its path.
func writeArchive(t testing.TB, entries []archEntry) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "archive.tar")
	if err := os.WriteFile(path, tarBytes(t, entries), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// layerBytes is a layer tar of entries.
func layerBytes(t testing.TB, entries ...archEntry) []byte { return tarBytes(t, entries) }

// editManifestJSON returns entries with manifest.json changed by fn.
func editManifestJSON(t testing.TB, entries []archEntry, fn func(items []map[string]any)) []archEntry {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal(entryBody(t, entries, "manifest.json"), &items); err != nil {
		t.Fatal(err)
	}
	fn(items)
	raw := mustJSON(t, items)
	return mutate(entries, "manifest.json", func(e *archEntry) { e.setBody(raw) })
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// padJSON adds a field to the JSON object raw so that it is over limit bytes.
func padJSON(t testing.TB, raw []byte, limit int) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["pad"] = strings.Repeat("x", limit)
	return mustJSON(t, m)
}

// flipByte returns a copy of b with byte k (from the end when negative) inverted.
func flipByte(b []byte, k int) []byte {
	out := append([]byte(nil), b...)
	if k < 0 {
		k += len(out)
	}
	out[k] ^= 0xff
	return out
}

type buildFunc = func(t *testing.T, o *outside) string

// dockerEntries builds an archive from the entries of tiny.docker.tar as fn changes them.
func dockerEntries(fn func(t *testing.T, entries []archEntry) []archEntry) buildFunc {
	return func(t *testing.T, _ *outside) string {
		return writeArchive(t, fn(t, readEntries(t, testdataPath("tiny.docker.tar"))))
	}
}

// dockerManifest builds tiny.docker.tar with its manifest.json entry changed by fn.
func dockerManifest(fn func(item map[string]any)) buildFunc {
	return dockerEntries(func(t *testing.T, entries []archEntry) []archEntry {
		return editManifestJSON(t, entries, func(items []map[string]any) { fn(items[0]) })
	})
}

// dockerExtra builds tiny.docker.tar with entries added at the end.
func dockerExtra(extra ...archEntry) buildFunc {
	return dockerEntries(func(_ *testing.T, entries []archEntry) []archEntry { return append(entries, extra...) })
}

// dockerReplace writes tiny.docker.tar with the entry called name replaced by e.
func dockerReplace(t *testing.T, name string, e archEntry) string {
	return writeArchive(t, mutate(readEntries(t, testdataPath("tiny.docker.tar")), name, func(x *archEntry) { *x = e }))
}

// dockerReplaceRef writes tiny.docker.tar without its entry ref, plus entries at the end,
// with manifest.json's only layer being ref.
func dockerReplaceRef(t *testing.T, ref string, entries ...archEntry) string {
	var kept []archEntry
	for _, e := range readEntries(t, testdataPath("tiny.docker.tar")) {
		if e.hdr.Name != ref {
			kept = append(kept, e)
		}
	}
	return writeArchive(t, editManifestJSON(t, append(kept, entries...), func(items []map[string]any) {
		items[0]["Layers"] = []string{ref}
	}))
}

// layoutDir is an OCI layout (or c/image "dir") a test changes in place.
type layoutDir string

// tinyLayoutDir copies testdata/tiny.oci, named localhost/tiny:latest.
func tinyLayoutDir(t *testing.T) layoutDir {
	return layoutDir(copyOCIDir(t, "tiny.oci", map[string]string{"org.opencontainers.image.ref.name": "localhost/tiny:latest"}))
}

func (d layoutDir) blob(hex string) string { return filepath.Join(string(d), "blobs", "sha256", hex) }

// file is the path of name in the layout.
func (d layoutDir) file(name string) string { return filepath.Join(string(d), name) }

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (d layoutDir) remove(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

// symlink replaces what is at at by a symlink to target.
func (d layoutDir) symlink(t *testing.T, at, target string) {
	t.Helper()
	d.remove(t, at)
	if err := os.Symlink(target, at); err != nil {
		t.Fatal(err)
	}
}

// blobRef is a blob a test added to a layout.
type blobRef struct {
	digest digest.Digest
	size   int
}

func (d layoutDir) putBlob(t *testing.T, data []byte) blobRef {
	t.Helper()
	b := blobRef{digest.FromBytes(data), len(data)}
	if err := os.WriteFile(d.blob(b.digest.Encoded()), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func setDescriptor(desc any, b blobRef) {
	desc.(map[string]any)["digest"], desc.(map[string]any)["size"] = b.digest, b.size
}

// editIndex changes the first entry of index.json with fn.
func (d layoutDir) editIndex(t *testing.T, fn func(entry map[string]any)) {
	t.Helper()
	var index map[string]any
	if err := json.Unmarshal(mustRead(t, d.file("index.json")), &index); err != nil {
		t.Fatal(err)
	}
	fn(index["manifests"].([]any)[0].(map[string]any))
	writeFile(t, filepath.Join(string(d), "index.json"), string(mustJSON(t, index)))
}

// editManifest changes the manifest of the first index entry with fn, stores it as a new
// blob and points the entry at it.
func (d layoutDir) editManifest(t *testing.T, fn func(m map[string]any)) {
	t.Helper()
	d.editIndex(t, func(entry map[string]any) {
		var m map[string]any
		if err := json.Unmarshal(mustRead(t, d.blob(strings.TrimPrefix(entry["digest"].(string), "sha256:"))), &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		setDescriptor(entry, d.putBlob(t, mustJSON(t, m)))
	})
}

// ociLayout builds a copy of tiny.oci changed by fn.
func ociLayout(fn func(t *testing.T, o *outside, d layoutDir)) buildFunc {
	return func(t *testing.T, o *outside) string {
		d := tinyLayoutDir(t)
		fn(t, o, d)
		return string(d)
	}
}

// ociArchive builds an oci-archive of tiny.oci with its entries changed by fn.
func ociArchive(fn func(t *testing.T, o *outside, entries []archEntry) []archEntry) buildFunc {
	return func(t *testing.T, o *outside) string {
		return writeArchive(t, fn(t, o, dirEntries(t, string(tinyLayoutDir(t)))))
	}
}

// dirEntries returns the tree under dir as tar entries (names relative to dir; symlinks
// kept as symlinks).
func dirEntries(t *testing.T, dir string) []archEntry {
	t.Helper()
	var entries []archEntry
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		name := filepath.ToSlash(relPath(t, dir, p))
		switch {
		case de.IsDir():
			entries = append(entries, archEntry{hdr: tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755}})
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			entries = append(entries, linkEntry(tar.TypeSymlink, name, target))
			return err
		default:
			entries = append(entries, regEntry(name, mustRead(t, p)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func relPath(t *testing.T, from, to string) string {
	t.Helper()
	rel, err := filepath.Rel(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// withLayer returns tiny with one more layer on top, named localhost/hostile:latest: a
// docker-archive, or an OCI layout when oci is set.
func withLayer(t *testing.T, oci bool, layer []byte) string {
	t.Helper()
	return withLayerAs(t, oci, layer, digest.FromBytes(layer))
}

// withLayerAs is withLayer for a layer whose diff ID (its uncompressed digest) is diffID.
func withLayerAs(t *testing.T, oci bool, layer []byte, diffID digest.Digest) string {
	t.Helper()
	docker := readEntries(t, testdataPath("tiny.docker.tar"))
	var config map[string]any
	if err := json.Unmarshal(entryBody(t, docker, tinyConfig), &config); err != nil {
		t.Fatal(err)
	}
	rootfs := config["rootfs"].(map[string]any)
	rootfs["diff_ids"] = append(rootfs["diff_ids"].([]any), diffID.String())
	history, _ := config["history"].([]any)
	config["history"] = append(history, map[string]any{"created_by": "a hostile layer"})
	cfg := mustJSON(t, config)
	if !oci {
		cfgName, layerName := digest.FromBytes(cfg).Encoded()+".json", digest.FromBytes(layer).Encoded()+".tar"
		entries := append(docker, regEntry(cfgName, cfg), regEntry(layerName, layer))
		return writeArchive(t, editManifestJSON(t, entries, func(items []map[string]any) {
			items[0]["Config"], items[0]["Layers"] = cfgName, []string{tinyLayer, layerName}
			items[0]["RepoTags"] = []string{"localhost/hostile:latest"}
		}))
	}
	d := layoutDir(copyOCIDir(t, "tiny.oci", map[string]string{"org.opencontainers.image.ref.name": "localhost/hostile:latest"}))
	cb, lb := d.putBlob(t, cfg), d.putBlob(t, layer)
	d.editManifest(t, func(m map[string]any) {
		setDescriptor(m["config"], cb)
		m["layers"] = append(m["layers"].([]any), map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": lb.digest, "size": lb.size})
	})
	return string(d)
}

// ociEntry is an index entry for mergeOCIDirs: the only image of a layout in testdata/,
// with annotations (nil: none).
type ociEntry struct {
	layout      string
	annotations map[string]string
}

// mergeOCIDirs writes an OCI layout holding the blobs of every entry's layout and an index
// with the entries in order.
func mergeOCIDirs(t *testing.T, entries []ociEntry) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	d := layoutDir(dir)
	if err := os.MkdirAll(d.blob(""), 0o755); err != nil {
		t.Fatal(err)
	}
	var manifests []any
	for _, e := range entries {
		src := layoutDir(testdataPath(e.layout))
		blobs, err := os.ReadDir(src.blob(""))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blobs {
			writeFile(t, d.blob(b.Name()), string(mustRead(t, src.blob(b.Name()))))
		}
		var index struct{ Manifests []map[string]any }
		if err := json.Unmarshal(mustRead(t, src.file("index.json")), &index); err != nil {
			t.Fatal(err)
		}
		desc := index.Manifests[0]
		delete(desc, "annotations")
		if e.annotations != nil {
			desc["annotations"] = e.annotations
		}
		manifests = append(manifests, desc)
	}
	writeFile(t, filepath.Join(dir, "index.json"), string(mustJSON(t, map[string]any{"schemaVersion": 2, "manifests": manifests})))
	writeFile(t, filepath.Join(dir, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`)
	return dir
}

// dirLayout writes tiny in c/image's "dir" format: manifest.json, the blobs by hex digest
// and the version file.
func dirLayout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := layoutDir(testdataPath("tiny.oci"))
	writeFile(t, filepath.Join(dir, "manifest.json"), string(mustRead(t, src.blob(ociTinyManifest))))
	for _, hex := range []string{ociTinyConfig, ociTinyLayer} {
		writeFile(t, filepath.Join(dir, hex), string(mustRead(t, src.blob(hex))))
	}
	writeFile(t, filepath.Join(dir, "version"), "Directory Transport Version: 1.1\n")
	return dir
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
