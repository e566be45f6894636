package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/signature/sigstore"
	"go.podman.io/image/v5/types"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
	"go.podman.io/image/v5/manifest"
)

// realImages are the images of testdata/ and the archives that hold them all.
var (
	realImages   = []string{"busybox", "tiny", "tiny-whiteout", "chain-base", "chain-mid", "chain-top", "layers20", "bud-app"}
	realArchives = []string{"chain.multi.docker.tar", "tiny.docker.tar", "tiny-whiteout.docker.tar", "layers20.docker.tar", "bud-app.docker.tar"}
)

// mustPush pushes img to dest and fails the test on error.
func mustPush(t *testing.T, img *Image, dest string, opts *PushOptions) digest.Digest {
	t.Helper()
	d, err := img.Push(context.Background(), dest, opts)
	if err != nil {
		t.Fatalf("pushing %s to %s: %v", img.ID(), dest, err)
	}
	return d
}

// registryManifest fetches the manifest repo:ref from reg as a client accepting OCI and
// Docker manifests would, and returns it with the digest the registry reports for it.
func registryManifest(t *testing.T, reg *testregistry.Registry, repo, ref string) (manifest.OCI1, digest.Digest, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", imgspecv1.MediaTypeImageManifest+", "+manifest.DockerV2Schema2MediaType)
	res, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: %d %v", repo, ref, res.StatusCode, err)
	}
	var m manifest.OCI1 // a Docker schema2 manifest decodes into the same fields
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, digest.Digest(res.Header.Get("Docker-Content-Digest")), res.Header.Get("Content-Type")
}

// recordedRegistryManifest is the manifest skopeo read from a registry for an image of
// testdata/.
func recordedRegistryManifest(t *testing.T, stem string) manifest.OCI1 {
	t.Helper()
	var m manifest.OCI1
	readJSON(t, testdataPath(stem+".registry.manifest.json"), &m)
	return m
}

// storedDiffIDs returns the uncompressed digests of img's layers, bottom first, as the store
// records them.
func storedDiffIDs(t *testing.T, rt *Runtime, img *Image) []string {
	t.Helper()
	var ids []string
	for id := img.TopLayer(); id != ""; {
		l, err := rt.store.Layer(id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{l.UncompressedDigest.String()}, ids...)
		id = l.Parent
	}
	return ids
}

// TestPushRoundTrip pushes every real image, then pulls each back into a second store: the
// registry holds the config skopeo recorded for the same images, and the
// pulled images have the recorded IDs and diff IDs.
func TestPushRoundTrip(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, rec := newPullRuntime(t, reg.Host)
	mustLoad(t, rt, realArchives...)
	rec.take()
	back, _ := newPullRuntime(t, reg.Host)
	for _, stem := range realImages {
		t.Run(stem, func(t *testing.T) {
			img := mustLookup(t, rt, "localhost/"+stem+":latest")
			repo := "peers/" + stem
			d := mustPush(t, img, reg.Host+"/"+repo+":latest", nil)
			got, have, _ := registryManifest(t, reg, repo, "latest")
			want := recordedRegistryManifest(t, stem)
			if d != have {
				t.Errorf("returned digest %s, registry's %s", d, have)
			}
			if got.Config.Digest != want.Config.Digest {
				t.Errorf("config %s, skopeo recorded %s", got.Config.Digest, want.Config.Digest)
			}
			// The gzip bytes of a layer are not compared: busybox's layer (over 1 MiB)
			// compresses differently with the pgzip of skopeo 1.9 and with ours.
			if len(got.Layers) != len(want.Layers) {
				t.Errorf("%d layers, skopeo recorded %d", len(got.Layers), len(want.Layers))
			}
			if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPush, ID: img.ID(), Name: reg.Host + "/" + repo + ":latest"}) {
				t.Errorf("events %+v", ev)
			}
			pulled := pullOne(t, back, reg.Host+"/"+repo+":latest", PullAlways, nil)
			if "sha256:"+pulled.ID() != want.Config.Digest.String() {
				t.Errorf("pulled back as %s, want %s", pulled.ID(), want.Config.Digest)
			}
			if ids, want := storedDiffIDs(t, back, pulled), readFacts(t, stem).DiffIDs; strings.Join(ids, " ") != strings.Join(want, " ") {
				t.Errorf("pulled back diff IDs %v, want %v", ids, want)
			}
		})
	}
}

