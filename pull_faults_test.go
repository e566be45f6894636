package image

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

// TestPullFaults pulls busybox through the fault proxy: transient faults are retried and
// the pull succeeds; the others fail without retries, leave the store as it was and no
// temp files.
func TestPullFaults(t *testing.T) {
	busybox := readFacts(t, "busybox")
	layer := digest.Digest(layerDigest(t, busybox))
	three := uint(3)
	retry := RegistryOptions{MaxRetries: &three, RetryDelay: time.Millisecond}
	for _, c := range []struct {
		name    string
		fault   testregistry.Fault
		timeout time.Duration
		ok      bool
		// check looks at the error (nil on success) and what the fault did.
		check func(t *testing.T, err error, f *testregistry.Injected)
	}{
		{"manifest 500 once", testregistry.Fault{Kind: testregistry.Status, Match: testregistry.ManifestGet("1"), Times: 1}, 0, true,
			func(t *testing.T, _ error, f *testregistry.Injected) { wantHits(t, f, 1) }},
		{"blob 503 once", testregistry.Fault{Kind: testregistry.Status, Status: 503, Match: testregistry.BlobGet(layer), Times: 1}, 0, true,
			func(t *testing.T, _ error, f *testregistry.Injected) { wantHits(t, f, 1) }},
		{"blob 500 always", testregistry.Fault{Kind: testregistry.Status, Match: testregistry.BlobGet(layer)}, 0, false,
			func(t *testing.T, err error, f *testregistry.Injected) {
				if f.Hits() < 4 {
					t.Errorf("a lasting 500 was tried %d times, want 1 + 3 retries at least", f.Hits())
				}
				wantIn(t, err, layer.String())
			}},
		{"cut body once", testregistry.Fault{Kind: testregistry.CutBody, Size: 1000, Match: testregistry.BlobGet(layer), Times: 1}, 0, true,
			func(t *testing.T, _ error, f *testregistry.Injected) { wantHits(t, f, 1) }},
		{"corrupt blob", testregistry.Fault{Kind: testregistry.Corrupt, Match: testregistry.BlobGet(layer)}, 0, false,
			func(t *testing.T, err error, f *testregistry.Injected) {
				wantIn(t, err, layer.String())
				if f.Hits() != 1 {
					t.Errorf("a digest mismatch was tried %d times, want once (never retried)", f.Hits())
				}
			}},
		{"stall", testregistry.Fault{Kind: testregistry.Stall, Match: testregistry.BlobGet(layer)}, 2 * time.Second, false,
			func(t *testing.T, err error, _ *testregistry.Injected) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("stall: %v, want the deadline's error", err)
				}
			}},
		{"huge error body", testregistry.Fault{Kind: testregistry.HugeBody, Match: testregistry.ManifestGet("1")}, 0, false,
			func(t *testing.T, err error, f *testregistry.Injected) {
				if len(err.Error()) > 64<<10 {
					t.Errorf("error of %d bytes", len(err.Error()))
				}
				if n := f.BytesWritten(); n > 64<<20*int64(f.Hits()) {
					t.Errorf("the client read %d bytes of error bodies", n)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := startRegistry(t, nil)
			seed(t, reg, busyboxArchive, "lib/busybox:1")
			p := startProxy(t, reg)
			f := p.Inject(c.fault)
			rt, rec := newPullRuntime(t, p.Host)
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			before := snapshotStore(t, rt)
			images, err := rt.Pull(ctx, p.Host+"/lib/busybox:1", PullAlways, &PullOptions{RegistryOptions: retry})
			if c.ok {
				if err != nil || len(images) != 1 || images[0].ID() != busybox.ID {
					t.Fatalf("got %v, %v; want %s", images, err, busybox.ID)
				}
			} else {
				if err == nil {
					t.Fatal("pull succeeded")
				}
				assertUnchanged(t, rt, before)
				if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPullError {
					t.Errorf("events %+v", ev)
				}
			}
			c.check(t, err, f)
			assertEmptyDir(t, rt.sys.BigFilesTemporaryDir)
		})
	}
}

func wantHits(t *testing.T, f *testregistry.Injected, n int) {
	t.Helper()
	if f.Hits() != n {
		t.Errorf("fault acted %d times, want %d", f.Hits(), n)
	}
}

func wantIn(t *testing.T, err error, s string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), s) {
		t.Errorf("error %v does not name %s", err, s)
	}
}

