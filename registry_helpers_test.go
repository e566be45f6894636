package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sirupsen/logrus"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

// startRegistry starts a test registry (nil: plain HTTP) closed at cleanup.
func startRegistry(t testing.TB, opts *testregistry.Options) *testregistry.Registry {
	t.Helper()
	reg, err := testregistry.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Close(); err != nil {
			t.Errorf("closing registry: %v", err)
		}
	})
	return reg
}

// startProxy starts a fault proxy in front of reg, closed at cleanup.
func startProxy(t testing.TB, reg *testregistry.Registry) *testregistry.Proxy {
	t.Helper()
	p, err := reg.StartProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// seed copies src (a c/image reference such as "oci-archive:testdata/busybox.oci.tar") to
// reg as repo (e.g. "lib/busybox:1") and returns the manifest digest there.
func seed(t testing.TB, reg *testregistry.Registry, src, repo string) digest.Digest {
	t.Helper()
	d, err := reg.Put(context.Background(), src, repo, false)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// useRegistries writes the registries.conf of rt (before anything reads it: c/image caches
// it by path): hosts are marked insecure when plain HTTP, search lists the unqualified-search
// registries, mode is the short-name mode and extra is appended as it is.
func useRegistries(t testing.TB, rt *Runtime, search []string, mode, extra string, insecure ...string) {
	t.Helper()
	var b strings.Builder
	quoted := make([]string, len(search))
	for k, s := range search {
		quoted[k] = fmt.Sprintf("%q", s)
	}
	fmt.Fprintf(&b, "unqualified-search-registries = [%s]\nshort-name-mode = %q\n", strings.Join(quoted, ", "), mode)
	for _, h := range insecure {
		fmt.Fprintf(&b, "[[registry]]\nlocation = %q\ninsecure = true\n", h)
	}
	b.WriteString(extra)
	writeFile(t, rt.sys.SystemRegistriesConfPath, b.String())
}

// newPullRuntime is newTestRuntime whose registries.conf marks the given plain-HTTP hosts
// insecure, with no search registries.
func newPullRuntime(t testing.TB, insecure ...string) (*Runtime, *recorder) {
	t.Helper()
	rt, rec := newTestRuntime(t)
	useRegistries(t, rt, nil, "permissive", "", insecure...)
	return rt, rec
}

// noRetries is RegistryOptions with retries off.
func noRetries() RegistryOptions {
	zero := uint(0)
	return RegistryOptions{MaxRetries: &zero}
}

// captureLogs sends logrus's output to a buffer at debug level until the test ends.
func captureLogs(t testing.TB) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	out, level := logrus.StandardLogger().Out, logrus.GetLevel()
	logrus.SetOutput(buf)
	logrus.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() { logrus.SetOutput(out); logrus.SetLevel(level) })
	return buf
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// layerDigest is the compressed digest of the image's only layer in the registry, as skopeo
// recorded it.
func layerDigest(t testing.TB, f facts) string {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(strings.TrimSuffix(f.Names[0][len("localhost/"):], ":latest") + ".facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var layers struct {
		Gzip []string `json:"registry_layer_digests_gzip"`
	}
	if err := json.Unmarshal(raw, &layers); err != nil || len(layers.Gzip) != 1 {
		t.Fatalf("registry layer digests of %v: %v %v", f.Names, layers.Gzip, err)
	}
	return layers.Gzip[0]
}
