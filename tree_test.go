package image

import (
	"context"
	"os"
	"strings"
	"testing"
)

// missingFromTestdata are the layers of the recorded trees that belong to images whose
// archives are not shipped (big100: its three layers on busybox).
var missingFromTestdata = []string{"b33e7d1defb3"}

// TestTreeMatchesPodman compares Tree with podman's recorded `image tree` and
// `image tree --whatrequires` for every shipped image, in the reference store.
func TestTreeMatchesPodman(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	ctx := context.Background()
	for _, rec := range recordedImages {
		for _, whatRequires := range []bool{false, true} {
			file := rec.stem + ".tree.txt"
			if whatRequires {
				file = rec.stem + ".tree-whatrequires.txt"
			}
			t.Run(file, func(t *testing.T) {
				raw, err := os.ReadFile(testdataPath(file))
				if err != nil {
					t.Fatal(err)
				}
				want := dropRecordedSubtrees(strings.TrimRight(string(raw), "\n"), missingFromTestdata)
				tree, err := rt.Tree(ctx, mustLookup(t, rt, rec.name), &TreeOptions{WhatRequires: whatRequires})
				if err != nil {
					t.Fatal(err)
				}
				if got := tree.String(); got != want {
					t.Errorf("got:\n%s\npodman (less the layers of images not shipped):\n%s", got, want)
				}
			})
		}
	}
}

// dropRecordedSubtrees removes from a recorded tree the lines of the given layers and every
// line nested under them, and redraws the connectors of the lines left, as the same tree
// without those layers is drawn.
func dropRecordedSubtrees(text string, layers []string) string {
	var header []string
	var items []line
	for _, l := range strings.Split(text, "\n") {
		k := strings.Index(l, "ID: ")
		if !strings.HasPrefix(l, "Image ID") && k >= 4 && strings.Contains(l[:k], "─") {
			items = append(items, line{depth: len([]rune(l[:k]))/4 - 1, text: l[k:]})
			continue
		}
		header = append(header, l)
	}
	var kept []line
	skipBelow := -1
	for _, it := range items {
		if skipBelow >= 0 && it.depth > skipBelow {
			continue
		}
		skipBelow = -1
		drop := false
		for _, id := range layers {
			drop = drop || strings.HasPrefix(it.text, "ID: "+id)
		}
		if drop {
			skipBelow = it.depth
			continue
		}
		kept = append(kept, it)
	}
	out := strings.Join(header, "\n") + "\n"
	for k, it := range kept {
		prefix := ""
		for d := 0; d < it.depth; d++ {
			prefix += map[bool]string{true: "│   ", false: "    "}[hasLaterAt(kept, k, d)]
		}
		connector := map[bool]string{true: "├── ", false: "└── "}[hasLaterAt(kept, k, it.depth)]
		out += prefix + connector + it.text + "\n"
	}
	return out
}

// line is one layer line of a recorded tree: its nesting depth and its text.
type line struct {
	depth int
	text  string
}

// hasLaterAt reports whether an item at depth d follows item k before the tree returns
// above d.
func hasLaterAt(items []line, k, d int) bool {
	for _, it := range items[k+1:] {
		if it.depth < d {
			return false
		}
		if it.depth == d {
			return true
		}
	}
	return false
}
