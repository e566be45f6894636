package main

import (
	"os"
	"testing"
)

// TestTree: `tree` and `tree --whatrequires` print what podman printed for the same store
// (images whose recorded trees name no image missing from testdata).
func TestTree(t *testing.T) {
	e := newTestEnv(t)
	for _, a := range referenceArchives {
		e.mustRun(t, "load", "-i", testdataPath(a))
	}
	for _, c := range []struct{ file, args string }{
		{"chain-top.tree.txt", ""}, {"bud-app.tree.txt", ""}, {"layers20.tree.txt", ""},
		{"tiny.tree-whatrequires.txt", "--whatrequires"}, {"chain-base.tree-whatrequires.txt", "--whatrequires"},
	} {
		want, err := os.ReadFile(testdataPath(c.file))
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"tree", "localhost/" + c.file[:len(c.file)-len(".tree.txt")]}
		if c.args != "" {
			args = []string{"tree", c.args, "localhost/" + c.file[:len(c.file)-len(".tree-whatrequires.txt")]}
		}
		if got := e.mustRun(t, args...); got != string(want) {
			t.Errorf("%v:\n%s\nwant (podman):\n%s", args, got, want)
		}
	}
}
