package main

import (
	"encoding/json"
	"strings"
	"testing"

	units "github.com/docker/go-units"
)

// TestDf: the summary row and the per-image table, with the figures of --format json.
func TestDf(t *testing.T) {
	e := newLoadedEnv(t)
	var du struct {
		Images []struct {
			ID                           string
			Size, SharedSize, UniqueSize int64
		}
		Size, Reclaimable int64
		Active            int
	}
	if err := json.Unmarshal([]byte(e.mustRun(t, "df", "--format", "json")), &du); err != nil {
		t.Fatal(err)
	}
	if len(du.Images) != 4 || du.Active != 0 || du.Reclaimable != du.Size {
		t.Fatalf("df json: %+v", du)
	}
	// busybox's only layer is shared with the chain images built on it: its unique part is
	// its metadata, podman's size (testdata/busybox.inspect.json) less the layer's 2129920.
	for _, u := range du.Images {
		if u.ID == recordedID(t, "busybox") && (u.Size != 2131261 || u.UniqueSize != 2131261-2129920) {
			t.Errorf("busybox: %+v", u)
		}
	}
	rows := lines(e.mustRun(t, "df"))
	want := []string{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}
	if len(rows) != 2 || strings.Join(strings.Fields(rows[0]), " ") != strings.Join(want, " ") {
		t.Fatalf("df: %q", rows)
	}
	size := units.HumanSize(float64(du.Size))
	if got := strings.Fields(rows[1]); strings.Join(got, " ") != "Images 4 0 "+size+" "+size+" (100%)" {
		t.Errorf("df row %q", rows[1])
	}
	verbose := lines(e.mustRun(t, "df", "-v"))
	if len(verbose) != 1+1+1+5 || verbose[0] != "Images space usage:" || !strings.HasPrefix(verbose[2], "REPOSITORY") {
		t.Fatalf("df -v: %q", verbose)
	}
	for _, stem := range []string{"busybox", "chain-base", "chain-mid", "chain-top"} {
		found := false
		for _, r := range verbose[3:] {
			found = found || strings.Contains(r, recordedID(t, stem)[:12])
		}
		if !found {
			t.Errorf("df -v has no row for %s", stem)
		}
	}
}