// newPushRuntime is newPullRuntime (the given plain-HTTP hosts insecure) holding busybox
// and tiny, loaded from their docker-archives; its events so far are dropped.
func newPushRuntime(t *testing.T, insecure ...string) (*Runtime, *recorder) {
	t.Helper()
	rt, rec := newPullRuntime(t, insecure...)
	mustLoad(t, rt, "busybox.docker.tar", "tiny.docker.tar")
	rec.take()
	return rt, rec
}

func TestPushDefaultDestination(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, rec := newPushRuntime(t, reg.Host)
	img := mustLookup(t, rt, "busybox")
	name := reg.Host + "/lib/busybox:1"
	if _, err := img.Tag(name); err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	progress, received := collectProgress()
	d := mustPush(t, img, "", &PushOptions{ReportWriter: &report, Progress: progress})
	// Pushing from the store, c/image names the layer by its uncompressed digest.
	checkProgress(t, report.String(), received(), readFacts(t, "busybox").DiffIDs[0])
	if _, have, _ := registryManifest(t, reg, "lib/busybox", "1"); have != d {
		t.Errorf("pushed %s, the registry has %s under the tag", d, have)
	}
	if st := reg.Stats(); st.ManifestPuts["1"] != 1 || len(st.ManifestPuts) != 1 {
		t.Errorf("manifests stored %v, want tag 1 once", st.ManifestPuts)
	}
	if ev := rec.take(); len(ev) != 2 || ev[1] != (Event{Type: EventPush, ID: img.ID(), Name: name}) {
		t.Errorf("events %+v", ev) // the tag event, then the push
	}

	// An image with no tagged name needs a destination.
	unnamed := mustLookup(t, rt, "tiny")
	if err := unnamed.Untag("localhost/tiny:latest"); err != nil {
		t.Fatal(err)
	}
	rec.take()
	_, err := unnamed.Push(context.Background(), "", nil)
	if !errors.Is(err, ErrNoDestination) || !strings.Contains(err.Error(), unnamed.ID()) {
		t.Errorf("push of an unnamed image without destination: %v", err)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPushError || ev[0].ID != unnamed.ID() || ev[0].Error == nil {
		t.Errorf("events %+v", ev)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := img.Push(canceled, name, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("push with a canceled context: %v", err)
	}
	for _, bad := range []string{"docker://UPPER/case", "oci-archive:"} {
		if _, err := img.Push(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("push to %q: %v, want an error naming it", bad, err)
		}
	}
}

func TestPushOtherTransports(t *testing.T) {
	rt, rec := newPushRuntime(t)
	img := mustLookup(t, rt, "busybox")
	dir := t.TempDir()
	for _, dest := range []string{"oci-archive:" + filepath.Join(dir, "b.tar"), "dir:" + filepath.Join(dir, "d")} {
		d := mustPush(t, img, dest, nil)
		if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPush, ID: img.ID(), Name: dest}) {
			t.Errorf("events %+v", ev)
		}
		back, _ := newPullRuntime(t)
		pulled := pullOne(t, back, dest, PullAlways, nil)
		if pulled.ID() != img.ID() || pulled.Digest() != d {
			t.Errorf("%s: pulled back %s %s, want %s %s", dest, pulled.ID(), pulled.Digest(), img.ID(), d)
		}
	}
}

