package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadedRows are the rows of `images` after newLoadedEnv, newest first by the creation times
// recorded in testdata/*.inspect.json (chain-top 17:42:14, chain-mid 17:42:13, chain-base
// 17:42:12.9, busybox 17:42:12.3), chain-top's two tags in the store's order of its names.
var loadedRows = []struct{ name, image string }{
	{"localhost/chain-top:v1", "chain-top"},
	{"localhost/chain-top:latest", "chain-top"},
	{"localhost/chain-mid:latest", "chain-mid"},
	{"localhost/chain-base:latest", "chain-base"},
	{"localhost/busybox:latest", "busybox"},
}

func TestImagesTable(t *testing.T) {
	e := newLoadedEnv(t)
	recorded := recordedTable(t)
	for _, args := range [][]string{{"images"}, {"ls"}, {"images", "--format", "table"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out := lines(e.mustRun(t, args...))
			if len(out) != len(loadedRows)+1 {
				t.Fatalf("got %d lines, want header + %d rows:\n%s", len(out), len(loadedRows), strings.Join(out, "\n"))
			}
			if got, want := splitColumns(out[0]), []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}; !reflect.DeepEqual(got, want) {
				t.Errorf("header %q, want %q", got, want)
			}
			for k, row := range loadedRows {
				got := splitColumns(out[k+1])
				want := recorded[row.name]
				if len(got) != 5 || want == nil {
					t.Fatalf("row %d: %q (recorded %q)", k, got, want)
				}
				// REPOSITORY, TAG, IMAGE ID and SIZE as podman printed them; CREATED is relative.
				if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[4] != want[4] {
					t.Errorf("row %d: %q, podman printed %q", k, got, want)
				}
				if !strings.HasSuffix(got[3], " ago") {
					t.Errorf("row %d: CREATED %q does not end in \" ago\"", k, got[3])
				}
			}
		})
	}
}

