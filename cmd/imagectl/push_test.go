package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-1e5c3c91/image/internal/testregistry"
	"go.podman.io/image/v5/signature/sigstore"
)

// registryManifest fetches repo:ref from reg and returns the digest the registry reports
// and the media types of the layers.
func registryManifest(t *testing.T, reg *testregistry.Registry, repo, ref string) (string, []string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	res, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct {
		Layers []struct{ MediaType string }
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("GET manifest %s:%s: %d %v %q", repo, ref, res.StatusCode, err, raw)
	}
	types := make([]string, len(m.Layers))
	for k, l := range m.Layers {
		types[k] = l.MediaType
	}
	return res.Header.Get("Docker-Content-Digest"), types
}

func TestPushCommand(t *testing.T) {
	e, reg := newRegistryEnv(t, nil)
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	digestFile := filepath.Join(t.TempDir(), "digest")
	if out := e.mustRun(t, "push", "--digestfile", digestFile, "busybox", reg.Host+"/mine/busybox:1"); out != "" {
		t.Errorf("push printed %q", out)
	}
	d, layers := registryManifest(t, reg, "mine/busybox", "1")
	if raw, err := os.ReadFile(digestFile); err != nil || string(raw) != d {
		t.Errorf("digest file %q (%v), the registry's digest %s", raw, err, d)
	}
	if len(layers) != 1 || layers[0] != "application/vnd.docker.image.rootfs.diff.tar.gzip" {
		t.Errorf("layers %v", layers)
	}
	reg.ResetStats()
	e.mustRun(t, "push", "-q", "busybox", "docker://"+reg.Host+"/mine/busybox:1")
	if n := reg.Stats().Uploads(); n != 0 {
		t.Errorf("second push uploaded %d blobs", n)
	}
	e.mustRun(t, "push", "--compression-format", "zstd:chunked", "--compression-level", "3", "busybox", reg.Host+"/mine/busybox:zstd")
	if _, layers := registryManifest(t, reg, "mine/busybox", "zstd"); len(layers) != 1 || layers[0] != "application/vnd.oci.image.layer.v1.tar+zstd" {
		t.Errorf("zstd:chunked push: layers %v", layers)
	}
	// Without a destination: the image's name. Then pulled back into another store.
	e.mustRun(t, "tag", "busybox", reg.Host+"/mine/busybox:2")
	e.mustRun(t, "push", reg.Host+"/mine/busybox:2")
	if n := reg.Stats().ManifestPuts["2"]; n != 1 {
		t.Errorf("tag 2 stored %d times", n)
	}
	other := newTestEnv(t)
	if got := other.mustRun(t, "pull", "-q", "--tls-verify=false", reg.Host+"/mine/busybox:2"); got != recordedID(t, "busybox")+"\n" {
		t.Errorf("pulled back %q", got)
	}
	dir := t.TempDir()
	e.mustRun(t, "push", "--remove-signatures", "busybox", "oci-archive:"+filepath.Join(dir, "b.tar"))
	if got := other.mustRun(t, "pull", "-q", "oci-archive:"+filepath.Join(dir, "b.tar")); got != recordedID(t, "busybox")+"\n" {
		t.Errorf("pulled back from oci-archive: %q", got)
	}
}

func TestPushCommandErrors(t *testing.T) {
	e, reg := newRegistryEnv(t, &testregistry.Options{TLS: true, Username: "pusher", Password: "push-s3cret"})
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	name := reg.Host + "/mine/busybox:1"
	key := filepath.Join(t.TempDir(), "key")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"push"}, "push needs an IMAGE"},
		{[]string{"push", "a", "b", "c"}, "got 3 arguments"},
		{[]string{"push", "no-such-image", name}, `"no-such-image"`},
		{[]string{"push", "--compression-format", "brotli", "busybox", name}, `"brotli"`},
		{[]string{"push", "--sign-passphrase-file", key, "busybox", name}, "needs --sign-by-sigstore-private-key"},
		{[]string{"push", "--sign-by-sigstore-private-key", key, "busybox", name}, "give --sign-passphrase-file"},
		{[]string{"push", "--sign-by-sigstore-private-key", key, "--sign-passphrase-file", key, "busybox", name}, "--sign-passphrase-file"},
		{[]string{"push", "--creds", "pusher:wrong-push-s3cret", "--cert-dir", reg.CertDir, "busybox", name}, "authentication required"},
		{[]string{"push", "--creds", "pusher:push-s3cret", "busybox", name}, "certificate"},
	} {
		stdout, stderr, code := e.run(c.args...)
		if code != exitError || stdout != "" || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "push-s3cret") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, stderr, c.want)
		}
	}
	reg.ResetStats()
	e.mustRun(t, "push", "--creds", "pusher:push-s3cret", "--cert-dir", reg.CertDir, "busybox", name)
	if n := reg.Stats().ManifestPuts["1"]; n != 1 {
		t.Errorf("manifest stored %d times", n)
	}
}

// TestPushCommandSigned signs a push with a key generated here; a store whose policy
// requires that key for the repository pulls the signed image and refuses an unsigned one.
func TestPushCommandSigned(t *testing.T) {
	e, reg := newRegistryEnv(t, nil)
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	dir := t.TempDir()
	keys, err := sigstore.GenerateKeyPair([]byte("cmd-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	private, public, passphrase := filepath.Join(dir, "key"), filepath.Join(dir, "key.pub"), filepath.Join(dir, "passphrase")
	writeTestFile(t, private, string(keys.PrivateKey))
	writeTestFile(t, public, string(keys.PublicKey))
	writeTestFile(t, passphrase, "cmd-passphrase\n")
	registriesD := filepath.Join(dir, "registries.d")
	if err := os.Mkdir(registriesD, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(registriesD, "test.yaml"), "docker:\n  "+reg.Host+":\n    use-sigstore-attachments: true\n")
	e.globals = append(e.globals, "--registries-d", registriesD)
	e.mustRun(t, "push", "--sign-by-sigstore-private-key", private, "--sign-passphrase-file", passphrase, "busybox", reg.Host+"/signed/busybox:1")
	e.mustRun(t, "push", "busybox", reg.Host+"/signed/unsigned:1")

	other := newTestEnv(t)
	other.globals = append(other.globals, "--registries-d", registriesD)
	writeTestFile(t, other.global("--signature-policy"), fmt.Sprintf(`{"default":[{"type":"insecureAcceptAnything"}],
		"transports":{"docker":{%q:[{"type":"sigstoreSigned","keyPath":%q}]}}}`, reg.Host+"/signed", public))
	if got := other.mustRun(t, "pull", "-q", "--tls-verify=false", reg.Host+"/signed/busybox:1"); got != recordedID(t, "busybox")+"\n" {
		t.Errorf("pull of the signed image: %q", got)
	}
	_, stderr, code := other.run("pull", "-q", "--tls-verify=false", reg.Host+"/signed/unsigned:1")
	if code != exitError || !strings.Contains(stderr, "signature") {
		t.Errorf("pull of the unsigned image: exit %d, stderr %q", code, stderr)
	}
}

// global returns the value of a global flag of the env.
func (e *testEnv) global(flag string) string {
	for k := 0; k+1 < len(e.globals); k++ {
		if e.globals[k] == flag {
			return e.globals[k+1]
		}
	}
	panic("no global flag " + flag)
}