// TestPushReusesLayers pushes an image twice, and to a second repository: the second push
// sends no blob at all; the third, from a new Runtime over the same store (the blob-info
// cache lives under the store's graph root), mounts the layer instead of uploading it.
func TestPushReusesLayers(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, _ := newPushRuntime(t, reg.Host)
	img := mustLookup(t, rt, "busybox")
	first := mustPush(t, img, reg.Host+"/lib/busybox:1", nil)
	if n := reg.Stats().Uploads(); n != 2 {
		t.Errorf("first push: %d blob uploads, want 2 (layer and config)", n)
	}
	if _, err := os.Stat(filepath.Join(rt.store.GraphRoot(), "cache")); err != nil {
		t.Errorf("no blob-info cache under the graph root: %v", err)
	}
	reg.ResetStats()
	if d := mustPush(t, img, reg.Host+"/lib/busybox:1", nil); d != first {
		t.Errorf("second push: digest %s, first %s", d, first)
	}
	if st := reg.Stats(); st.Uploads() != 0 || st.BlobMounts != 0 || len(st.BlobFetches) != 0 {
		t.Errorf("second push: %d uploads, %d mounts, fetches %v; want none", st.Uploads(), st.BlobMounts, st.BlobFetches)
	}
	again, err := NewRuntime(rt.store, &RuntimeOptions{SystemContext: rt.SystemContext()})
	if err != nil {
		t.Fatal(err)
	}
	reg.ResetStats()
	mustPush(t, mustLookup(t, again, img.ID()), reg.Host+"/other/busybox:1", nil)
	// c/image mounts the layers its cache knows, and uploads the config again (small).
	config := digest.Digest("sha256:" + img.ID())
	if st := reg.Stats(); st.Uploads() != 1 || st.BlobUploads[config] != 1 || st.BlobMounts != 1 {
		t.Errorf("push to another repository: uploads %v, %d mounts; want the config and 1", st.BlobUploads, st.BlobMounts)
	}
}

func TestPushCompression(t *testing.T) {
	reg := startRegistry(t, nil)
	busybox := readFacts(t, "busybox")
	const chunkedKey = "io.github.containers.zstd-chunked.manifest-checksum"
	level := 1
	for _, c := range []struct {
		format    string
		level     *int
		mediaType string
		chunked   bool
	}{
		{"zstd", nil, imgspecv1.MediaTypeImageLayerZstd, false},
		{"zstd:chunked", nil, imgspecv1.MediaTypeImageLayerZstd, true},
		{"zstd", &level, imgspecv1.MediaTypeImageLayerZstd, false},
		{"gzip", &level, manifest.DockerV2Schema2LayerMediaType, false},
	} {
		t.Run(c.format, func(t *testing.T) {
			// A store of its own: c/image would reuse a zstd:chunked blob for zstd.
			rt, _ := newPushRuntime(t, reg.Host)
			img := mustLookup(t, rt, "busybox")
			repo := "lib/" + strings.ReplaceAll(c.format, ":", "-")
			if c.level != nil {
				repo += "-1"
			}
			d := mustPush(t, img, reg.Host+"/"+repo+":1", &PushOptions{CompressionFormat: c.format, CompressionLevel: c.level})
			m, have, _ := registryManifest(t, reg, repo, "1")
			if have != d || len(m.Layers) != 1 {
				t.Fatalf("manifest %s with %d layers, pushed %s", have, len(m.Layers), d)
			}
			l := m.Layers[0]
			if l.MediaType != c.mediaType || (l.Annotations[chunkedKey] != "") != c.chunked {
				t.Errorf("layer %s annotations %v, want %s chunked %v", l.MediaType, l.Annotations, c.mediaType, c.chunked)
			}
			if l.Digest.String() == layerDigest(t, busybox) {
				t.Errorf("layer has the default gzip digest %s", l.Digest)
			}
			back, _ := newPullRuntime(t, reg.Host)
			pulled := pullOne(t, back, reg.Host+"/"+repo+":1", PullAlways, nil)
			if ids := storedDiffIDs(t, back, pulled); pulled.ID() != busybox.ID || strings.Join(ids, " ") != busybox.DiffIDs[0] {
				t.Errorf("pulled back %s %v, want %s %v", pulled.ID(), ids, busybox.ID, busybox.DiffIDs)
			}
		})
	}
	rt, _ := newPushRuntime(t, reg.Host)
	if _, err := mustLookup(t, rt, "busybox").Push(context.Background(), reg.Host+"/lib/x:1", &PushOptions{CompressionFormat: "brotli"}); !errors.Is(err, ErrInvalidCompression) || !strings.Contains(err.Error(), `"brotli"`) {
		t.Errorf("push with brotli: %v", err)
	}
}

func TestPushDigestFile(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, rec := newPushRuntime(t, reg.Host)
	img := mustLookup(t, rt, "busybox")
	path := filepath.Join(t.TempDir(), "digest")
	d := mustPush(t, img, reg.Host+"/lib/busybox:1", &PushOptions{DigestFile: path})
	raw, err := os.ReadFile(path)
	if _, have, _ := registryManifest(t, reg, "lib/busybox", "1"); err != nil || string(raw) != have.String() || d != have {
		t.Errorf("digest file %q (%v), returned %s, the registry's %s", raw, err, d, have)
	}
	rec.take()
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "digest")
	_, err = img.Push(context.Background(), reg.Host+"/lib/busybox:1", &PushOptions{DigestFile: bad})
	if err == nil || !strings.Contains(err.Error(), d.String()) {
		t.Errorf("push with an unwritable digest file: %v, want an error naming the pushed digest", err)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPushError {
		t.Errorf("events %+v", ev)
	}
}

