package image

import (
	"context"
	"reflect"
	"testing"
)

// TestChildrenDanglingIntermediate checks the §4 rules on the reference store: children are
// the images whose recorded Parent is the image; removing names makes an image intermediate
// when it has children and dangling when it has none.
func TestChildrenDanglingIntermediate(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	ctx := context.Background()
	// The recorded parents, inverted.
	wantKids := map[string][]string{}
	for _, rec := range recordedImages {
		want := readRecordedInspect(t, rec.stem)
		if p := want["Parent"].(string); p != "" {
			wantKids[p] = append(wantKids[p], want["Id"].(string))
		}
	}
	images, err := rt.ListImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		kids, err := img.Children(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range kids {
			got = append(got, k.ID())
		}
		if !reflect.DeepEqual(got, wantKids[img.ID()]) {
			t.Errorf("children of %v: %v, want %v", img.Names(), got, wantKids[img.ID()])
		}
		for _, check := range []func(context.Context) (bool, error){img.IsDangling, img.IsIntermediate} {
			if yes, err := check(ctx); err != nil || yes {
				t.Errorf("%v: a named image is dangling or intermediate (%v)", img.Names(), err)
			}
		}
	}

	mid := mustLookup(t, rt, "chain-mid")
	if err := mid.Untag("chain-mid"); err != nil {
		t.Fatal(err)
	}
	top := mustLookup(t, rt, "chain-top")
	for _, n := range []string{"chain-top:latest", "chain-top:v1"} {
		if err := top.Untag(n); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		img                    *Image
		dangling, intermediate bool
	}{
		{mid, false, true}, // no names, chain-top is built on it
		{top, true, false}, // no names, nothing built on it
		{mustLookup(t, rt, "chain-base"), false, false},
	}
	for _, c := range cases {
		d, err1 := c.img.IsDangling(ctx)
		i, err2 := c.img.IsIntermediate(ctx)
		if err1 != nil || err2 != nil || d != c.dangling || i != c.intermediate {
			t.Errorf("%s: dangling %v intermediate %v (%v %v), want %v %v", c.img.ID()[:12], d, i, err1, err2, c.dangling, c.intermediate)
		}
	}
}

// TestOneSnapshotOneReadPerConfig: a listing and every whole-store question asked of its
// images build one snapshot and read each config at most once; a second listing reads no
// config again (the Runtime keeps them by ID).
func TestOneSnapshotOneReadPerConfig(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	ctx := context.Background()
	rt.configs = configCache{}
	graphs0, reads0 := rt.counts.graphs.Load(), rt.counts.configReads.Load()
	ask := func() int {
		images, err := rt.ListImages(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range images {
			if _, err := img.Parent(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := img.Children(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := img.History(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := img.IsDangling(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return len(images)
	}
	n := ask()
	if g := rt.counts.graphs.Load() - graphs0; g != 1 {
		t.Errorf("%d snapshots built, want 1", g)
	}
	if r := rt.counts.configReads.Load() - reads0; r > int64(n) {
		t.Errorf("%d config reads for %d images", r, n)
	}
	reads1 := rt.counts.configReads.Load()
	ask()
	if r := rt.counts.configReads.Load() - reads1; r != 0 {
		t.Errorf("second listing read %d configs again", r)
	}
}
