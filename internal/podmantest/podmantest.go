// Package podmantest runs the real podman (Debian's podman 4.3 in CI) on a test's own
// containers/storage store, for the interop tests: what we write, podman must read as we do,
// and the reverse.
//
// Podman is pointed at the store by a storage.conf of the test's (graph root, run root, vfs),
// and at a private containers.conf (its tmp dir, image copy tmp dir, network config dir, no
// events, cgroupfs), registries.conf, policy and auth file, all under a temp dir of the test:
// it never reads or writes the system's store. (As root, podman 4.3 keeps its blob-info
// cache in /var/lib/containers/cache whatever it is told; that cache holds digests only.)
//
// When podman is not installed, New skips the test with a message, except when the
// environment says CI=true: CI installs podman, so there its absence is a failure.
package podmantest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Podman runs podman commands on one store.
type Podman struct {
	// Dir holds podman's private configuration, tmp dirs and the policy (Policy).
	Dir string
	// Policy is a permissive signature policy, for commands that copy images.
	Policy string
	tb     testing.TB
	env    []string
}

// Available reports whether podman is on the PATH.
func Available() bool {
	_, err := exec.LookPath("podman")
	return err == nil
}

// New returns a Podman working on the store at graphRoot and runRoot with the vfs driver,
// or skips tb when podman is not installed (fails it when CI=true).
func New(tb testing.TB, graphRoot, runRoot string) *Podman {
	tb.Helper()
	if !Available() {
		if os.Getenv("CI") == "true" {
			tb.Fatal("podman is not installed, and CI must run the interop tests: .ci/run installs it")
		}
		tb.Skip("podman is not installed: the interop tests need it (apt-get install podman)")
	}
	dir := tb.TempDir()
	p := &Podman{Dir: dir, Policy: filepath.Join(dir, "policy.json"), tb: tb}
	for _, sub := range []string{"tmp", "libpod-tmp", "networks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	files := map[string]string{
		"storage.conf": fmt.Sprintf("[storage]\ndriver = \"vfs\"\nrunroot = %q\ngraphroot = %q\n", runRoot, graphRoot),
		"containers.conf": fmt.Sprintf("[engine]\ntmp_dir = %q\nevents_logger = \"none\"\nimage_copy_tmp_dir = %q\ncgroup_manager = \"cgroupfs\"\n"+
			"[network]\nnetwork_config_dir = %q\n",
			filepath.Join(dir, "libpod-tmp"), filepath.Join(dir, "tmp"), filepath.Join(dir, "networks")),
		"registries.conf": "unqualified-search-registries = []\nshort-name-mode = \"permissive\"\n",
		"policy.json":     `{"default":[{"type":"insecureAcceptAnything"}]}` + "\n",
		"auth.json":       "{}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	p.env = append(os.Environ(),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
		"REGISTRY_AUTH_FILE="+filepath.Join(dir, "auth.json"),
		"TMPDIR="+filepath.Join(dir, "tmp"),
	)
	return p
}

// Run runs podman with args and returns its standard output; a failure's error holds its
// standard error.
func (p *Podman) Run(args ...string) (string, error) {
	cmd := exec.Command("podman", args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Must runs podman with args and returns its standard output, failing the test on error.
func (p *Podman) Must(args ...string) string {
	p.tb.Helper()
	out, err := p.Run(args...)
	if err != nil {
		p.tb.Fatal(err)
	}
	return out
}

// JSON runs podman with args and decodes its standard output into v, failing the test on
// error.
func (p *Podman) JSON(v any, args ...string) {
	p.tb.Helper()
	out := p.Must(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		p.tb.Fatalf("podman %s: decoding its output: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Buildah runs buildah with args on the same store and configuration as podman, and
// returns its standard output, failing the test on error.
func (p *Podman) Buildah(args ...string) string {
	p.tb.Helper()
	cmd := exec.Command("buildah", args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		p.tb.Fatalf("buildah %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String()
}
