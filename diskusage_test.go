package image

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// recordedLayers returns, from podman's recorded inspect and history of an image, its layers
// as (chain of diff IDs up to the layer → layer size), and its metadata size (recorded Size
// less its layers).
func recordedLayers(t *testing.T, stem string) (map[string]int64, []string, int64) {
	t.Helper()
	insp := readRecordedInspect(t, stem)
	raw, err := os.ReadFile(testdataPath(stem + ".history.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []recordedHistoryRow
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	var sizes []int64 // layer sizes, bottom first
	cfg := insp["History"].([]any)
	for k := len(rows) - 1; k >= 0; k-- {
		entry := cfg[len(rows)-1-k].(map[string]any)
		if empty, _ := entry["empty_layer"].(bool); !empty {
			sizes = append(sizes, rows[k].Size)
		}
	}
	layers := map[string]int64{}
	var chains []string
	chain := ""
	var total int64
	for k, d := range insp["RootFS"].(map[string]any)["Layers"].([]any) {
		chain += d.(string) + "/"
		layers[chain] = sizes[k]
		chains = append(chains, chain)
		total += sizes[k]
	}
	return layers, chains, int64(insp["Size"].(float64)) - total
}

// TestDiskUsage checks sizes against podman's recorded values: each image's size is podman's,
// its shared part the layers other images use too, the total counts each layer once.
func TestDiskUsage(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	ctx := context.Background()
	users := map[string]int{}   // layer chain → images using it
	sizes := map[string]int64{} // layer chain → size
	chainsOf := map[string][]string{}
	meta := map[string]int64{}
	idOf := map[string]string{}
	for _, r := range recordedImages {
		layers, chains, m := recordedLayers(t, r.stem)
		for c, s := range layers {
			users[c]++
			sizes[c] = s
		}
		chainsOf[r.stem], meta[r.stem] = chains, m
		idOf[readRecordedInspect(t, r.stem)["Id"].(string)] = r.stem
	}
	var wantTotal int64
	for c := range users {
		wantTotal += sizes[c]
	}
	for _, m := range meta {
		wantTotal += m
	}
	check := func(du *DiskUsage, activeStem string) {
		t.Helper()
		if len(du.Images) != len(recordedImages) {
			t.Fatalf("%d images", len(du.Images))
		}
		wantReclaim := wantTotal
		for _, u := range du.Images {
			stem := idOf[u.ID]
			var shared int64
			for _, c := range chainsOf[stem] {
				if users[c] > 1 {
					shared += sizes[c]
				}
			}
			want := readRecordedInspect(t, stem)["Size"].(float64)
			if float64(u.Size) != want || u.SharedSize != shared || u.UniqueSize != u.Size-shared {
				t.Errorf("%s: size %d shared %d unique %d; podman's size %v, shared layers %d", stem, u.Size, u.SharedSize, u.UniqueSize, want, shared)
			}
		}
		if activeStem != "" {
			wantReclaim -= meta[activeStem]
			for _, c := range chainsOf[activeStem] {
				wantReclaim -= sizes[c]
			}
		}
		if du.Size != wantTotal || du.Reclaimable != wantReclaim {
			t.Errorf("total %d reclaimable %d, want %d and %d", du.Size, du.Reclaimable, wantTotal, wantReclaim)
		}
	}
	du, err := rt.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(du, "")
	if du.Active != 0 {
		t.Errorf("active %d", du.Active)
	}
	if _, err := rt.Store().CreateContainer("", nil, mustLookup(t, rt, "tiny").ID(), "", "", nil); err != nil {
		t.Fatal(err)
	}
	if du, err = rt.DiskUsage(ctx); err != nil {
		t.Fatal(err)
	}
	check(du, "tiny")
	if du.Active != 1 {
		t.Errorf("active %d, want 1", du.Active)
	}
	for _, u := range du.Images {
		if (u.Containers == 1) != strings.HasPrefix(u.ID, readRecordedInspect(t, "tiny")["Id"].(string)) {
			t.Errorf("%s: %d containers", u.ID[:12], u.Containers)
		}
	}
}
