package main

import (
	"sort"
	"strings"
	"testing"
)

// TestPrune: nothing is dangling in the loaded store; untagging chain-top makes it dangling;
// --all with a filter removes the images that pass it (children first, so chain-base goes
// once chain-mid is gone); a bad filter is an error naming it.
func TestPrune(t *testing.T) {
	e := newLoadedEnv(t)
	if out := e.mustRun(t, "prune"); out != "" {
		t.Errorf("prune of a store without dangling images printed %q", out)
	}
	e.mustRun(t, "untag", "chain-top", "chain-top:latest", "chain-top:v1")
	if out := e.mustRun(t, "prune", "--force"); out != recordedID(t, "chain-top")+"\n" {
		t.Errorf("prune printed %q, want chain-top's ID", out)
	}
	_, stderr, code := e.run("prune", "--filter", "nosuchkey=1")
	if code != exitError || !strings.Contains(stderr, `"nosuchkey=1"`) || !strings.Contains(stderr, "invalid filter") {
		t.Errorf("bad filter: exit %d, stderr %q", code, stderr)
	}
	out := lines(e.mustRun(t, "prune", "-a", "--filter", "label=org.example.stage"))
	sort.Strings(out)
	want := []string{recordedID(t, "chain-base"), recordedID(t, "chain-mid")}
	sort.Strings(want)
	if strings.Join(out, " ") != strings.Join(want, " ") {
		t.Errorf("prune -a --filter printed %q, want %q", out, want)
	}
	if out := e.mustRun(t, "prune", "-a"); out != recordedID(t, "busybox")+"\n" {
		t.Errorf("prune -a printed %q, want busybox's ID", out)
	}
}
