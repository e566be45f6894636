package main

import (
	"archive/tar"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed-1e5c3c91/image/internal/podmantest"
)

// The parity tests run imagectl and the real podman on one store and compare what they print,
// byte for byte where the format is podman's. Where podman 4.3 is wrong and imagectl follows
// SEMANTICS, the test asserts our value and that podman printed the known-wrong one; each such
// difference is listed in README's imagectl section.

// parity is a store holding the images of testdata/ with some variety (two tags on one image,
// an intermediate image, a dangling image, an imported image), imagectl pointed at it and
// podman pointed at it.
type parity struct {
	e *testEnv
	p *podmantest.Podman
}

// parityImages are the images of the parity store, as names or IDs the two tools both accept.
var parityImages = []string{
	"localhost/bud-app", "localhost/chain-top:v1", "localhost/mybox:1", "localhost/layers20",
	"localhost/tiny", "localhost/imported",
	"33a1ed6a78c1", // chain-mid, untagged: intermediate (chain-top is built on it)
	"6adb083c2d92", // tiny-whiteout, untagged: dangling
}

// newParity makes the store; writer says which tool loads, tags, untags and imports.
func newParity(t *testing.T, writer string) *parity {
	t.Helper()
	e := newTestEnv(t)
	p := podmantest.New(t, e.flag("--root"), e.flag("--runroot"))
	x := &parity{e: e, p: p}
	rootfs := writeRootfs(t)
	switch writer {
	case "imagectl":
		for _, a := range referenceArchives {
			e.mustRun(t, "load", "-i", testdataPath(a))
		}
		e.mustRun(t, "tag", "localhost/busybox:latest", "localhost/mybox:1")
		e.mustRun(t, "untag", "localhost/chain-mid", "localhost/chain-mid:latest")
		e.mustRun(t, "untag", "localhost/tiny-whiteout", "localhost/tiny-whiteout:latest")
		e.mustRun(t, "import", "-m", "an import", rootfs, "localhost/imported:latest")
	case "podman":
		for _, a := range referenceArchives {
			p.Must("load", "-q", "-i", testdataPath(a))
		}
		p.Must("tag", "localhost/busybox:latest", "localhost/mybox:1")
		p.Must("untag", "localhost/chain-mid", "localhost/chain-mid:latest")
		p.Must("untag", "localhost/tiny-whiteout", "localhost/tiny-whiteout:latest")
		p.Must("import", "-q", "-m", "an import", rootfs, "localhost/imported:latest")
	default:
		t.Fatalf("unknown writer %q", writer)
	}
	return x
}

// flag returns the value of one of the env's global flags.
func (e *testEnv) flag(name string) string {
	for k := 0; k+1 < len(e.globals); k++ {
		if e.globals[k] == name {
			return e.globals[k+1]
		}
	}
	panic("no global flag " + name)
}

// writeRootfs writes a one-file rootfs tarball dated 2026-06-01 (an import takes the image's
// creation time from the file) and returns its path.
func writeRootfs(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tw := tar.NewWriter(f)
	content := "hello from an imported rootfs\n"
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: date, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, date, date); err != nil {
		t.Fatal(err)
	}
	return path
}

// both runs podman with pargs and imagectl with iargs and returns their outputs.
//
// Both print relative times ("5 hours ago", "6 months") computed from the clock at the moment
// each runs, so the two outputs can differ only because a unit of such a time went by between
// the runs. Instead of normalizing those columns (which would hide a wrong time), podman runs
// again after imagectl: when its two outputs are equal, no relative time it prints changed
// while imagectl ran, and imagectl's output must equal podman's exactly. When they differ, the
// three runs are tried again.
func (x *parity) both(t *testing.T, pargs, iargs []string) (string, string) {
	t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		before := x.p.Must(pargs...)
		ours := x.e.mustRun(t, iargs...)
		if after := x.p.Must(pargs...); after == before {
			return before, ours
		}
	}
	t.Fatalf("podman %s printed something else on each of three runs", strings.Join(pargs, " "))
	return "", ""
}