// useSigstoreAttachments points rt's registries.d at a new dir whose entry for host stores
// and reads sigstore signatures as attachments (before rt reads it).
func useSigstoreAttachments(t *testing.T, rt *Runtime, host string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "test.yaml"), "docker:\n  "+host+":\n    use-sigstore-attachments: true\n")
	rt.sys.RegistriesDirPath = dir
}

// newSigstoreKey writes a new sigstore key pair, the private key encrypted with passphrase,
// and returns the paths of the private and public keys.
func newSigstoreKey(t *testing.T, passphrase []byte) (string, string) {
	t.Helper()
	keys, err := sigstore.GenerateKeyPair(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	private, public := filepath.Join(dir, "key.private"), filepath.Join(dir, "key.pub")
	writeFile(t, private, string(keys.PrivateKey))
	writeFile(t, public, string(keys.PublicKey))
	return private, public
}

// TestPushSigned signs a push with a sigstore key: a pull whose policy requires that key for
// the repository accepts the signed image and refuses an unsigned one.
func TestPushSigned(t *testing.T) {
	passphrase := []byte("sigst0re-Passphrase")
	private, public := newSigstoreKey(t, passphrase)
	reg := startRegistry(t, nil)
	rt, rec := newPushRuntime(t, reg.Host)
	useSigstoreAttachments(t, rt, reg.Host)
	signed, unsigned := reg.Host+"/signed/busybox:1", reg.Host+"/signed/tiny:1"
	sign := &PushOptions{SignBySigstorePrivateKeyFile: private, SignSigstorePrivateKeyPassphrase: passphrase}
	d := mustPush(t, mustLookup(t, rt, "busybox"), signed, sign)
	if n := reg.Stats().ManifestPuts["sha256-"+d.Encoded()+".sig"]; n != 1 {
		t.Errorf("signature attachments stored: %v, want one for %s", reg.Stats().ManifestPuts, d)
	}
	mustPush(t, mustLookup(t, rt, "tiny"), unsigned, nil)
	rec.take()

	back, _ := newPullRuntime(t, reg.Host)
	useSigstoreAttachments(t, back, reg.Host)
	writeFile(t, back.sys.SignaturePolicyPath, fmt.Sprintf(`{"default":[{"type":"insecureAcceptAnything"}],
		"transports":{"docker":{%q:[{"type":"sigstoreSigned","keyPath":%q}]}}}`, reg.Host+"/signed", public))
	if img := pullOne(t, back, signed, PullAlways, nil); img.ID() != readFacts(t, "busybox").ID {
		t.Errorf("pulled the signed image as %s", img.ID())
	}
	before := snapshotStore(t, back)
	if _, err := back.Pull(context.Background(), unsigned, PullAlways, nil); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("pull of the unsigned image: %v, want a signature refusal", err)
	}
	assertUnchanged(t, back, before)

	// A wrong passphrase, and a registry whose registries.d entry does not take attachments.
	other, _ := newPushRuntime(t, reg.Host)
	for _, c := range []struct {
		rt   *Runtime
		opts *PushOptions
		want string
	}{
		{rt, &PushOptions{SignBySigstorePrivateKeyFile: private, SignSigstorePrivateKeyPassphrase: []byte("wr0ng-" + string(passphrase))}, private},
		{other, sign, "disabled by configuration"},
	} {
		_, err := mustLookup(t, c.rt, "busybox").Push(context.Background(), reg.Host+"/signed/busybox:2", c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), string(passphrase)) {
			t.Errorf("got %v, want an error containing %q and not the passphrase", err, c.want)
		}
	}
}

