package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// imagesSelections are the flags that choose which rows `images` prints.
var imagesSelections = [][]string{
	nil,
	{"-a"},
	{"--filter", "dangling=true"},
	{"--filter", "dangling=false"},
	{"-a", "--filter", "reference=localhost/chain-top"},
}

// imagesOutputs are the flags that choose how `images` prints its rows.
var imagesOutputs = [][]string{
	nil,
	{"--no-trunc"},
	{"--format", "{{.ID}} {{.Repository}}"},
	{"--format", `{{.ID}}\t{{.Repository}}:{{.Tag}}`},
	{"--format", `table {{.ID}}\t{{.Repository}}\t{{.Tag}}\t{{.Digest}}`},
	{"--format", "table {{.Repository}} {{.Tag}} {{.Created}} {{.Size}} {{.ReadOnly}} {{.Dangling}} {{.Containers}}"},
	{"--format", "{{.ID}} {{.CreatedAt}} {{.Names}} {{.History}} {{.RepoTags}} {{.RepoDigests}}"},
	{"--format", "table {{.ID}} {{.ParentId}} {{.SharedSize}} {{.VirtualSize}} {{.Labels}}"},
	{"--format", "{{.ID}} {{json .Labels}} {{upper .Repository}} {{truncate .Digest 19}} {{join .Names \",\"}}"},
	{"--no-trunc", "--format", "{{.ID}}"},
	{"-q"},
	{"-q", "--no-trunc"},
	{"--format", "json"},
	{"--format", "{{json .}}"},
}

// images compares `images` for every selection and output. Podman 4.3 and imagectl print the
// same rows; rows of images created in the same second can come in another order (podman
// sorts by whole seconds, imagectl by the full creation time), so each selection first
// establishes both orders from the full IDs and names, asserts that imagectl's is podman's
// sorted by full creation time, and then expects podman's output with its rows in imagectl's
// order.
func (x *parity) images(t *testing.T, images map[string]podmanImage) {
	for _, sel := range imagesSelections {
		keyArgs := append(append([]string{"images"}, sel...), "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")
		pkeys, ikeys := lines(x.p.Must(keyArgs...)), lines(x.e.mustRun(t, keyArgs...))
		if len(pkeys) == 0 {
			t.Fatalf("podman %s lists nothing", strings.Join(keyArgs, " "))
		}
		if want := byCreation(pkeys, images); !reflect.DeepEqual(ikeys, want) {
			t.Errorf("%s: imagectl's rows\n%s\nwant podman's by full creation time\n%s",
				strings.Join(sel, " "), strings.Join(ikeys, "\n"), strings.Join(want, "\n"))
			continue
		}
		perm := make([]int, len(ikeys))
		for k, key := range ikeys {
			perm[k] = indexOf(pkeys, key)
		}
		for _, out := range imagesOutputs {
			args := append(append([]string{"images"}, sel...), out...)
			pm, ours := x.both(t, args, args)
			var want string
			switch {
			case len(out) > 0 && out[0] == "-q":
				want = x.reorderIDs(t, pm, pkeys, ikeys)
			case len(out) > 0 && isJSON(out[len(out)-1]):
				want = x.reorderJSON(t, pm, images, pkeys, ikeys)
			default:
				want = reorderRows(t, pm, perm, len(out) < 2 || strings.HasPrefix(out[len(out)-1], "table "))
			}
			if ours != want {
				t.Errorf("imagectl %s:\n%s\nwant (podman's, rows in imagectl's order):\n%s", strings.Join(args, " "), ours, want)
			}
		}
	}
	x.imagesKnownDifferences(t)
}

func indexOf(list []string, s string) int {
	for k, v := range list {
		if v == s {
			return k
		}
	}
	return -1
}

// reorderRows returns podman's output with its rows (after the header line, if any) put in
// the order perm gives.
func reorderRows(t *testing.T, pm string, perm []int, header bool) string {
	t.Helper()
	rows := lines(pm)
	var out []string
	if header {
		out, rows = []string{rows[0]}, rows[1:]
	}
	if len(rows) != len(perm) {
		t.Fatalf("podman printed %d rows, want %d:\n%s", len(rows), len(perm), pm)
	}
	for _, k := range perm {
		out = append(out, rows[k])
	}
	return strings.Join(out, "\n") + "\n"
}

