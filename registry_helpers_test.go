package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/types"
	"os"
	"path/filepath"
	"slices"
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

// connCase is one way of connecting to a registry (TLS settings, credentials), and whether
// it must succeed.
type connCase struct {
	name string
	opts RegistryOptions
	ok   bool
}

// authCases are the ways to present credentials to reg, whose password is password: the
// right ones as options and in an auth file, a wrong password, and none. Each has reg's
// cert dir.
func authCases(t *testing.T, reg *testregistry.Registry, password string) []connCase {
	t.Helper()
	authFile := filepath.Join(t.TempDir(), "auth.json")
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + password))
	writeFile(t, authFile, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, auth))
	cases := []connCase{
		{"username and password", RegistryOptions{Username: reg.Username, Password: password}, true},
		{"auth file", RegistryOptions{AuthFilePath: authFile}, true},
		{"wrong password", RegistryOptions{Username: reg.Username, Password: "wr0ng-" + password}, false},
		{"no credentials", RegistryOptions{AuthFilePath: filepath.Join(t.TempDir(), "none.json")}, false},
	}
	for k := range cases {
		cases[k].opts.CertDir = reg.CertDir
	}
	return cases
}

// checkAuthResult fails the test unless err is nil when ok and says authentication failed
// otherwise, and unless neither err nor the error of any event carries password.
func checkAuthResult(t *testing.T, err error, ok bool, events []Event, password string) {
	t.Helper()
	if ok != (err == nil) {
		t.Fatalf("got %v, want success %v", err, ok)
	}
	if !ok && !strings.Contains(err.Error(), "unauthorized") && !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("error %q does not say authentication failed", err)
	}
	for _, ev := range events {
		if ev.Error != nil && strings.Contains(ev.Error.Error(), password) {
			t.Errorf("event error carries the password: %v", ev.Error)
		}
	}
	if err != nil && strings.Contains(err.Error(), password) {
		t.Errorf("error carries the password: %v", err)
	}
}

// checkLogsClean fails the test if the captured logs carry secret, or hold no debug line.
func checkLogsClean(t *testing.T, logs *syncBuffer, secret string) {
	t.Helper()
	if out := logs.String(); strings.Contains(out, secret) || !strings.Contains(out, "level=debug") {
		t.Errorf("debug logs (%d bytes) carry the secret, or no debug line was captured", len(out))
	}
}

// tlsCases are the ways to connect to reg, an HTTPS registry: trusting its CA through a
// cert dir, trusting nothing (no retries), verification off.
func tlsCases(reg *testregistry.Registry) []connCase {
	return []connCase{
		{"cert dir", RegistryOptions{CertDir: reg.CertDir}, true},
		{"no cert dir", noRetries(), false},
		{"verification off", RegistryOptions{InsecureSkipTLSVerify: types.OptionalBoolTrue}, true},
	}
}

// collectProgress returns a progress channel and a function that closes it and returns the
// events received.
func collectProgress() (chan types.ProgressProperties, func() []types.ProgressProperties) {
	progress := make(chan types.ProgressProperties)
	var seen []types.ProgressProperties
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range progress {
			seen = append(seen, p)
		}
	}()
	return progress, func() []types.ProgressProperties {
		close(progress)
		<-done
		return seen
	}
}

// checkProgress fails the test unless report holds c/image's copy lines and seen a done
// event for the blob d.
func checkProgress(t *testing.T, report string, seen []types.ProgressProperties, d string) {
	t.Helper()
	if !strings.Contains(report, "Copying blob") || !strings.Contains(report, "Writing manifest") {
		t.Errorf("report %q", report)
	}
	if !slices.ContainsFunc(seen, func(p types.ProgressProperties) bool {
		return p.Event == types.ProgressEventDone && p.Artifact.Digest.String() == d
	}) {
		t.Errorf("no done event for blob %s among %d progress events", d, len(seen))
	}
}