func TestImagesQuiet(t *testing.T) {
	e := newLoadedEnv(t)
	var short, full []string
	for _, name := range []string{"chain-top", "chain-mid", "chain-base", "busybox"} {
		id := recordedID(t, name)
		short, full = append(short, id[:12]), append(full, "sha256:"+id)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"images", "-q"}, short},
		{[]string{"images", "--quiet"}, short},
		{[]string{"images", "-q", "--no-trunc"}, full},
		{[]string{"images", "-q", "--format", "json"}, short},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if got := lines(e.mustRun(t, tt.args...)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImagesJSON(t *testing.T) {
	e := newLoadedEnv(t)
	out := e.mustRun(t, "images", "--format", "json")
	if !strings.HasPrefix(out, "[\n    {\n        \"Id\": ") {
		t.Errorf("not podman's layout (4-space indent, Id first):\n%.80s", out)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var reference []map[string]any
	readJSON(t, "reference-store.images.json", &reference)
	byID := map[string]map[string]any{}
	for _, r := range reference {
		byID[r["Id"].(string)] = r
	}
	wantOrder := []string{"chain-top", "chain-mid", "chain-base", "busybox"}
	if len(got) != len(wantOrder) {
		t.Fatalf("got %d images, want one entry per image: %d", len(got), len(wantOrder))
	}
	for k, name := range wantOrder {
		t.Run(name, func(t *testing.T) {
			checkSummary(t, got[k], byID[recordedID(t, name)], recordedInspect(t, name))
		})
	}
}

// checkSummary compares one entry of `images --format json` with podman's: every key
// podman printed has podman's value, except RepoTags (podman 4.3 prints null), which must
// be the recorded inspect's RepoTags.
func checkSummary(t *testing.T, got, podman, inspect map[string]any) {
	t.Helper()
	if podman == nil {
		t.Fatalf("image %v is not in the recorded store", got["Id"])
	}
	for key, want := range podman {
		if key == "RepoTags" {
			continue
		}
		if !reflect.DeepEqual(got[key], want) {
			t.Errorf("%s = %#v, podman printed %#v", key, got[key], want)
		}
	}
	if len(got) != len(podman) {
		t.Errorf("keys %v, podman printed %d keys", keys(got), len(podman))
	}
	if !sameSet(got["RepoTags"], inspect["RepoTags"]) {
		t.Errorf("RepoTags = %v, want the tags %v", got["RepoTags"], inspect["RepoTags"])
	}
	if got["ParentId"] != inspect["Parent"] {
		t.Errorf("ParentId = %v, inspect recorded Parent %v", got["ParentId"], inspect["Parent"])
	}
}

func TestImagesTemplate(t *testing.T) {
	e := newLoadedEnv(t)
	t.Run("id and name", func(t *testing.T) {
		var want []string
		for _, row := range loadedRows {
			want = append(want, recordedID(t, row.image)[:12]+" "+row.name)
		}
		got := lines(e.mustRun(t, "images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("table header", func(t *testing.T) {
		got := lines(e.mustRun(t, "images", "--format", `table {{.ID}}\t{{.Tag}}`))
		if len(got) != len(loadedRows)+1 || !reflect.DeepEqual(splitColumns(got[0]), []string{"IMAGE ID", "TAG"}) {
			t.Fatalf("got %q", got)
		}
		if want := recordedID(t, "busybox")[:12] + "  latest"; got[5] != want {
			t.Errorf("last row %q, want %q (tab-aligned)", got[5], want)
		}
	})
	t.Run("no-trunc", func(t *testing.T) {
		got := lines(e.mustRun(t, "images", "--no-trunc", "--format", "{{.ID}}"))
		if want := "sha256:" + recordedID(t, "busybox"); got[4] != want {
			t.Errorf("last row %q, want %q", got[4], want)
		}
	})
	t.Run("fields", func(t *testing.T) {
		inspect := recordedInspect(t, "busybox")
		created, err := time.Parse(time.RFC3339Nano, inspect["Created"].(string))
		if err != nil {
			t.Fatal(err)
		}
		// {{.History}} is the names history joined by ", ", as podman prints it.
		got := lines(e.mustRun(t, "images", "--format",
			"{{.Size}}|{{.CreatedAt}}|{{.Names}}|{{.History}}|{{.Labels}}|{{.Containers}}|{{.ReadOnly}}|{{.Digest}}"))
		want := "2.13 MB|" + time.Unix(created.Unix(), 0).UTC().String() +
			"|[localhost/busybox:latest]|localhost/busybox:latest|map[]|0|false|" + inspect["Digest"].(string)
		if got[4] != want {
			t.Errorf("busybox row %q, want %q", got[4], want)
		}
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sameSet reports whether two decoded JSON arrays of strings hold the same strings.
func sameSet(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if !aok || !bok || len(as) != len(bs) {
		return false
	}
	seen := map[any]int{}
	for _, v := range as {
		seen[v]++
	}
	for _, v := range bs {
		seen[v]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestImagesAllAndFilters: intermediate images are hidden unless --all, as podman hides them;
// --filter and a NAME argument select images.
func TestImagesAllAndFilters(t *testing.T) {
	e := newLoadedEnv(t)
	mid, top := recordedID(t, "chain-mid"), recordedID(t, "chain-top")
	e.mustRun(t, "untag", "chain-mid", "chain-mid")
	ids := func(args ...string) []string {
		t.Helper()
		return lines(e.mustRun(t, append([]string{"images", "-q", "--no-trunc"}, args...)...))
	}
	has := func(list []string, id string) bool { return contains(list, "sha256:"+id) }
	if got := ids(); has(got, mid) || !has(got, top) || len(got) != 3 {
		t.Errorf("images: %v, want 3 without the intermediate chain-mid", got)
	}
	if got := ids("-a"); !has(got, mid) || len(got) != 4 {
		t.Errorf("images -a: %v, want all 4", got)
	}
	if got := ids("--filter", "intermediate=true", "-a"); len(got) != 1 || !has(got, mid) {
		t.Errorf("--filter intermediate=true -a: %v", got)
	}
	if got := ids("--filter", "reference=chain-*"); len(got) != 2 || !has(got, top) {
		t.Errorf("--filter reference=chain-*: %v", got)
	}
	if got := ids("--filter", "label=org.example.stage=top"); len(got) != 1 || !has(got, top) {
		t.Errorf("--filter label=org.example.stage=top: %v", got)
	}
	if got := ids("busybox"); len(got) != 1 || !has(got, recordedID(t, "busybox")) {
		t.Errorf("images busybox: %v", got)
	}
	if _, stderr, code := e.run("images", "--filter", "bogus=1"); code == 0 || !strings.Contains(stderr, `"bogus=1"`) {
		t.Errorf("a bad filter: exit %d, stderr %q", code, stderr)
	}
}
