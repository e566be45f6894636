package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed-1e5c3c91/image"
	"go.podman.io/storage/pkg/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	image.ApplyLayersInProcess() // as main does: the commands' tests apply layers as imagectl does
	os.Exit(m.Run())
}

// testdataDir holds the real archives and podman's recorded output for them.
const testdataDir = "../../testdata"

// testEnv is a throwaway vfs store with its own permissive signature policy and an empty
// registries.conf, and the global flags that point imagectl at them.
type testEnv struct {
	globals []string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	regConf := filepath.Join(dir, "registries.conf")
	writeTestFile(t, policy, demoPolicy)
	writeTestFile(t, regConf, "")
	return &testEnv{globals: []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--signature-policy", policy, "--registries-conf", regConf,
	}}
}

// newLoadedEnv returns a store holding busybox and the images of chain.multi (busybox,
// chain-base, chain-mid, chain-top with tags latest and v1).
func newLoadedEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	e.mustRun(t, "load", "-i", testdataPath("busybox.docker.tar"))
	e.mustRun(t, "load", "-i", testdataPath("chain.multi.docker.tar"))
	return e
}

// run runs imagectl in-process with the env's global flags and returns its stdout, stderr
// and exit code.
func (e *testEnv) run(args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	all := append(append([]string(nil), e.globals...), args...)
	code := execute(context.Background(), all, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// mustRun runs imagectl and fails the test unless it succeeds; it returns stdout.
func (e *testEnv) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := e.run(args...)
	if code != 0 {
		t.Fatalf("imagectl %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testdataPath(name string) string { return filepath.Join(testdataDir, name) }

// readJSON decodes a file of testdata/ into v.
func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

// recordedInspect returns what podman's inspect recorded for an image of testdata/, decoded
// as generic JSON.
func recordedInspect(t *testing.T, name string) map[string]any {
	t.Helper()
	var data []map[string]any
	readJSON(t, name+".inspect.json", &data)
	if len(data) != 1 {
		t.Fatalf("%s.inspect.json: %d entries", name, len(data))
	}
	return data[0]
}

// recordedID returns an image's full ID as podman recorded it.
func recordedID(t *testing.T, name string) string {
	t.Helper()
	return recordedInspect(t, name)["Id"].(string)
}

// recordedTable returns the rows of podman's recorded `images` table, split into columns,
// keyed by "repository:tag".
func recordedTable(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(testdataPath("reference-store.images.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n")[1:] {
		cols := splitColumns(line)
		rows[cols[0]+":"+cols[1]] = cols
	}
	return rows
}

var columnGap = regexp.MustCompile(`\s{2,}`)

// splitColumns splits a table line at runs of two or more spaces.
func splitColumns(line string) []string {
	return columnGap.Split(strings.TrimSpace(line), -1)
}

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestIsQuery: the commands that only read the store are told apart from the others through
// the global flags before them.
func TestIsQuery(t *testing.T) {
	for args, want := range map[string]bool{
		"images":                               true,
		"--root /r --runroot /x images -a":     true,
		"--storage-driver vfs history busybox": true,
		"tree --whatrequires x":                true,
		"inspect x":                            true,
		"df":                                   true,
		"rm x":                                 false,
		"--root /r pull busybox":               false,
		"load -i x.tar":                        false,
		"":                                     false,
		"nosuchcommand":                        false,
	} {
		if got := isQuery(strings.Fields(args)); got != want {
			t.Errorf("isQuery(%q) = %v, want %v", args, got, want)
		}
	}
}
