package main

import (
	"sort"
	"strings"
	"testing"
)

// TestRm follows podman's rmi on the recorded chain (busybox ← chain-base ← chain-mid ←
// chain-top:latest,v1): untag one of several names, untag and keep a parent's last name,
// refuse an ID with children, remove a chain with its dangling parents.
func TestRm(t *testing.T) {
	e := newLoadedEnv(t)
	busybox, base, mid, top := recordedID(t, "busybox"), recordedID(t, "chain-base"), recordedID(t, "chain-mid"), recordedID(t, "chain-top")

	if out := e.mustRun(t, "rm", "chain-top:v1"); out != "Untagged: localhost/chain-top:v1\n" {
		t.Errorf("rm chain-top:v1 printed %q", out)
	}
	if out := e.mustRun(t, "rmi", "chain-top"); out != "Untagged: localhost/chain-top:latest\nDeleted: "+top+"\n" {
		t.Errorf("rmi chain-top printed %q", out)
	}
	// chain-base has a child: its last name goes, the image stays.
	if out := e.mustRun(t, "rm", "chain-base"); out != "Untagged: localhost/chain-base:latest\n" {
		t.Errorf("rm chain-base printed %q", out)
	}
	e.mustRun(t, "inspect", base)
	stdout, stderr, code := e.run("rm", "--force", busybox)
	if code != exitError || stdout != "" || !strings.Contains(stderr, `"`+busybox+`"`) || !strings.Contains(stderr, "dependent child images") {
		t.Errorf("rm of busybox by ID: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// An unknown name fails, the others are still removed: chain-mid, then chain-base, which
	// that left dangling; busybox keeps its name.
	stdout, stderr, code = e.run("rm", "nosuch", "chain-mid", "nosuch2")
	if want := "Untagged: localhost/chain-mid:latest\nDeleted: " + mid + "\nDeleted: " + base + "\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	errLines := lines(stderr)
	if code != exitError || len(errLines) != 2 || !strings.HasPrefix(errLines[0], "Error: ") ||
		!strings.Contains(errLines[0], `"nosuch"`) || !strings.Contains(errLines[1], `"nosuch2"`) {
		t.Errorf("exit %d, stderr %q: want one Error line per unknown name", code, stderr)
	}
	if ids := lines(e.mustRun(t, "images", "-a", "--format", "{{.ID}}")); len(ids) != 1 || ids[0] != busybox[:12] {
		t.Errorf("images left: %q, want busybox", ids)
	}
}

// TestRmForceAndNoPrune: an ID of an image with several names needs --force; --no-prune
// keeps the parents left dangling, which prune then removes.
func TestRmForceAndNoPrune(t *testing.T) {
	e := newLoadedEnv(t)
	e.mustRun(t, "load", "-i", testdataPath("tiny.docker.tar"))
	tiny := recordedID(t, "tiny")
	e.mustRun(t, "tag", "tiny", "tiny:2")
	_, stderr, code := e.run("rm", tiny[:12])
	if code != exitError || !strings.Contains(stderr, "more than one name") {
		t.Errorf("rm by ID without --force: exit %d, stderr %q", code, stderr)
	}
	// The names come in the store's order (c/storage puts a name added last first).
	if out := e.mustRun(t, "rm", "-f", tiny[:12]); out != "Untagged: localhost/tiny:2\nUntagged: localhost/tiny:latest\nDeleted: "+tiny+"\n" {
		t.Errorf("rm -f printed %q", out)
	}

	mid, top := recordedID(t, "chain-mid"), recordedID(t, "chain-top")
	e.mustRun(t, "untag", "chain-mid", "chain-mid")
	out := e.mustRun(t, "rm", "--no-prune", "chain-top:latest", "chain-top:v1")
	if out != "Untagged: localhost/chain-top:latest\nUntagged: localhost/chain-top:v1\nDeleted: "+top+"\n" {
		t.Errorf("rm --no-prune printed %q", out)
	}
	if out := e.mustRun(t, "prune"); out != mid+"\n" {
		t.Errorf("prune printed %q, want chain-mid's ID", out)
	}
	if out := e.mustRun(t, "prune", "-f"); out != "" {
		t.Errorf("second prune printed %q, want nothing", out)
	}
}

// TestRmAll removes every image: every name is untagged, every image deleted.
func TestRmAll(t *testing.T) {
	e := newLoadedEnv(t)
	out := lines(e.mustRun(t, "rm", "--all"))
	var untagged, deleted []string
	for _, l := range out {
		if name, ok := strings.CutPrefix(l, "Untagged: "); ok && len(deleted) == 0 {
			untagged = append(untagged, name)
		} else if id, ok := strings.CutPrefix(l, "Deleted: "); ok {
			deleted = append(deleted, id)
		} else {
			t.Errorf("unexpected line %q", l)
		}
	}
	sort.Strings(untagged)
	sort.Strings(deleted)
	wantNames := []string{"localhost/busybox:latest", "localhost/chain-base:latest", "localhost/chain-mid:latest",
		"localhost/chain-top:latest", "localhost/chain-top:v1"}
	wantIDs := []string{recordedID(t, "busybox"), recordedID(t, "chain-base"), recordedID(t, "chain-mid"), recordedID(t, "chain-top")}
	sort.Strings(wantIDs)
	if strings.Join(untagged, " ") != strings.Join(wantNames, " ") || strings.Join(deleted, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("untagged %q deleted %q", untagged, deleted)
	}
	if out := e.mustRun(t, "images", "-a", "-q"); out != "" {
		t.Errorf("images left: %q", out)
	}
}

func TestRmUsage(t *testing.T) {
	e := newTestEnv(t)
	for _, args := range [][]string{{"rm"}, {"rm", "-a", "busybox"}} {
		if _, stderr, code := e.run(args...); code != exitError || !strings.HasPrefix(stderr, "Error: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