// distinctIDs returns the image IDs of the keys ("sha256:<id> name"), each once, in order.
func distinctIDs(keys []string) []string {
	var ids []string
	for _, k := range keys {
		if id := strings.TrimPrefix(strings.Fields(k)[0], "sha256:"); indexOf(ids, id) < 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// reorderIDs returns podman's `-q` output (each image once, in its row order) in imagectl's
// order.
func (x *parity) reorderIDs(t *testing.T, pm string, pkeys, ikeys []string) string {
	t.Helper()
	plines, pids := lines(pm), distinctIDs(pkeys)
	if len(plines) != len(pids) {
		t.Fatalf("podman -q printed %d IDs, its rows have %d images", len(plines), len(pids))
	}
	var out []string
	for _, id := range distinctIDs(ikeys) {
		out = append(out, plines[indexOf(pids, id)])
	}
	return strings.Join(out, "\n") + "\n"
}

// reorderJSON returns what imagectl must print for `images --format json`: podman's entries,
// each image once, in imagectl's order, with RepoTags holding the image's tags (podman's
// inspect RepoTags). It asserts podman's two known mistakes: one entry per row rather than per
// image, and "RepoTags": null in each.
func (x *parity) reorderJSON(t *testing.T, pm string, images map[string]podmanImage, pkeys, ikeys []string) string {
	t.Helper()
	var entries []json.RawMessage
	if err := json.Unmarshal([]byte(pm), &entries); err != nil {
		t.Fatalf("podman's images JSON: %v", err)
	}
	if len(entries) != len(pkeys) {
		t.Fatalf("podman printed %d JSON entries for %d rows", len(entries), len(pkeys))
	}
	byID := map[string]string{}
	for k, raw := range entries {
		entry := string(raw)
		if strings.Count(entry, `"RepoTags": null,`) != 1 {
			t.Fatalf("podman 4.3 no longer prints \"RepoTags\": null; update the test and README:\n%s", entry)
		}
		id := strings.TrimPrefix(strings.Fields(pkeys[k])[0], "sha256:")
		if prev, ok := byID[id]; ok && prev != entry {
			t.Fatalf("podman's entries for the rows of %s differ", id)
		}
		byID[id] = entry
	}
	var out []string
	for _, id := range distinctIDs(ikeys) {
		tags := "null"
		if rt := images[id].RepoTags; len(rt) > 0 {
			quoted := make([]string, len(rt))
			for k, tag := range rt {
				b, _ := json.Marshal(tag)
				quoted[k] = string(b)
			}
			tags = "[\n            " + strings.Join(quoted, ",\n            ") + "\n        ]"
		}
		out = append(out, strings.Replace(byID[id], `"RepoTags": null`, `"RepoTags": `+tags, 1))
	}
	return "[\n    " + strings.Join(out, ",\n    ") + "\n]\n"
}

// imagesKnownDifferences asserts the template differences listed in the README, where podman
// 4.3 is wrong: a "table" format alone prints the word "table" on each row (imagectl prints its
// default table), and the header of {{.CreatedSince}} and {{.CreatedAt}} is "<no value>"
// (they are methods, which podman's header builder does not see).
func (x *parity) imagesKnownDifferences(t *testing.T) {
	pm, ours := x.both(t, []string{"images", "--format", "table"}, []string{"images", "--format", "table"})
	for _, l := range lines(pm) {
		if l != "table" {
			t.Fatalf("podman's --format table printed %q: podman changed, update the test and README", l)
		}
	}
	if def := x.e.mustRun(t, "images"); ours != def {
		t.Errorf("imagectl images --format table:\n%s\nwant the default table:\n%s", ours, def)
	}

	format := "table {{.ID}} {{.CreatedSince}} {{.CreatedAt}}"
	pm, ours = x.both(t, []string{"images", "--format", format}, []string{"images", "--format", format})
	prows, irows := lines(pm), lines(ours)
	if got := splitColumns(prows[0]); !reflect.DeepEqual(got, []string{"IMAGE ID", "<no value>", "<no value>"}) {
		t.Fatalf("podman's header is %q now: podman changed, update the test and README", got)
	}
	if got, want := splitColumns(irows[0]), []string{"IMAGE ID", "CREATED SINCE", "CREATED AT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("imagectl's header %q, want %q", got, want)
	}
	pset, iset := map[string]int{}, map[string]int{}
	for _, r := range prows[1:] {
		pset[strings.Join(splitColumns(r), "|")]++
	}
	for _, r := range irows[1:] {
		iset[strings.Join(splitColumns(r), "|")]++
	}
	if !reflect.DeepEqual(pset, iset) {
		t.Errorf("rows of %s: imagectl\n%s\npodman\n%s", format, ours, pm)
	}
}