func TestPushAuth(t *testing.T) {
	const password = "pu5h-Pa55word"
	reg := startRegistry(t, &testregistry.Options{TLS: true, Username: "pusher", Password: password})
	logs := captureLogs(t)
	rt, rec := newPushRuntime(t)
	img := mustLookup(t, rt, "busybox")
	for _, c := range authCases(t, reg, password) {
		t.Run(c.name, func(t *testing.T) {
			reg.ResetStats()
			_, err := img.Push(context.Background(), reg.Host+"/lib/busybox:1", &PushOptions{RegistryOptions: c.opts})
			ev := rec.take()
			checkAuthResult(t, err, c.ok, ev, password)
			if n := reg.Stats().Uploads(); !c.ok && n != 0 {
				t.Errorf("%d blobs uploaded without valid credentials", n)
			}
			if len(ev) != 1 || (ev[0].Type == EventPush) != c.ok {
				t.Errorf("events %+v", ev)
			}
		})
	}
	checkLogsClean(t, logs, password)
}

func TestPushTLS(t *testing.T) {
	reg := startRegistry(t, &testregistry.Options{TLS: true})
	rt, _ := newPushRuntime(t)
	img := mustLookup(t, rt, "busybox")
	for _, c := range tlsCases(reg) {
		t.Run(c.name, func(t *testing.T) {
			reg.ResetStats()
			_, err := img.Push(context.Background(), reg.Host+"/lib/busybox:1", &PushOptions{RegistryOptions: c.opts})
			if c.ok != (err == nil) {
				t.Fatalf("got %v, want success %v", err, c.ok)
			}
			if !c.ok && (!strings.Contains(err.Error(), "certificate") || reg.Stats().Requests != 0) {
				t.Errorf("got %v after %d requests, want a certificate error and none", err, reg.Stats().Requests)
			}
		})
	}
}

// TestPushRetries pushes through the fault proxy: a 500 on the upload is retried and the push
// succeeds; a 400 is not retried; 500s beyond MaxRetries fail naming the blob.
func TestPushRetries(t *testing.T) {
	reg := startRegistry(t, nil)
	p := startProxy(t, reg)
	two := uint(2)
	retry := RegistryOptions{MaxRetries: &two, RetryDelay: time.Millisecond}
	layer := readFacts(t, "busybox").DiffIDs[0]
	for _, c := range []struct {
		name      string
		fault     testregistry.Fault
		ok        bool
		wantHits  int
		wantInErr string
	}{
		{"500 once", testregistry.Fault{Kind: testregistry.Status, Match: testregistry.BlobUpload(), Times: 1}, true, 1, ""},
		{"400", testregistry.Fault{Kind: testregistry.Status, Status: http.StatusBadRequest, Match: testregistry.BlobUpload()}, false, 1, "injected fault"},
		{"500 always", testregistry.Fault{Kind: testregistry.Status, Match: testregistry.BlobUpload()}, false, 3, layer},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A store of its own, whose blob-info cache knows no blob to mount.
			rt, rec := newPushRuntime(t, p.Host)
			img := mustLookup(t, rt, "busybox")
			p.Clear()
			f := p.Inject(c.fault)
			repo := "lib/" + strings.ReplaceAll(c.name, " ", "-")
			_, err := img.Push(context.Background(), p.Host+"/"+repo+":1", &PushOptions{RegistryOptions: retry})
			if c.ok != (err == nil) {
				t.Fatalf("got %v, want success %v", err, c.ok)
			}
			wantHits(t, f, c.wantHits)
			if err != nil {
				wantIn(t, err, c.wantInErr)
			}
			if ev := rec.take(); len(ev) != 1 || (ev[0].Type == EventPush) != c.ok {
				t.Errorf("events %+v", ev)
			}
		})
	}
}

// TestPushCanceled cancels a push once its first blob has started: the push fails with the
// context's error, stores no manifest and leaves no temp file.
func TestPushCanceled(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, rec := newPushRuntime(t, reg.Host)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := make(chan types.ProgressProperties)
	go func() {
		for p := range progress {
			if p.Event == types.ProgressEventNewArtifact {
				cancel()
			}
		}
	}()
	_, err := mustLookup(t, rt, "busybox").Push(ctx, reg.Host+"/lib/busybox:1", &PushOptions{Progress: progress})
	close(progress)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if st := reg.Stats(); len(st.ManifestPuts) != 0 {
		t.Errorf("manifests stored: %v", st.ManifestPuts)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPushError {
		t.Errorf("events %+v", ev)
	}
	entries, err := os.ReadDir(rt.sys.BigFilesTemporaryDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}