// TestPullRedirectDropsAuthorization: a blob redirected to another host (127.0.0.2) is
// fetched there without the registry's Authorization header.
func TestPullRedirectDropsAuthorization(t *testing.T) {
	reg := startRegistry(t, &testregistry.Options{TLS: true, Username: "puller", Password: "redirect-secret"})
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	p := startProxy(t, reg)
	f := p.Inject(testregistry.Fault{Kind: testregistry.Redirect, Match: testregistry.BlobGet("")})
	rt, _ := newPullRuntime(t)
	opts := &PullOptions{RegistryOptions: RegistryOptions{CertDir: reg.CertDir, Username: reg.Username, Password: reg.Password}}
	img := pullOne(t, rt, p.Host+"/lib/busybox:1", PullAlways, opts)
	if img.ID() != readFacts(t, "busybox").ID {
		t.Errorf("pulled %s", img.ID())
	}
	redirected := p.Redirected()
	if f.Hits() != 2 || len(redirected) != 2 {
		t.Fatalf("%d blobs redirected, %d requests at the target; want 2 (config and layer)", f.Hits(), len(redirected))
	}
	for _, r := range redirected {
		if r.Authorization {
			t.Errorf("%s %s carried the Authorization header to the other host", r.Method, r.Path)
		}
	}
	authorized := false
	for _, r := range p.Requests() {
		authorized = authorized || r.Authorization
	}
	if !authorized {
		t.Error("no request to the registry carried credentials: the test proves nothing")
	}
}

// TestPullPlatforms pushes a two-platform index (tiny as linux/amd64 and a copy of it
// relabelled linux/arm64/v8) and pulls each platform, then one the index lacks.
func TestPullPlatforms(t *testing.T) {
	reg := startRegistry(t, nil)
	tiny := readFacts(t, "tiny")
	armID := twoPlatformLayout(t, reg)
	rt, rec := newPullRuntime(t, reg.Host)
	name := reg.Host + "/multi:1"
	for _, c := range []struct {
		platform Platform
		want     string
	}{
		{Platform{OS: "linux", Architecture: "amd64"}, tiny.ID},
		{Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, armID},
		{Platform{OS: "linux", Architecture: "amd64"}, tiny.ID}, // the local arm64 image does not count
	} {
		img := pullOne(t, rt, name, PullMissing, &PullOptions{Platform: c.platform})
		if img.ID() != c.want {
			t.Errorf("%s: pulled %s, want %s", c.platform, img.ID(), c.want)
		}
		config, err := img.Config(context.Background())
		if err != nil || config.Architecture != c.platform.Architecture {
			t.Errorf("%s: config %+v, %v", c.platform, config, err)
		}
	}
	rec.take()
	before := snapshotStore(t, rt)
	_, err := rt.Pull(context.Background(), name, PullAlways, &PullOptions{Platform: Platform{OS: "linux", Architecture: "s390x"}})
	if !errors.Is(err, ErrPlatformUnknown) || !strings.Contains(err.Error(), "linux/s390x") {
		t.Errorf("missing platform: %v, want ErrPlatformUnknown naming linux/s390x", err)
	}
	assertUnchanged(t, rt, before)
}

// twoPlatformLayout writes an OCI layout whose index holds tiny (amd64) and tiny with an
// arm64 config, copies it to reg as multi:1 and returns the arm64 image's ID.
func twoPlatformLayout(t *testing.T, reg *testregistry.Registry) string {
	t.Helper()
	src := testdataPath("tiny.oci")
	dir := t.TempDir()
	var index imgspecv1.Index
	readJSON(t, filepath.Join(src, "index.json"), &index)
	amd := index.Manifests[0]
	var m imgspecv1.Manifest
	readJSON(t, blobPath(src, amd.Digest), &m)
	for _, d := range append([]imgspecv1.Descriptor{amd, m.Config}, m.Layers...) {
		copyFile(t, blobPath(src, d.Digest), blobPath(dir, d.Digest))
	}
	var config map[string]any
	readJSON(t, blobPath(src, m.Config.Digest), &config)
	config["architecture"], config["variant"] = "arm64", "v8"
	m.Config = writeBlob(t, dir, m.Config.MediaType, config)
	arm := writeBlob(t, dir, imgspecv1.MediaTypeImageManifest, m)
	amd.Annotations = nil
	amd.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}
	arm.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	inner := writeBlob(t, dir, imgspecv1.MediaTypeImageIndex,
		imgspecv1.Index{Versioned: index.Versioned, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{amd, arm}})
	top := imgspecv1.Index{Versioned: index.Versioned, Manifests: []imgspecv1.Descriptor{inner}}
	writeJSON(t, filepath.Join(dir, "index.json"), top)
	writeFile(t, filepath.Join(dir, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`)
	if _, err := reg.Put(context.Background(), "oci:"+dir, "multi:1", true); err != nil {
		t.Fatal(err)
	}
	return m.Config.Digest.Encoded()
}

func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func writeJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(raw))
	return raw
}

// writeBlob stores v as JSON in the layout at dir and returns its descriptor.
func writeBlob(t *testing.T, dir, mediaType string, v any) imgspecv1.Descriptor {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(raw)
	writeJSON(t, blobPath(dir, d), json.RawMessage(raw))
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(raw))}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
