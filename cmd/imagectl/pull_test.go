package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

// newRegistryEnv starts a registry of the given flavour holding busybox as lib/busybox:1
// and tiny as lib/busybox:2, and a test env whose registries.conf lists it as the only
// unqualified-search registry (insecure when it is plain HTTP).
func newRegistryEnv(t *testing.T, opts *testregistry.Options) (*testEnv, *testregistry.Registry) {
	t.Helper()
	reg, err := testregistry.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	for src, repo := range map[string]string{"busybox.oci.tar": "lib/busybox:1", "tiny.oci.tar": "lib/busybox:2"} {
		if _, err := reg.Put(context.Background(), "oci-archive:"+testdataPath(src), repo, false); err != nil {
			t.Fatal(err)
		}
	}
	e := newTestEnv(t)
	conf := fmt.Sprintf("unqualified-search-registries = [%q]\n", reg.Host)
	if reg.CertDir == "" {
		conf += fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n", reg.Host)
	}
	writeTestFile(t, e.globals[len(e.globals)-1], conf)
	return e, reg
}

func TestPullCommand(t *testing.T) {
	e, reg := newRegistryEnv(t, nil)
	busybox, tiny := recordedID(t, "busybox"), recordedID(t, "tiny")
	if got := e.mustRun(t, "pull", "-q", "lib/busybox:1"); got != busybox+"\n" {
		t.Errorf("pull of a short name: %q, want %s", got, busybox)
	}
	if got := e.mustRun(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); got != reg.Host+"/lib/busybox:1\n" {
		t.Errorf("images after pull: %q", got)
	}
	reg.ResetStats()
	if got := e.mustRun(t, "pull", "--policy", "never", reg.Host+"/lib/busybox:1"); got != busybox+"\n" || reg.Stats().Requests != 0 {
		t.Errorf("pull --policy never of a local image: %q, %d requests", got, reg.Stats().Requests)
	}
	reg.ResetStats()
	if got := e.mustRun(t, "pull", "-q", reg.Host+"/lib/busybox:1"); got != busybox+"\n" || reg.Stats().Requests == 0 {
		t.Errorf("pull without --policy of a local image: %q, %d requests (podman's default policy is always)", got, reg.Stats().Requests)
	}
	got := e.mustRun(t, "pull", "--all-tags", "--policy", "always", "docker://"+reg.Host+"/lib/busybox")
	if got != busybox+"\n"+tiny+"\n" {
		t.Errorf("pull --all-tags: %q, want both IDs in tag order", got)
	}
	if got := e.mustRun(t, "pull", "--platform", "linux/amd64", "--policy", "newer", "lib/busybox:2"); got != tiny+"\n" {
		t.Errorf("pull --platform: %q", got)
	}
}

func TestPullCommandErrors(t *testing.T) {
	e, reg := newRegistryEnv(t, &testregistry.Options{TLS: true, Username: "puller", Password: "cmd-s3cret"})
	name := reg.Host + "/lib/busybox:1"
	authFile := filepath.Join(t.TempDir(), "auth.json")
	writeTestFile(t, authFile, `{"auths":{}}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pull", "--policy", "sometimes", name}, `--policy: "sometimes"`},
		{[]string{"pull", "--platform", "linux", name}, `invalid --platform "linux"`},
		{[]string{"pull", "--creds", ":x", name}, "user name is empty"},
		{[]string{"pull", "--creds", "puller", name}, "no password"},
		{[]string{"pull"}, "exactly one"},
		{[]string{"pull", "--policy", "never", name}, "image not known"},
		{[]string{"pull", "--authfile", authFile, "--cert-dir", reg.CertDir, name}, "authentication required"},
		{[]string{"pull", "--creds", "puller:wrong-cmd-s3cret", "--cert-dir", reg.CertDir, name}, "authentication required"},
		{[]string{"pull", "--creds", "puller:cmd-s3cret", name}, "certificate"},
		{[]string{"pull", "--tls-verify=false", "--creds", "puller:cmd-s3cret", "--policy", "never", name}, "image not known"},
	} {
		stdout, stderr, code := e.run(c.args...)
		if code != exitError || stdout != "" || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "cmd-s3cret") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, stderr, c.want)
		}
	}
	for _, args := range [][]string{
		{"pull", "--creds", "puller:cmd-s3cret", "--cert-dir", reg.CertDir, name},
		{"pull", "--tls-verify=false", "--creds", "puller:cmd-s3cret", "--policy", "always", name},
	} {
		if got := e.mustRun(t, args...); got != recordedID(t, "busybox")+"\n" {
			t.Errorf("%v: %q", args, got)
		}
	}
}
