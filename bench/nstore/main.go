// nstore builds a containers-storage (vfs) store with many small, distinct images, written
// through containers/image (copy.Image from an OCI layout), so that podman reads the store
// as its own. It is the fixture generator of the scale benchmarks (bench_scale_test.go) and
// of the podman comparison (bench/compare.sh); it started as ../shared/bench/nstore and
// writes the same app and chain images (same configs, so the same image IDs).
//
//	nstore -root R -n N [-chain 51] [-deep 100]
//	nstore -clone SRC -root R    (R becomes a cheap copy of the store SRC: internal/storeclone)
//
// Store: GraphRoot R/root, RunRoot R/run, driver vfs. Scratch: R/oci (OCI layout), R/tmp.
// Images, in this order:
//   - N "app" images = shared base layer + 1 unique layer (one 4 KiB file), config with 20
//     history entries (2 non-empty) and a unique label; 60% tagged localhost/app-NNNN:v1
//     (i%5 < 3), 40% nameless (dangling). App image i is created at 2024-01-01 + (i+1) min,
//     so "until=" filters select the first k of them.
//   - a chain of C images, image k = base + c1..ck (one layer and one history entry more
//     than image k-1), only the top one tagged localhost/chain-top:latest: with C = 51 it
//     is a tagged image with 50 untagged ancestors (none of them has another child).
//   - one image of D layers (base + D-1 more, one history entry each), tagged
//     localhost/deep:latest, with no intermediate images stored.
//
// The generator is resumable: an image already in the store (same ID) is skipped, so an
// interrupted run can be started again, and a store made by the shared generator is
// completed by this one. When every image is there it writes R/nstore.json (the parameters
// and counts); the benchmarks use a store only when that stamp matches what they expect.
// Filling a store is O(N^2) in c/storage (each new image rewrites the whole index): about
// 15 minutes for N = 5,000 on a small machine.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker/reference"
	ocilayout "go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/signature"
	is "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"

	"github.com/seed-1e5c3c91/image/internal/storeclone"
)

type blob struct {
	desc   imgspecv1.Descriptor
	diffID digest.Digest // layers only
}

var ociDir string

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func writeBlob(mediaType string, data []byte) imgspecv1.Descriptor {
	d := digest.FromBytes(data)
	p := filepath.Join(ociDir, "blobs", d.Algorithm().String(), d.Encoded())
	if _, err := os.Stat(p); err != nil {
		must(os.WriteFile(p, data, 0o644))
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

type tfile struct {
	name string
	mode int64
	dir  bool
	data []byte
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// layer builds a gzip-compressed tar layer and writes it as a blob.
func layer(files []tfile) blob {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		must(tw.WriteHeader(h))
		if !f.dir {
			_, err := tw.Write(f.data)
			must(err)
		}
	}
	must(tw.Close())
	diffID := digest.FromBytes(raw.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	_, err := zw.Write(raw.Bytes())
	must(err)
	must(zw.Close())
	return blob{desc: writeBlob(imgspecv1.MediaTypeImageLayerGzip, gz.Bytes()), diffID: diffID}
}

func fill(seed string, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, seed...)
		b = append(b, '\n')
	}
	return b[:n]
}

// writeImage writes config + manifest blobs and an index.json naming just this manifest.
func writeImage(layers []blob, hist []imgspecv1.History, labels map[string]string, created time.Time) digest.Digest {
	cfg := imgspecv1.Image{
		Created:  &created,
		Author:   "nstore",
		Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		Config: imgspecv1.ImageConfig{
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd:        []string{"/app"},
			WorkingDir: "/",
			Labels:     labels,
		},
		RootFS:  imgspecv1.RootFS{Type: "layers"},
		History: hist,
	}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.diffID)
	}
	cj, err := json.Marshal(cfg)
	must(err)
	cdesc := writeBlob(imgspecv1.MediaTypeImageConfig, cj)
	m := imgspecv1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest, Config: cdesc}
	for _, l := range layers {
		m.Layers = append(m.Layers, l.desc)
	}
	mj, err := json.Marshal(m)
	must(err)
	mdesc := writeBlob(imgspecv1.MediaTypeImageManifest, mj)
	idx := imgspecv1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{mdesc}}
	ij, err := json.Marshal(idx)
	must(err)
	must(os.WriteFile(filepath.Join(ociDir, "index.json"), ij, 0o644))
	return cdesc.Digest
}

