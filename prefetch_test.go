package image

import (
	"context"
	"testing"
)

// TestPrefetchReadsWhatTheWalkReads: the dangling filter and History read their configs on
// several goroutines first, and read exactly the configs the one-at-a-time walk reads: for
// a 12-image untagged chain between a named base and a named top, with 10 unrelated untagged
// images beside it, the dangling filter reads the chain's and the top's configs (13) and
// finds the 10 unrelated images; History of the top reads the configs of the images on its
// layers (14).
func TestPrefetchReadsWhatTheWalkReads(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 100, names: []string{"localhost/base:latest"}})
	chain := s.chain(base, 12, 10)
	top := s.build(step{parent: chain[len(chain)-1], content: 10, names: []string{"localhost/top:latest"}})
	want := map[string]bool{}
	for k := 0; k < 10; k++ {
		want[s.build(step{content: 20 + k}).ID] = true
	}

	rt.configs = configCache{}
	reads := rt.counts.configReads.Load()
	dangling, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"dangling=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rt.counts.configReads.Load() - reads; r != 13 {
		t.Errorf("the dangling filter read %d configs, want 13", r)
	}
	if len(dangling) != len(want) {
		t.Errorf("%d dangling images, want %d", len(dangling), len(want))
	}
	for _, img := range dangling {
		if !want[img.ID()] {
			t.Errorf("image %s is dangling", img.ID())
		}
	}

	rt.configs = configCache{}
	reads = rt.counts.configReads.Load()
	hist, err := mustLookup(t, rt, top.ID).History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := rt.counts.configReads.Load() - reads; r != 14 {
		t.Errorf("History read %d configs, want 14", r)
	}
	ids := []string{top.ID}
	for k := len(chain) - 1; k >= 0; k-- {
		ids = append(ids, chain[k].ID)
	}
	ids = append(ids, base.ID)
	if len(hist) != len(ids) {
		t.Fatalf("%d history entries, want %d", len(hist), len(ids))
	}
	for k, e := range hist {
		if e.ID != ids[k] {
			t.Errorf("entry %d: ID %s, want %s", k, e.ID, ids[k])
		}
	}
}