// podmanImage is what the tests take from podman's inspect.
type podmanImage struct {
	ID       string `json:"Id"`
	Created  time.Time
	Size     int64
	RepoTags []string
	RootFS   struct{ Layers []string }
}

// inspectAll returns podman's inspect of every image of the store, by ID.
func (x *parity) inspectAll(t *testing.T) map[string]podmanImage {
	t.Helper()
	ids := strings.Fields(x.p.Must("images", "-a", "-q", "--no-trunc"))
	var list []podmanImage
	x.p.JSON(&list, append([]string{"image", "inspect"}, ids...)...)
	out := map[string]podmanImage{}
	for _, img := range list {
		out[img.ID] = img
	}
	if len(out) != 9 {
		t.Fatalf("podman sees %d images, want 9 (8 loaded, 1 imported)", len(out))
	}
	return out
}

// byCreation sorts rows (each starting with a full image ID) newest first by the images' full
// creation times, keeping the order of rows of one image: imagectl's order. Podman 4.3 sorts by
// creation time in whole seconds, leaving images created in the same second in the store's
// order.
func byCreation(rows []string, images map[string]podmanImage) []string {
	out := append([]string(nil), rows...)
	id := func(row string) string { return strings.TrimPrefix(strings.Fields(row)[0], "sha256:") }
	sort.SliceStable(out, func(a, b int) bool {
		ia, ib := images[id(out[a])], images[id(out[b])]
		if !ia.Created.Equal(ib.Created) {
			return ia.Created.After(ib.Created)
		}
		return ia.ID < ib.ID
	})
	return out
}

// TestParity compares imagectl's output with podman's on a store written by imagectl, then on
// one written by podman.
func TestParity(t *testing.T) {
	for _, writer := range []string{"imagectl", "podman"} {
		t.Run("written by "+writer, func(t *testing.T) {
			x := newParity(t, writer)
			images := x.inspectAll(t)
			t.Run("images", func(t *testing.T) { x.images(t, images) })
			t.Run("history", func(t *testing.T) { x.history(t, images) })
			t.Run("tree", x.tree)
			t.Run("inspect", x.inspect)
			t.Run("df", func(t *testing.T) { x.df(t, images) })
		})
	}
}

func (x *parity) tree(t *testing.T) {
	for _, img := range parityImages {
		for _, flags := range [][]string{nil, {"--whatrequires"}} {
			args := append(append([]string{"tree"}, flags...), img)
			pm, ours := x.both(t, append([]string{"image"}, args...), args)
			if ours != pm {
				t.Errorf("imagectl %s:\n%s\npodman:\n%s", strings.Join(args, " "), ours, pm)
			}
		}
	}
}

func (x *parity) inspect(t *testing.T) {
	all := append([]string(nil), parityImages...)
	cases := [][]string{
		all,
		{"busybox", "chain-top", "sha256:" + busyboxID},
		append([]string{"--format", "{{.Id}} {{.Digest}} {{.Parent}}"}, all...),
		append([]string{"--format", `{{.ID}}\t{{.RepoTags}}\t{{.Size}}`}, all...),
		append([]string{"--format", "table {{.ID}} {{.Size}} {{.NamesHistory}}"}, all...),
		append([]string{"--format", "{{json .Config}} {{.Os}}/{{.Architecture}} {{.Created}}"}, all...),
		append([]string{"--format", "{{range .RootFS.Layers}}{{.}} {{end}}{{.GraphDriver.Name}} {{.Labels}}"}, all...),
		append([]string{"--format", "{{json .}}"}, all...),
	}
	for _, args := range cases {
		iargs := append([]string{"inspect"}, args...)
		pm, ours := x.both(t, append([]string{"image"}, iargs...), iargs)
		if ours != pm {
			t.Errorf("imagectl %s:\n%s\npodman:\n%s", strings.Join(iargs, " "), ours, pm)
		}
	}
}
