package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestTagUntag(t *testing.T) {
	e := newLoadedEnv(t)
	busybox := recordedID(t, "busybox")
	repoTags := func(name string) string {
		t.Helper()
		return strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.RepoTags}}", name))
	}

	if out := e.mustRun(t, "tag", "busybox", "demo/box:v2", "quay.io/x/box"); out != "" {
		t.Errorf("tag printed %q, want nothing", out)
	}
	if got, want := repoTags("busybox"), "[localhost/busybox:latest localhost/demo/box:v2 quay.io/x/box:latest]"; !sameWords(got, want) {
		t.Errorf("after tag: RepoTags %s, want %s", got, want)
	}
	rows := lines(e.mustRun(t, "images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"))
	for _, name := range []string{"localhost/demo/box:v2", "quay.io/x/box:latest", "localhost/busybox:latest"} {
		if !contains(rows, busybox[:12]+" "+name) {
			t.Errorf("images has no row for %s: %q", name, rows)
		}
	}
	if id := strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.Id}}", "demo/box:v2")); id != busybox {
		t.Errorf("demo/box:v2 is %s, want busybox %s", id, busybox)
	}

	if out := e.mustRun(t, "untag", "busybox", "demo/box:v2", "quay.io/x/box:latest"); out != "" {
		t.Errorf("untag printed %q, want nothing", out)
	}
	if got := repoTags("busybox"); got != "[localhost/busybox:latest]" {
		t.Errorf("after untag: RepoTags %s", got)
	}
	if _, stderr, code := e.run("inspect", "demo/box:v2"); code == 0 || !strings.Contains(stderr, `"demo/box:v2"`) {
		t.Errorf("inspect of an untagged name: exit %d, stderr %q", code, stderr)
	}
}

func TestTagMovesName(t *testing.T) {
	e := newLoadedEnv(t)
	e.mustRun(t, "tag", "chain-base", "localhost/busybox:latest")
	if got := strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.Id}}", "busybox")); got != recordedID(t, "chain-base") {
		t.Errorf("busybox is %s after the tag, want chain-base", got)
	}
	// chain-base now has two names (in the store's order), busybox none: it is intermediate
	// (chain-base is built on it), so only -a lists it.
	rows := lines(e.mustRun(t, "images", "-a", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"))
	base, busybox := recordedID(t, "chain-base")[:12], recordedID(t, "busybox")[:12]
	if len(rows) != 6 || rows[5] != busybox+" <none>:<none>" {
		t.Fatalf("rows %q: want 6, busybox last and unnamed", rows)
	}
	got := []string{rows[3], rows[4]}
	sort.Strings(got)
	if want := []string{base + " localhost/busybox:latest", base + " localhost/chain-base:latest"}; !reflect.DeepEqual(got, want) {
		t.Errorf("chain-base rows %q, want %q", got, want)
	}
}

func sameWords(a, b string) bool {
	wa, wb := strings.Fields(strings.Trim(a, "[]")), strings.Fields(strings.Trim(b, "[]"))
	if len(wa) != len(wb) {
		return false
	}
	for _, w := range wa {
		if !contains(wb, w) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestTagUntagAllOrNothing: a bad name anywhere in the list changes nothing.
func TestTagUntagAllOrNothing(t *testing.T) {
	e := newLoadedEnv(t)
	repoTags := func() string {
		t.Helper()
		return strings.TrimSpace(e.mustRun(t, "inspect", "--format", "{{.RepoTags}}", "busybox"))
	}
	before := repoTags()
	for _, args := range [][]string{
		{"tag", "busybox", "good1", "BAD", "good2"},
		{"tag", "busybox", "good1", "x@sha256:" + strings.Repeat("a", 64)},
		{"untag", "busybox", "busybox", "nosuchname"},
		{"untag", "busybox", "busybox", "a__b"},
	} {
		_, stderr, code := e.run(args...)
		if code == 0 || !strings.HasPrefix(stderr, "Error: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if got := repoTags(); got != before {
			t.Errorf("%v changed the names: %s, before %s", args, got, before)
		}
	}
}
