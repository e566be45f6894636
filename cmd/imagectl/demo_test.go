//go:build imagectl_demo

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

var demoDirLine = regexp.MustCompile(`store in (\S+) \(removed`)

// checkDemoDirRemoved fails the test unless the demo named its temp dir and that dir is gone.
func checkDemoDirRemoved(t *testing.T, out string) {
	t.Helper()
	dir := demoDirLine.FindStringSubmatch(out)
	if dir == nil {
		t.Fatalf("output does not name the demo's temp dir: %.200q", out)
	}
	if _, err := os.Stat(dir[1]); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still there (%v)", dir[1], err)
	}
}

func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"demo", "--testdata", testdataDir}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d, stderr %q, output:\n%s", code, stderr.String(), out)
	}
	busybox := recordedID(t, "busybox")
	digest := recordedInspect(t, "busybox")["Digest"].(string)
	for _, want := range []string{
		"$ imagectl load -i " + testdataPath("chain.multi.docker.tar") + "\nLoaded image: localhost/busybox:latest\n",
		"$ imagectl load -i " + testdataPath("busybox.oci") + "\nLoaded image: localhost/busybox:latest\n",
		"$ imagectl images\nREPOSITORY ",
		"$ imagectl inspect --format '{{.ID}} {{.Digest}}' busybox\n" + busybox + " " + digest + "\n",
		"$ imagectl inspect --format '{{.ID}} {{.RepoTags}}' " + busybox[:8] + "\n" + busybox + " [localhost/busybox:latest]\n",
		"$ imagectl inspect --format '{{.ID}} {{.RepoDigests}}' localhost/busybox@" + digest + "\n" + busybox,
		"$ imagectl untag busybox demo/busybox:v2\n",
		"Moved name: localhost/busybox:latest (from image " + recordedID(t, "tiny")[:12] + ")\n",
		"$ imagectl inspect no-such-image\n[]\nError: looking up \"no-such-image\"",
		"$ imagectl inspect busybox\n[\n     {\n          \"Id\": \"" + busybox + "\"",
		"$ imagectl history localhost/chain-top:latest\nID ",
		"\n" + recordedID(t, "chain-top")[:12] + "  ",
		"$ imagectl tree --whatrequires localhost/chain-base:latest\n" + readTestdata(t, "chain-base.tree-whatrequires.txt"),
		"$ imagectl rm localhost/chain-mid:latest\nUntagged: localhost/chain-mid:latest\n\n",
		"\n<none>                   <none>      " + recordedID(t, "chain-mid")[:12] + "  ",
		"\nUntagged: localhost/chain-top:v1\nUntagged: localhost/chain-top:latest\nDeleted: " + recordedID(t, "chain-top") +
			"\nDeleted: " + recordedID(t, "chain-mid") + "\n",
		"chain.oci.tar\nLoaded image: localhost/chain-top:latest\nLoaded image: localhost/chain-mid:latest\n",
		"$ imagectl prune\n" + recordedID(t, "tiny-whiteout") + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(out, "\n$ imagectl "); n != 39 {
		t.Errorf("%d commands shown, want 39", n)
	}
	host := `127\.0\.0\.1:\d+`
	for _, want := range []*regexp.Regexp{
		// The CREATED column is as wide as its longest value, which depends on today's date.
		regexp.MustCompile(`\$ imagectl images --filter dangling=true\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n<none> +<none> +` +
			recordedID(t, "tiny-whiteout")[:12]),
		// push prints c/image's progress lines (plain, not on a terminal) before the demo's note.
		regexp.MustCompile(`\n\$ imagectl push --tls-verify=false --digestfile \S+/busybox.digest busybox (` + host + `)/demo/busybox:1\n` +
			`Getting image source signatures\nCopying blob sha256:` + strings.TrimSuffix(busyboxRootfsLayer, ".tar") + `\n(?:[^\n$#]*\n)*# pushed as sha256:[0-9a-f]{64}, 2 blobs uploaded\n`),
		regexp.MustCompile(`\n\$ imagectl push --tls-verify=false busybox ` + host + `/demo/busybox:1\n(?:[^\n$#]*\n)*# 0 blobs uploaded\n`),
		regexp.MustCompile(`\n\$ imagectl --root \S+/second/root --runroot \S+/second/run pull -q --tls-verify=false ` + host +
			`/demo/busybox:1\n` + busybox + `\n`),
		regexp.MustCompile(`\n\$ imagectl --root \S+/second/root --runroot \S+/second/run images\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n` +
			host + `/demo/busybox +1 +` + busybox[:12] + ` `),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s", want)
		}
	}
	checkDemoDirRemoved(t, out)
}

func TestDemoMissingTestdata(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), []string{"demo", "--testdata", t.TempDir()}, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "busybox.docker.tar") || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q: want one error naming the missing archive", code, stdout.String(), stderr.String())
	}
}

func TestDemoInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := execute(ctx, []string{"demo", "--testdata", testdataDir}, &stdout, &stderr)
	if code != exitError || stderr.String() != "Error: demo: interrupted\n" {
		t.Errorf("exit %d, stderr %q: want one line saying the demo was interrupted", code, stderr.String())
	}
	checkDemoDirRemoved(t, stdout.String())
}

// readTestdata returns a file of testdata/ as a string.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
