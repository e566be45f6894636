package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	units "github.com/docker/go-units"
)

// historyOutput is one way of printing `history`; kind says how the ID column is printed, so
// that podman's known-wrong IDs of bud-app can be put right in its output.
type historyOutput struct {
	args []string
	kind string // "table", "full table" (--no-trunc), "plain" (no alignment) or "json"
}

var historyOutputs = []historyOutput{
	{nil, "table"},
	{[]string{"--no-trunc"}, "full table"},
	{[]string{"--human=false"}, "table"},
	{[]string{"-q"}, "plain"},
	{[]string{"--format", `{{.ID}}\t{{.CreatedBy}}`}, "plain"},
	{[]string{"--format", "table {{.ID}} {{.Created}} {{.CreatedBy}} {{.Size}} {{.Comment}}"}, "table"},
	{[]string{"--format", "json"}, "json"},
	{[]string{"--format", "{{json .}}"}, "json"},
}

// history compares `history` of every image. Podman 4.3's output is expected as it is, except
// on bud-app's rows 9 and 12 (podmanMistakes), where the test asserts podman's wrong IDs and
// expects SEMANTICS §5's.
func (x *parity) history(t *testing.T, images map[string]podmanImage) {
	for _, img := range parityImages {
		for _, o := range historyOutputs {
			args := append(append([]string{"history"}, o.args...), img)
			pm, ours := x.both(t, args, args)
			if img == "localhost/bud-app" {
				pm = fixBudAppHistory(t, pm, o.kind)
			}
			if ours != pm {
				t.Errorf("imagectl %s:\n%s\nwant (podman's):\n%s", strings.Join(args, " "), ours, pm)
			}
		}
	}
	// {{.Tags}} are the names of each step's image in imagectl; podman 4.3 prints the names of
	// the step's layer there, which layers written by podman, buildah or us never have.
	args := []string{"history", "--no-trunc", "--format", "{{.ID}} {{.Tags}}", "localhost/chain-top:v1"}
	pm, ours := x.both(t, args, args)
	var want []string
	for _, row := range lines(pm) {
		id, tags, _ := strings.Cut(row, " ")
		if tags != "[]" {
			t.Fatalf("podman's {{.Tags}} is %q now: podman changed, update the test and README", tags)
		}
		want = append(want, id+" "+fmt.Sprint(images[id].RepoTags))
	}
	if got := lines(ours); !reflect.DeepEqual(got, want) {
		t.Errorf("imagectl %s: %q, want %q", strings.Join(args, " "), got, want)
	}
}

// fixBudAppHistory asserts that podman's bud-app history has its known-wrong IDs on rows 9
// and 12 (busybox's ID on the WORKDIR step, <missing> on busybox's own ADD step) and returns
// it with the IDs SEMANTICS §5 asks for.
func fixBudAppHistory(t *testing.T, pm, kind string) string {
	t.Helper()
	short, full := busyboxID[:12], busyboxID
	wrong := map[int]string{9: short, 12: "<missing>"}
	right := map[int]string{9: "<missing>", 12: short}
	if podmanMistakes["bud-app"][9] != "<missing>" || podmanMistakes["bud-app"][12] != busyboxID {
		t.Fatal("podmanMistakes changed: update fixBudAppHistory")
	}
	switch kind {
	case "json":
		var rows []json.RawMessage
		if err := json.Unmarshal([]byte(pm), &rows); err != nil {
			t.Fatal(err)
		}
		swap(t, rows, 9, `"id":"`+full+`"`, `"id":"\u003cmissing\u003e"`)
		swap(t, rows, 12, `"id":"\u003cmissing\u003e"`, `"id":"`+full+`"`)
		parts := make([]string, len(rows))
		for k := range rows {
			parts[k] = string(rows[k])
		}
		return "[" + strings.Join(parts, ",") + "]\n"
	case "full table":
		wrong[9], right[12] = full, full
	}
	out := lines(pm)
	header := 0
	if strings.HasSuffix(kind, "table") {
		header = 1
	}
	width := len(wrong[9])
	for row, w := range wrong {
		r := right[row]
		if strings.HasSuffix(kind, "table") { // keep the column's padding
			w, r = w+strings.Repeat(" ", width-len(w)), r+strings.Repeat(" ", width-len(r))
		}
		line := out[row+header]
		if !strings.HasPrefix(line, w) {
			t.Fatalf("podman's bud-app history row %d is %q, not the known-wrong %q: podman changed, update the test and README", row, line, w)
		}
		out[row+header] = r + line[len(w):]
	}
	return strings.Join(out, "\n") + "\n"
}

func swap(t *testing.T, rows []json.RawMessage, k int, wrong, right string) {
	t.Helper()
	s := string(rows[k])
	if !strings.Contains(s, wrong) {
		t.Fatalf("podman's bud-app history row %d is %s, without the known-wrong %s: podman changed, update the test and README", k, s, wrong)
	}
	rows[k] = json.RawMessage(strings.Replace(s, wrong, right, 1))
}