func main() {
	if reexec.Init() {
		return
	}
	root := flag.String("root", "", "store directory R (R/root, R/run, R/oci, R/tmp)")
	n := flag.Int("n", 100, "number of app images")
	chain := flag.Int("chain", 51, "length of the chain (the top has chain-1 untagged ancestors)")
	deep := flag.Int("deep", 100, "layers of localhost/deep:latest (0: no such image)")
	clone := flag.String("clone", "", "instead of generating, make R a copy of the store SRC (internal/storeclone.Clone: hard links, no podman database)")
	flag.Parse()
	if *root == "" {
		panic("-root required")
	}
	if *clone != "" {
		must(os.RemoveAll(*root))
		must(storeclone.Clone(*clone, *root))
		return
	}
	ociDir = filepath.Join(*root, "oci")
	// The stamp says the store is complete: drop it until this run has finished.
	if err := os.Remove(filepath.Join(*root, "nstore.json")); err != nil && !os.IsNotExist(err) {
		must(err)
	}
	tmp := filepath.Join(*root, "tmp")
	must(os.MkdirAll(filepath.Join(ociDir, "blobs", "sha256"), 0o755))
	must(os.MkdirAll(tmp, 0o755))
	must(os.WriteFile(filepath.Join(ociDir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))

	store, err := storage.GetStore(storage.StoreOptions{GraphRoot: *root + "/root", RunRoot: *root + "/run", GraphDriverName: "vfs"})
	must(err)
	defer store.Shutdown(true)
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	must(err)
	defer pc.Destroy()
	sys := &types.SystemContext{BigFilesTemporaryDir: tmp}
	opts := &copy.Options{SourceCtx: sys, DestinationCtx: sys}
	ctx := context.Background()

	src, err := ocilayout.NewReference(ociDir, "")
	must(err)
	skipped := 0
	do := func(name, configHex string) {
		if img, err := store.Image(configHex); err == nil && (name == "" || hasName(img.Names, name)) {
			skipped++ // already there: resuming
			return
		}
		var dst types.ImageReference
		if name != "" {
			named, err := reference.ParseNormalizedNamed(name)
			must(err)
			dst, err = is.Transport.NewStoreReference(store, named, "")
			must(err)
		} else {
			dst, err = is.Transport.NewStoreReference(store, nil, configHex)
			must(err)
		}
		_, err := copy.Image(ctx, pc, dst, src, opts)
		must(err)
	}

	base := layer([]tfile{
		{name: "bin/", mode: 0o755, dir: true},
		{name: "bin/busybox", mode: 0o755, data: fill("busybox placeholder", 64*1024)},
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/os-release", mode: 0o644, data: []byte("NAME=nstore\nID=nstore\nVERSION_ID=1\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\n")},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/share/", mode: 0o755, dir: true},
		{name: "usr/share/README", mode: 0o644, data: fill("shared base layer", 8*1024)},
		{name: "data/", mode: 0o755, dir: true},
	})
	baseHist := imgspecv1.History{Created: &epoch, CreatedBy: "/bin/sh -c #(nop) ADD file:" + base.diffID.Encoded() + " in / "}

	t0 := time.Now()
	lastReport := t0
	for i := 0; i < *n; i++ {
		id := fmt.Sprintf("%04d", i)
		u := layer([]tfile{{name: "data/id-" + id, mode: 0o644, data: fill("unique file of image "+id, 4096)}})
		created := epoch.Add(time.Duration(i+1) * time.Minute)
		hist := []imgspecv1.History{baseHist}
		for k := 0; k < 17; k++ {
			c := epoch.Add(time.Duration(i+1)*time.Minute - time.Duration(18-k)*time.Second)
			hist = append(hist, imgspecv1.History{Created: &c, CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  ENV STEP_%02d=value-%02d", k, k), EmptyLayer: true})
		}
		hist = append(hist,
			imgspecv1.History{Created: &created, CreatedBy: "/bin/sh -c #(nop) COPY file:id-" + id + " in /data/ "},
			imgspecv1.History{Created: &created, CreatedBy: `/bin/sh -c #(nop)  CMD ["/app"]`, EmptyLayer: true})
		cfgDigest := writeImage([]blob{base, u}, hist, map[string]string{"org.example.index": id, "org.example.kind": "app"}, created)
		name := ""
		if i%5 < 3 {
			name = "localhost/app-" + id + ":v1"
		}
		do(name, cfgDigest.Encoded())
		// drop this image's own blobs (keep the base layer) so the layout stays small
		os.Remove(filepath.Join(ociDir, "blobs", "sha256", u.desc.Digest.Encoded()))
		if time.Since(lastReport) > 15*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "%s: %d/%d app images, %.1fs\n", *root, i+1, *n, time.Since(t0).Seconds())
		}
	}
	tApps := time.Since(t0)

	t1 := time.Now()
	layers := []blob{base}
	hist := []imgspecv1.History{baseHist}
	for k := 1; k <= *chain; k++ {
		l := layer([]tfile{{name: fmt.Sprintf("data/chain-%02d", k), mode: 0o644, data: fill(fmt.Sprintf("chain step %d", k), 512)}})
		layers = append(layers, l)
		c := epoch.Add(-time.Duration(*chain-k+1) * time.Hour)
		hist = append(hist, imgspecv1.History{Created: &c, CreatedBy: fmt.Sprintf("/bin/sh -c echo step %d > /data/chain-%02d", k, k)})
		cfgDigest := writeImage(layers, append([]imgspecv1.History(nil), hist...), map[string]string{"org.example.chain": fmt.Sprint(k)}, c)
		name := ""
		if k == *chain {
			name = "localhost/chain-top:latest"
		}
		do(name, cfgDigest.Encoded())
	}
	tChain := time.Since(t1)

	t2 := time.Now()
	if *deep > 0 {
		layers := []blob{base}
		hist := []imgspecv1.History{baseHist}
		for k := 1; k < *deep; k++ {
			layers = append(layers, layer([]tfile{{name: fmt.Sprintf("data/deep-%03d", k), mode: 0o644, data: fill(fmt.Sprintf("deep step %d", k), 256)}}))
			c := epoch.Add(-48*time.Hour + time.Duration(k)*time.Minute)
			hist = append(hist, imgspecv1.History{Created: &c, CreatedBy: fmt.Sprintf("/bin/sh -c echo %d > /data/deep-%03d", k, k)})
		}
		created := *hist[len(hist)-1].Created
		cfgDigest := writeImage(layers, hist, map[string]string{"org.example.kind": "deep"}, created)
		do("localhost/deep:latest", cfgDigest.Encoded())
	}
	tDeep := time.Since(t2)

	imgs, err := store.Images()
	must(err)
	ls, err := store.Layers()
	must(err)
	stamp := Stamp{Apps: *n, Chain: *chain, Deep: *deep, Images: len(imgs), Layers: len(ls)}
	sj, err := json.MarshalIndent(stamp, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(*root, "nstore.json"), append(sj, '\n'), 0o644))
	fmt.Printf("root=%s apps=%d chain=%d deep=%d images=%d layers=%d skipped=%d app_s=%.1f chain_s=%.1f deep_s=%.1f total_s=%.1f\n",
		*root, *n, *chain, *deep, len(imgs), len(ls), skipped, tApps.Seconds(), tChain.Seconds(), tDeep.Seconds(), time.Since(t0).Seconds())
}

// Stamp is R/nstore.json: what the store holds, written once every image is in it.
type Stamp struct {
	Apps   int `json:"apps"`
	Chain  int `json:"chain"`
	Deep   int `json:"deep"`
	Images int `json:"images"`
	Layers int `json:"layers"`
}

func hasName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