// df compares `df -v` with the images part of `podman system df -v`, and `df` with its
// Images line. REPOSITORY, TAG, IMAGE ID, CREATED, SIZE and CONTAINERS are podman's. Podman
// 4.3 is wrong in the rest, and the test computes the right values from podman's own inspect
// and history: SHARED SIZE is the size of the image's layers that another image uses too (podman
// guesses it from parent and child images, so bud-app, whose parent it misses, shares
// nothing), UNIQUE SIZE the rest; the summary counts each image once and each layer once
// (podman counts one image per tag and sums the full size of every row).
func (x *parity) df(t *testing.T, images map[string]podmanImage) {
	shared, total := x.exactSharing(t, images)
	pm, ours := x.both(t, []string{"system", "df", "-v"}, []string{"df", "-v"})
	start := strings.Index(pm, "Images space usage:\n\n")
	end := strings.Index(pm[start:], "\n\nContainers space usage:")
	if start < 0 || end < 0 {
		t.Fatalf("no images part in podman system df -v:\n%s", pm)
	}
	prows, irows := lines(pm[start : start+end+1])[2:], lines(ours)
	if len(irows) < 3 || irows[0] != "Images space usage:" || irows[1] != "" {
		t.Fatalf("imagectl df -v:\n%s", ours)
	}
	if got, want := splitColumns(irows[2]), splitColumns(prows[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("header %q, podman's %q", got, want)
	}
	irows, prows = irows[3:], prows[1:]
	if len(irows) != len(prows) {
		t.Fatalf("imagectl df -v has %d rows, podman %d:\n%s\n%s", len(irows), len(prows), ours, pm)
	}
	byKey := map[string][]string{}
	for _, r := range prows {
		cols := splitColumns(r)
		byKey[strings.Join(cols[:3], " ")] = cols
	}
	var keys []string
	budAppChecked := false
	for _, r := range irows {
		got := splitColumns(r)
		p := byKey[strings.Join(got[:3], " ")]
		if len(got) != 8 || len(p) != 8 {
			t.Fatalf("row %q, podman's %q", got, p)
		}
		id := podmanFullID(t, images, got[2])
		keys = append(keys, id+" "+got[0]+":"+got[1])
		if !reflect.DeepEqual(append(got[:5:5], got[7]), append(p[:5:5], p[7])) {
			t.Errorf("row %q, podman's %q", got, p)
		}
		wantShared := units.HumanSize(float64(shared[id]))
		wantUnique := units.HumanSize(float64(images[id].Size - shared[id]))
		if got[5] != wantShared || got[6] != wantUnique {
			t.Errorf("%s: shared %s, unique %s; want %s, %s", got[0], got[5], got[6], wantShared, wantUnique)
		}
		if got[0] == "localhost/bud-app" {
			budAppChecked = true
			if p[5] != "0B" || wantShared == "0B" {
				t.Fatalf("podman's bud-app shared size is %s (known wrong: 0B), exact %s: update the test and README", p[5], wantShared)
			}
		}
	}
	if !budAppChecked {
		t.Error("no bud-app row in df -v")
	}
	if want := byCreation(keys, images); !reflect.DeepEqual(keys, want) {
		t.Errorf("df -v rows %q, want newest first %q", keys, want)
	}

	pm, ours = x.both(t, []string{"system", "df"}, []string{"df"})
	psum, isum := splitColumns(lines(pm)[1]), splitColumns(lines(ours)[1])
	var rowsSize int64
	for _, r := range prows {
		rowsSize += images[podmanFullID(t, images, splitColumns(r)[2])].Size
	}
	size := units.HumanSize(float64(total))
	if want := []string{"Images", strconv.Itoa(len(images)), "0", size, size + " (100%)"}; !reflect.DeepEqual(isum, want) {
		t.Errorf("imagectl df: %q, want %q", isum, want)
	}
	podmanWrong := units.HumanSize(float64(rowsSize))
	if want := []string{"Images", strconv.Itoa(len(prows)), "0", podmanWrong, podmanWrong + " (100%)"}; !reflect.DeepEqual(psum, want) {
		t.Fatalf("podman system df: %q, not the known-wrong %q: update the test and README", psum, want)
	}
}

func podmanFullID(t *testing.T, images map[string]podmanImage, short string) string {
	t.Helper()
	for id := range images {
		if strings.HasPrefix(id, short) {
			return id
		}
	}
	t.Fatalf("no image %s", short)
	return ""
}

// exactSharing returns, from podman's inspect and history, the size of each image's layers
// that another image also uses, and the store's total: each image's metadata plus each layer
// once. A layer is its chain of diff IDs; its size is that of the history row that made it
// (the rows with a size, oldest first, match the layers one to one).
func (x *parity) exactSharing(t *testing.T, images map[string]podmanImage) (map[string]int64, int64) {
	t.Helper()
	type layer struct {
		size  int64
		users map[string]bool
	}
	layers := map[string]*layer{}
	var total int64
	chains := map[string][]string{}
	for id, img := range images {
		var hist []struct{ Size int64 }
		x.p.JSON(&hist, "history", "--format", "json", id)
		var sizes []int64
		for k := len(hist) - 1; k >= 0; k-- {
			if hist[k].Size > 0 {
				sizes = append(sizes, hist[k].Size)
			}
		}
		if len(sizes) != len(img.RootFS.Layers) {
			t.Fatalf("%s: %d history rows with a size, %d layers", id, len(sizes), len(img.RootFS.Layers))
		}
		total += img.Size
		for k := range sizes {
			chain := strings.Join(img.RootFS.Layers[:k+1], ",")
			total -= sizes[k]
			if layers[chain] == nil {
				layers[chain] = &layer{size: sizes[k], users: map[string]bool{}}
				total += sizes[k]
			}
			layers[chain].users[id] = true
			chains[id] = append(chains[id], chain)
		}
	}
	shared := map[string]int64{}
	for id, cs := range chains {
		for _, c := range cs {
			if len(layers[c].users) > 1 {
				shared[id] += layers[c].size
			}
		}
	}
	return shared, total
}
