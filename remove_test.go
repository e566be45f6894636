package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"go.podman.io/storage"
)

// synthImage is an image a synth built.
type synthImage struct {
	ID      string
	Top     string
	History []imgspecv1.History
	DiffIDs []digest.Digest
	// Size is the UncompressedSize c/storage recorded for the layer the step added (0 for a
	// config-only step).
	Size int64
}

// step describes one image for synth.build.
type step struct {
	parent *synthImage // nil for a base image
	// content > 0: the step adds a layer holding one file of that many bytes; 0: the step
	// changes the config only (for a base image: an image without layers).
	content int
	names   []string // full names, stored as given
	digest  digest.Digest
	created time.Time
	labels  map[string]string
}

// synth builds images through c/storage directly, each one build step on its parent (one
// more history entry, and a layer directly on the parent's top layer or the same top layer),
// so the §4 rule relates them exactly as a build would.
type synth struct {
	t   testing.TB
	rt  *Runtime
	seq int
}

func (s *synth) build(st step) *synthImage {
	s.t.Helper()
	s.seq++
	img := &synthImage{}
	if p := st.parent; p != nil {
		img.Top = p.Top
		img.History = append([]imgspecv1.History(nil), p.History...)
		img.DiffIDs = append([]digest.Digest(nil), p.DiffIDs...)
	}
	created := time.Date(2024, 1, 1, 0, 0, s.seq, 0, time.UTC)
	entry := imgspecv1.History{Created: &created, CreatedBy: fmt.Sprintf("RUN step %d", s.seq), EmptyLayer: st.content == 0}
	if st.content > 0 {
		s.addLayer(img, st.content)
	}
	img.History = append(img.History, entry)
	cfg := imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		Config:   imgspecv1.ImageConfig{Labels: st.labels},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: img.DiffIDs},
		History:  img.History,
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	id := digest.FromBytes(raw)
	opts := &storage.ImageOptions{
		Digest: st.digest, CreationDate: st.created,
		BigData: []storage.ImageBigDataOption{{Key: id.String(), Data: raw, Digest: id}},
	}
	if _, err := s.rt.store.CreateImage(id.Encoded(), st.names, img.Top, "", opts); err != nil {
		s.t.Fatalf("creating image %d: %v", s.seq, err)
	}
	img.ID = id.Encoded()
	return img
}

// addLayer puts a layer on img's top layer holding one file of n bytes unique to this step.
func (s *synth) addLayer(img *synthImage, n int) {
	s.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := bytes.Repeat([]byte{byte(s.seq)}, n)
	hdr := &tar.Header{Name: fmt.Sprintf("file-%d", s.seq), Mode: 0o644, Size: int64(n), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		s.t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		s.t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		s.t.Fatal(err)
	}
	layer, _, err := s.rt.store.PutLayer("", img.Top, nil, "", false, nil, bytes.NewReader(buf.Bytes()))
	if err != nil {
		s.t.Fatalf("putting layer %d: %v", s.seq, err)
	}
	img.Top, img.Size = layer.ID, layer.UncompressedSize
	img.DiffIDs = append(img.DiffIDs, digest.FromBytes(buf.Bytes()))
}

// chain builds n images, each on the previous one (the first on parent), each adding a
// layer of content bytes (0: config-only steps), without names.
func (s *synth) chain(parent *synthImage, n, content int) []*synthImage {
	s.t.Helper()
	var out []*synthImage
	for k := 0; k < n; k++ {
		parent = s.build(step{parent: parent, content: content})
		out = append(out, parent)
	}
	return out
}

// imageIDs returns the IDs of the store's images, sorted.
func imageIDs(t testing.TB, rt *Runtime) []string {
	t.Helper()
	images, err := rt.store.Images()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range images {
		ids = append(ids, img.ID)
	}
	sort.Strings(ids)
	return ids
}

func sortedIDs(images ...*synthImage) []string {
	var ids []string
	for _, img := range images {
		ids = append(ids, img.ID)
	}
	sort.Strings(ids)
	return ids
}

func ev(typ EventType, id, name string) Event { return Event{Type: typ, ID: id, Name: name} }

func assertReports(t *testing.T, got []*RemoveReport, want ...RemoveReport) {
	t.Helper()
	var g []RemoveReport
	for _, r := range got {
		g = append(g, *r)
	}
	if !reflect.DeepEqual(g, want) && (len(g) > 0 || len(want) > 0) {
		t.Errorf("reports:\n got %+v\nwant %+v", g, want)
	}
}

func assertImages(t *testing.T, rt *Runtime, want ...*synthImage) {
	t.Helper()
	if got, w := imageIDs(t, rt), sortedIDs(want...); !reflect.DeepEqual(got, w) {
		t.Errorf("images in the store:\n got %v\nwant %v", got, w)
	}
}

// newSynthRuntime returns a fresh test Runtime with a synth over it.
func newSynthRuntime(t testing.TB) (*Runtime, *recorder, *synth) {
	t.Helper()
	rt, rec := newTestRuntime(t)
	return rt, rec, &synth{t: t, rt: rt}
}

// TestRemoveChainWithUntaggedIntermediates: removing the top of base ← i1 ← i2 ← top (i1 and
// i2 untagged) removes top, then i2 and i1, which it left dangling, and stops at base, which
// has a name. Each report frees exactly its own layer.
func TestRemoveChainWithUntaggedIntermediates(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 3000, names: []string{"localhost/base:latest"}})
	mid := s.chain(base, 2, 1000)
	top := s.build(step{parent: mid[1], content: 500, names: []string{"localhost/top:latest"}})
	graphs := rt.counts.graphs.Load()
	reports, err := rt.RemoveImages(ctx, []string{"top"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := rt.counts.graphs.Load() - graphs; g != 1 {
		t.Errorf("%d snapshots built, want 1", g)
	}
	assertReports(t, reports,
		RemoveReport{ID: top.ID, Untagged: []string{"localhost/top:latest"}, Removed: true, Size: top.Size},
		RemoveReport{ID: mid[1].ID, Removed: true, Size: mid[1].Size},
		RemoveReport{ID: mid[0].ID, Removed: true, Size: mid[0].Size})
	assertEvents(t, rec, ev(EventUntag, top.ID, "localhost/top:latest"), ev(EventRemove, top.ID, "localhost/top:latest"),
		ev(EventRemove, mid[1].ID, ""), ev(EventRemove, mid[0].ID, ""))
	assertImages(t, rt, base)
	if _, err := rt.store.Layer(base.Top); err != nil {
		t.Errorf("base's layer: %v", err)
	}
}

// TestRemoveConfigOnlySteps: config-only steps share their parent's top layer, which is freed
// (and counted) once, with the last image that used it.
func TestRemoveConfigOnlySteps(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 2000})
	cfgStep := s.build(step{parent: base})
	top := s.build(step{parent: cfgStep, names: []string{"localhost/top:latest"}})
	if p, err := mustLookup(t, rt, "top").Parent(ctx); err != nil || p == nil || p.ID() != cfgStep.ID {
		t.Fatalf("parent of top: %v, %v", p, err)
	}
	reports, err := rt.RemoveImages(ctx, []string{"top"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports,
		RemoveReport{ID: top.ID, Untagged: []string{"localhost/top:latest"}, Removed: true},
		RemoveReport{ID: cfgStep.ID, Removed: true},
		RemoveReport{ID: base.ID, Removed: true, Size: base.Size})
	rec.take()
	assertImages(t, rt)
	if layers, _ := rt.store.Layers(); len(layers) != 0 {
		t.Errorf("%d layers left", len(layers))
	}
}

// TestRemoveImagesWithoutLayers: images with no layers are related by history alone.
func TestRemoveImagesWithoutLayers(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	base := s.build(step{})
	top := s.build(step{parent: base, names: []string{"localhost/empty:latest"}})
	other := s.build(step{names: []string{"localhost/other:latest"}})
	reports, err := rt.RemoveImages(context.Background(), []string{"empty"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports,
		RemoveReport{ID: top.ID, Untagged: []string{"localhost/empty:latest"}, Removed: true},
		RemoveReport{ID: base.ID, Removed: true})
	assertImages(t, rt, other)
}

// TestRemoveLastNameOfParent: the last name of an image with a child is untagged and the
// image stays, as an intermediate image; by ID the same image is refused, Force or not, and
// the store is unchanged.
func TestRemoveLastNameOfParent(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 100, names: []string{"localhost/base:latest"}})
	child := s.build(step{parent: base, content: 100, names: []string{"localhost/child:latest"}})
	for _, force := range []bool{false, true} {
		before := snapshotStore(t, rt)
		for _, arg := range []string{base.ID, base.ID[:12], "sha256:" + base.ID} {
			_, err := rt.RemoveImages(ctx, []string{arg}, &RemoveOptions{Force: force})
			if !errors.Is(err, ErrHasChildren) || !strings.Contains(err.Error(), fmt.Sprintf("%q", arg)) {
				t.Errorf("remove %s (force %v): %v, want ErrHasChildren quoting it", arg, force, err)
			}
		}
		assertUnchanged(t, rt, before)
		assertEvents(t, rec)
	}
	reports, err := rt.RemoveImages(ctx, []string{"base"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: base.ID, Untagged: []string{"localhost/base:latest"}})
	assertEvents(t, rec, ev(EventUntag, base.ID, "localhost/base:latest"))
	assertImages(t, rt, base, child)
	if yes, err := mustLookup(t, rt, base.ID).IsIntermediate(ctx); err != nil || !yes {
		t.Errorf("base is not intermediate: %v", err)
	}
	// Removing the child now takes the intermediate parent with it.
	if _, err := rt.RemoveImages(ctx, []string{"child"}, nil); err != nil {
		t.Fatal(err)
	}
	assertImages(t, rt)
}

// TestRemoveFiveUntaggedParents: a tagged image on a chain of 5 untagged parents with no
// other children: all 6 go; with NoPrune only the tagged one.
func TestRemoveFiveUntaggedParents(t *testing.T) {
	for _, noPrune := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoPrune=%v", noPrune), func(t *testing.T) {
			rt, rec, s := newSynthRuntime(t)
			other := s.build(step{content: 10, names: []string{"localhost/other:latest"}})
			parents := s.chain(nil, 5, 100)
			top := s.build(step{parent: parents[4], content: 100, names: []string{"localhost/top:1"}})
			reports, err := rt.RemoveImages(context.Background(), []string{"top:1"}, &RemoveOptions{NoPrune: noPrune})
			if err != nil {
				t.Fatal(err)
			}
			want := []RemoveReport{{ID: top.ID, Untagged: []string{"localhost/top:1"}, Removed: true, Size: top.Size}}
			events := []Event{ev(EventUntag, top.ID, "localhost/top:1"), ev(EventRemove, top.ID, "localhost/top:1")}
			if noPrune {
				assertImages(t, rt, append(parents, other)...)
			} else {
				for k := 4; k >= 0; k-- {
					want = append(want, RemoveReport{ID: parents[k].ID, Removed: true, Size: parents[k].Size})
					events = append(events, ev(EventRemove, parents[k].ID, ""))
				}
				assertImages(t, rt, other)
			}
			assertReports(t, reports, want...)
			assertEvents(t, rec, events...)
		})
	}
}

// TestRemoveNames: by name, an image with several names loses that name only (Force or
// not); two of its names in one call remove it; by ID or digest it is ErrMultipleNames
// unless forced.
func TestRemoveNames(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	d := digest.FromString("a manifest")
	img := s.build(step{content: 100, digest: d, names: []string{"localhost/a:1", "localhost/a:2", "localhost/a:3"}})

	graphs := rt.counts.graphs.Load()
	reports, err := rt.RemoveImages(ctx, []string{"a:1"}, &RemoveOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := rt.counts.graphs.Load() - graphs; g != 0 {
		t.Errorf("untagging built %d snapshots, want none", g)
	}
	assertReports(t, reports, RemoveReport{ID: img.ID, Untagged: []string{"localhost/a:1"}})
	assertEvents(t, rec, ev(EventUntag, img.ID, "localhost/a:1"))

	before := snapshotStore(t, rt)
	for _, arg := range []string{img.ID, img.ID[:10], "localhost/a@" + d.String()} {
		if _, err := rt.RemoveImages(ctx, []string{arg}, nil); !errors.Is(err, ErrMultipleNames) || !strings.Contains(err.Error(), fmt.Sprintf("%q", arg)) {
			t.Errorf("remove %s: %v, want ErrMultipleNames quoting it", arg, err)
		}
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)

	reports, err = rt.RemoveImages(ctx, []string{"a:2", "localhost/a:3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: img.ID, Untagged: []string{"localhost/a:2", "localhost/a:3"}, Removed: true, Size: img.Size})
	assertEvents(t, rec, ev(EventUntag, img.ID, "localhost/a:2"), ev(EventUntag, img.ID, "localhost/a:3"),
		ev(EventRemove, img.ID, "localhost/a:3"))
	assertImages(t, rt)
}

// TestRemoveForcedByIDOrDigest: Force removes an image with several names by ID or digest,
// with all its names.
func TestRemoveForcedByIDOrDigest(t *testing.T) {
	d := digest.FromString("a manifest")
	names := []string{"localhost/a:1", "localhost/a:2"}
	for _, byDigest := range []bool{false, true} {
		rt, rec, s := newSynthRuntime(t)
		img := s.build(step{content: 100, digest: d, names: names})
		arg := img.ID
		if byDigest {
			arg = "a@" + d.String()
		}
		reports, err := rt.RemoveImages(context.Background(), []string{arg}, &RemoveOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		assertReports(t, reports, RemoveReport{ID: img.ID, Untagged: names, Removed: true, Size: img.Size})
		assertEvents(t, rec, ev(EventUntag, img.ID, names[0]), ev(EventUntag, img.ID, names[1]), ev(EventRemove, img.ID, ""))
		assertImages(t, rt)
	}
}

// TestRemoveInUse: an image containers use is refused without Force; Force removes the
// containers (through the caller's callback when given, else c/storage) and then the image.
func TestRemoveInUse(t *testing.T) {
	for _, callback := range []bool{false, true} {
		t.Run(fmt.Sprintf("callback=%v", callback), func(t *testing.T) {
			rt, rec, s := newSynthRuntime(t)
			ctx := context.Background()
			img := s.build(step{content: 100, names: []string{"localhost/used:latest"}})
			ctr, err := rt.store.CreateContainer("", nil, img.ID, "", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshotStore(t, rt)
			if _, err := rt.RemoveImages(ctx, []string{"used"}, nil); !errors.Is(err, ErrImageInUse) ||
				!strings.Contains(err.Error(), `"used"`) || !strings.Contains(err.Error(), ctr.ID) {
				t.Errorf("remove: %v, want ErrImageInUse naming the container", err)
			}
			assertUnchanged(t, rt, before)
			assertEvents(t, rec)
			opts := &RemoveOptions{Force: true}
			var called []string
			if callback {
				opts.RemoveContainer = func(id string) error {
					called = append(called, id)
					return rt.store.DeleteContainer(id)
				}
			}
			reports, err := rt.RemoveImages(ctx, []string{"used"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if callback && !reflect.DeepEqual(called, []string{ctr.ID}) {
				t.Errorf("callback called with %v, want %s", called, ctr.ID)
			}
			if cs, _ := rt.store.Containers(); len(cs) != 0 {
				t.Errorf("%d containers left", len(cs))
			}
			assertReports(t, reports, RemoveReport{ID: img.ID, Untagged: []string{"localhost/used:latest"}, Removed: true, Size: img.Size})
			assertEvents(t, rec, ev(EventUntag, img.ID, "localhost/used:latest"), ev(EventRemove, img.ID, "localhost/used:latest"))
			assertImages(t, rt)
		})
	}
}

// TestRemoveLastNameInUseWithChildren: the last name of an image others are built on is not
// untagged while a container uses the image (ErrImageInUse, as podman and Docker refuse);
// Force removes the container, then untags the image and keeps it for its child.
func TestRemoveLastNameInUseWithChildren(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 100, names: []string{"localhost/base:latest"}})
	child := s.build(step{parent: base, content: 100, names: []string{"localhost/child:latest"}})
	ctr, err := rt.store.CreateContainer("", nil, base.ID, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotStore(t, rt)
	if _, err := rt.RemoveImages(ctx, []string{"base"}, nil); !errors.Is(err, ErrImageInUse) || !strings.Contains(err.Error(), ctr.ID) {
		t.Fatalf("remove: %v, want ErrImageInUse naming the container", err)
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
	reports, err := rt.RemoveImages(ctx, []string{"base"}, &RemoveOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: base.ID, Untagged: []string{"localhost/base:latest"}})
	assertEvents(t, rec, ev(EventUntag, base.ID, "localhost/base:latest"))
	if cs, _ := rt.store.Containers(); len(cs) != 0 {
		t.Errorf("%d containers left", len(cs))
	}
	assertImages(t, rt, base, child)
}

// TestRemoveCallbackError: a failing callback fails that image only.
func TestRemoveCallbackError(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	img := s.build(step{content: 100, names: []string{"localhost/used:latest"}})
	other := s.build(step{content: 100, names: []string{"localhost/other:latest"}})
	if _, err := rt.store.CreateContainer("", nil, img.ID, "", "", nil); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("the caller refuses")
	reports, err := rt.RemoveImages(context.Background(), []string{"used", "other"}, &RemoveOptions{
		Force: true, RemoveContainer: func(string) error { return refused },
	})
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), `"used"`) {
		t.Errorf("error %v, want the callback's, quoting the name", err)
	}
	assertReports(t, reports, RemoveReport{ID: other.ID, Untagged: []string{"localhost/other:latest"}, Removed: true, Size: other.Size})
	assertImages(t, rt, img)
}

// TestRemoveVanished: an image another Runtime removed between our lookup and our delete
// counts as removed (nothing freed by us, no event from us).
func TestRemoveVanished(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	img := s.build(step{content: 100, names: []string{"localhost/gone:latest"}})
	if _, err := rt.store.CreateContainer("", nil, img.ID, "", "", nil); err != nil {
		t.Fatal(err)
	}
	other, err := NewRuntime(rt.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The callback runs after the lookup and before the delete: the other Runtime removes the
	// image there.
	reports, err := rt.RemoveImages(ctx, []string{"gone"}, &RemoveOptions{Force: true, RemoveContainer: func(id string) error {
		if err := rt.store.DeleteContainer(id); err != nil {
			return err
		}
		_, err := other.RemoveImages(ctx, []string{img.ID}, nil)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: img.ID, Removed: true})
	assertEvents(t, rec)
	assertImages(t, rt)
}

// TestRemoveJoinedErrors: every argument is processed; the errors are joined, each quoting
// its argument; an image the parent walk removed is no error when named later.
func TestRemoveJoinedErrors(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	parent := s.build(step{content: 100})
	a := s.build(step{parent: parent, content: 100, names: []string{"localhost/a:latest"}})
	b := s.build(step{content: 100, names: []string{"localhost/b:latest"}})
	reports, err := rt.RemoveImages(context.Background(), []string{"nosuch1", "a", parent.ID[:12], "nosuch2", "b"}, nil)
	for _, arg := range []string{"nosuch1", "nosuch2"} {
		if !strings.Contains(fmt.Sprint(err), fmt.Sprintf("%q", arg)) {
			t.Errorf("error %v does not quote %q", err, arg)
		}
	}
	if !errors.Is(err, ErrImageUnknown) || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("error %q: want two joined ErrImageUnknown", err)
	}
	assertReports(t, reports,
		RemoveReport{ID: a.ID, Untagged: []string{"localhost/a:latest"}, Removed: true, Size: a.Size},
		RemoveReport{ID: parent.ID, Removed: true, Size: parent.Size},
		RemoveReport{ID: b.ID, Untagged: []string{"localhost/b:latest"}, Removed: true, Size: b.Size})
	assertImages(t, rt)
}

// TestRemoveAll removes every image, children first; with a container and no Force, that
// image and those it is built on stay, and the errors say why.
func TestRemoveAll(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 100, names: []string{"localhost/base:latest"}})
	mid := s.build(step{parent: base, content: 100})
	used := s.build(step{parent: mid, content: 100, names: []string{"localhost/used:1", "localhost/used:2"}})
	s.build(step{parent: base, content: 100, names: []string{"localhost/other:latest"}})
	s.build(step{content: 100})
	if _, err := rt.store.CreateContainer("", nil, used.ID, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RemoveImages(ctx, []string{"base"}, &RemoveOptions{All: true}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("All with a name: %v", err)
	}
	_, err := rt.RemoveImages(ctx, nil, &RemoveOptions{All: true})
	if !errors.Is(err, ErrImageInUse) || !errors.Is(err, ErrHasChildren) {
		t.Errorf("error %v: want ErrImageInUse for used, ErrHasChildren for mid and base", err)
	}
	assertImages(t, rt, base, mid, used)
	rec.take()
	reports, err := rt.RemoveImages(ctx, nil, &RemoveOptions{All: true, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports,
		RemoveReport{ID: used.ID, Untagged: []string{"localhost/used:1", "localhost/used:2"}, Removed: true, Size: used.Size},
		RemoveReport{ID: mid.ID, Removed: true, Size: mid.Size},
		RemoveReport{ID: base.ID, Untagged: []string{"localhost/base:latest"}, Removed: true, Size: base.Size})
	assertImages(t, rt)
}

// TestRemoveReadOnly: images of an additional (read-only) image store cannot be removed or
// untagged; All and Prune skip them.
func TestRemoveReadOnly(t *testing.T) {
	dir := t.TempDir()
	roRoot := filepath.Join(dir, "ro")
	roStore, err := storage.GetStore(storage.StoreOptions{GraphRoot: roRoot, RunRoot: filepath.Join(dir, "rorun"), GraphDriverName: "vfs"})
	if err != nil {
		t.Fatal(err)
	}
	roRT, err := NewRuntime(roStore, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := &synth{t: t, rt: roRT}
	named := rs.build(step{content: 100, names: []string{"localhost/ro:1", "localhost/ro:2"}})
	dangling := rs.build(step{content: 100})
	if _, err := roStore.Shutdown(true); err != nil {
		t.Fatal(err)
	}
	// c/storage keeps one lock per path in a process, and that store's lock is read-write: reach
	// the same files through a symlink to get a read-only lock, as another process would.
	link := filepath.Join(dir, "ro-link")
	if err := os.Symlink(roRoot, link); err != nil {
		t.Fatal(err)
	}
	store, err := storage.GetStore(storage.StoreOptions{
		GraphRoot: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), GraphDriverName: "vfs",
		GraphDriverOptions: []string{"vfs.imagestore=" + link},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = store.Shutdown(true) })
	rec := &recorder{}
	rt, err := NewRuntime(store, &RuntimeOptions{Eventer: rec})
	if err != nil {
		t.Fatal(err)
	}
	if !mustLookup(t, rt, "ro:1").IsReadOnly() {
		t.Fatal("the additional store's image is not read-only")
	}
	ctx := context.Background()
	before := snapshotStore(t, rt)
	for _, arg := range []string{"ro:1", named.ID, dangling.ID} {
		if _, err := rt.RemoveImages(ctx, []string{arg}, &RemoveOptions{Force: true}); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), fmt.Sprintf("%q", arg)) {
			t.Errorf("remove %s: %v, want ErrReadOnly quoting it", arg, err)
		}
	}
	for _, all := range []bool{false, true} {
		if reports, err := rt.Prune(ctx, &PruneOptions{All: all}); err != nil || len(reports) != 0 {
			t.Errorf("prune (all %v): %v, %v", all, reports, err)
		}
	}
	if reports, err := rt.RemoveImages(ctx, nil, &RemoveOptions{All: true}); err != nil || len(reports) != 0 {
		t.Errorf("remove all: %v, %v", reports, err)
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
}

// TestPrune: dangling images go, with the parents their removal leaves dangling, in one
// call; a second call is a no-op; images in use are skipped; All takes every unused image.
func TestPrune(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 1000, names: []string{"localhost/base:latest"}})
	chain := s.chain(base, 3, 100)                    // three untagged: the top one dangling
	cfgOnly := s.build(step{parent: base})            // dangling, shares base's layer
	used := s.build(step{parent: base, content: 100}) // dangling but in use
	lonely := s.build(step{content: 100})             // intermediate under...
	lonelyChild := s.build(step{parent: lonely})      // ...a dangling config-only step
	named := s.build(step{parent: base, content: 100, names: []string{"localhost/named:latest"}})
	if _, err := rt.store.CreateContainer("", nil, used.ID, "", "", nil); err != nil {
		t.Fatal(err)
	}
	rt.configs = configCache{}
	graphs, reads := rt.counts.graphs.Load(), rt.counts.configReads.Load()
	reports, err := rt.Prune(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, r := rt.counts.graphs.Load()-graphs, rt.counts.configReads.Load()-reads; g != 1 || r > 10 {
		t.Errorf("%d snapshots built, %d configs read: want 1 snapshot, each of the 10 configs read at most once", g, r)
	}
	gone := map[string]int64{chain[2].ID: chain[2].Size, chain[1].ID: chain[1].Size, chain[0].ID: chain[0].Size,
		cfgOnly.ID: 0, lonelyChild.ID: 0, lonely.ID: lonely.Size}
	var total, wantTotal int64
	got := map[string]int64{}
	var events []Event
	for _, r := range reports {
		if !r.Removed || len(r.Untagged) > 0 {
			t.Errorf("report %+v", r)
		}
		got[r.ID] = r.Size
		total += r.Size
		events = append(events, ev(EventPrune, r.ID, ""))
	}
	for _, size := range gone {
		wantTotal += size
	}
	if !reflect.DeepEqual(got, gone) || total != wantTotal {
		t.Errorf("pruned %v (%d bytes), want %v (%d bytes)", got, total, gone, wantTotal)
	}
	assertEvents(t, rec, events...)
	assertImages(t, rt, base, used, named)

	before := snapshotStore(t, rt)
	if reports, err := rt.Prune(ctx, nil); err != nil || len(reports) != 0 {
		t.Errorf("second prune: %v, %v", reports, err)
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)

	reports, err = rt.Prune(ctx, &PruneOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: named.ID, Untagged: []string{"localhost/named:latest"}, Removed: true, Size: named.Size})
	assertEvents(t, rec, ev(EventUntag, named.ID, "localhost/named:latest"), ev(EventPrune, named.ID, ""))
	assertImages(t, rt, base, used)
}

// TestPruneFilters: filters choose among the candidates; a bad one changes nothing.
func TestPruneFilters(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	ctx := context.Background()
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	oldKeep := s.build(step{content: 10, created: old, labels: map[string]string{"keep": "yes"}})
	oldGo := s.build(step{content: 10, created: old, labels: map[string]string{"stage": "build"}})
	recent := s.build(step{content: 10, created: time.Now(), labels: map[string]string{"stage": "build"}})

	before := snapshotStore(t, rt)
	for _, f := range []string{"until", "nosuchkey=1", "until=yesterday-ish"} {
		if _, err := rt.Prune(ctx, &PruneOptions{Filters: []string{f}}); !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), fmt.Sprintf("%q", f)) {
			t.Errorf("filter %q: %v, want ErrInvalidFilter quoting it", f, err)
		}
	}
	assertUnchanged(t, rt, before)

	reports, err := rt.Prune(ctx, &PruneOptions{Filters: []string{"until=24h", "label!=keep"}})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: oldGo.ID, Removed: true, Size: oldGo.Size})
	reports, err = rt.Prune(ctx, &PruneOptions{Filters: []string{"label=stage=build"}})
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: recent.ID, Removed: true, Size: recent.Size})
	assertImages(t, rt, oldKeep)
}

// TestRemoveRealArchives: the chain podman built (busybox ← chain-base ← chain-mid ←
// chain-top with two tags): the two tags in one call remove chain-top and free its own layer
// only; busybox by ID is refused (it has children); chain-base by name is untagged and kept.
func TestRemoveRealArchives(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar", "chain.multi.docker.tar")
	rec.take()
	ctx := context.Background()
	top := mustLookup(t, rt, "chain-top")
	layer, err := rt.store.Layer(top.TopLayer())
	if err != nil {
		t.Fatal(err)
	}
	reports, err := rt.RemoveImages(ctx, []string{"chain-top:v1", "chain-top:latest"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: top.ID(), Untagged: []string{"localhost/chain-top:v1", "localhost/chain-top:latest"},
		Removed: true, Size: layer.UncompressedSize})
	assertEvents(t, rec, ev(EventUntag, top.ID(), "localhost/chain-top:v1"), ev(EventUntag, top.ID(), "localhost/chain-top:latest"),
		ev(EventRemove, top.ID(), "localhost/chain-top:latest"))

	busybox := mustLookup(t, rt, "busybox")
	before := snapshotStore(t, rt)
	if _, err := rt.RemoveImages(ctx, []string{busybox.ID()}, &RemoveOptions{Force: true}); !errors.Is(err, ErrHasChildren) {
		t.Errorf("remove busybox by ID: %v, want ErrHasChildren", err)
	}
	assertUnchanged(t, rt, before)
	base := mustLookup(t, rt, "chain-base")
	reports, err = rt.RemoveImages(ctx, []string{"chain-base"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertReports(t, reports, RemoveReport{ID: base.ID(), Untagged: []string{"localhost/chain-base:latest"}})
	// chain-mid goes, and chain-base with it (now dangling); busybox has a name and stays.
	mid := mustLookup(t, rt, "chain-mid")
	reports, err = rt.RemoveImages(ctx, []string{"chain-mid"}, nil)
	if err != nil || len(reports) != 2 || reports[0].ID != mid.ID() || reports[1].ID != base.ID() {
		t.Errorf("remove chain-mid: %+v, %v", reports, err)
	}
	if ids := imageIDs(t, rt); !reflect.DeepEqual(ids, []string{busybox.ID()}) {
		t.Errorf("images left %v, want busybox only", ids)
	}
}

// benchSizes are the store sizes the remove benchmarks run at: IMAGE_BENCH_SIZES (commas or
// spaces, e.g. "500,2000,5000"), else 500 and 2,000. Filling a store is O(N²) in
// c/storage (each write rewrites its index), so each store is built once per size and reused
// by every round of its benchmark.
//
// With IMAGE_BENCH_DIR set, the benchmarks skip: BenchmarkScale's RemoveChain and Prune1000
// measure the same removals on the generator's cached stores (with the same floor-ns/op),
// which spares building synthetic stores of those sizes here (O(N²) each).
func benchSizes(b *testing.B) []int {
	if os.Getenv("IMAGE_BENCH_DIR") != "" {
		b.Skip("IMAGE_BENCH_DIR is set: BenchmarkScale/RemoveChain and Scale/Prune1000 run on its cached stores")
	}
	spec := os.Getenv("IMAGE_BENCH_SIZES")
	if spec == "" {
		return []int{500, 2000}
	}
	var sizes []int
	for _, f := range strings.FieldsFunc(spec, func(c rune) bool { return c == ',' || c == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("IMAGE_BENCH_SIZES=%q: %v", spec, err)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchStore is a store like the one the generator makes: a named base image with an
// 8 KiB layer and named "app" images, each the base plus a unique 4 KiB layer.
type benchStore struct {
	rt   *Runtime
	s    *synth
	base *synthImage
}

// newBenchStore builds a store of apps app images plus the base. The store lives in a temp dir
// owned by owner (the parent
// benchmark, so that every round of a sub-benchmark reuses it); failures go through tb.
func newBenchStore(owner, tb testing.TB, apps int) *benchStore {
	tb.Helper()
	dir, err := os.MkdirTemp("", "image-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	store, err := storage.GetStore(storage.StoreOptions{
		GraphRoot: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), GraphDriverName: "vfs",
	})
	if err != nil {
		tb.Fatal(err)
	}
	owner.Cleanup(func() {
		_, _ = store.Shutdown(true)
		_ = os.RemoveAll(dir)
	})
	rt, err := NewRuntime(store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	bs := &benchStore{rt: rt, s: &synth{t: tb, rt: rt}}
	bs.base = bs.s.build(step{content: 8 << 10, names: []string{"localhost/base:latest"}})
	for k := 0; k < apps; k++ {
		bs.s.build(step{parent: bs.base, content: 4 << 10, names: []string{fmt.Sprintf("localhost/app-%05d:v1", k)}})
	}
	return bs
}

// buildChain adds an untagged chain of 50 images on the base, each with its own 512-byte
// layer, and a tagged image on top; it returns the IDs, top first.
func (bs *benchStore) buildChain() []string {
	chain := bs.s.chain(bs.base, 50, 512)
	top := bs.s.build(step{parent: chain[49], content: 512, names: []string{"localhost/chain-top:latest"}})
	ids := []string{top.ID}
	for k := 49; k >= 0; k-- {
		ids = append(ids, chain[k].ID)
	}
	return ids
}

// buildDangling adds n unnamed images, each the base plus its own 4 KiB layer.
func (bs *benchStore) buildDangling(n int) []string {
	var ids []string
	for k := 0; k < n; k++ {
		ids = append(ids, bs.s.build(step{parent: bs.base, content: 4 << 10}).ID)
	}
	return ids
}

// floor deletes the images through c/storage alone, in order, and returns the time it took:
// the cost of the writes any implementation has to make.
func (bs *benchStore) floor(tb testing.TB, ids []string) time.Duration {
	start := time.Now()
	for _, id := range ids {
		if _, err := bs.rt.store.DeleteImage(id, true); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkRemoveChain removes a tagged image with 50 untagged ancestors (each with its own
// layer) from a store of N images: 51 images and layers go, through one snapshot. Between
// rounds, untimed, the chain is rebuilt twice: once for c/storage alone to delete (reported
// as floor-ns/op, the writes any implementation makes), once for RemoveImages.
func BenchmarkRemoveChain(b *testing.B) {
	for _, n := range benchSizes(b) {
		var bs *benchStore
		b.Run(fmt.Sprintf("N=%d", n), func(sb *testing.B) {
			if bs == nil {
				bs = newBenchStore(b, sb, n-52)
			}
			bs.s.t = sb
			ctx := context.Background()
			var floor time.Duration
			sb.ResetTimer()
			for range sb.N {
				sb.StopTimer()
				floor += bs.floor(sb, bs.buildChain())
				bs.buildChain()
				sb.StartTimer()
				reports, err := bs.rt.RemoveImages(ctx, []string{"chain-top"}, nil)
				if err != nil || len(reports) != 51 {
					sb.Fatalf("%d reports, %v", len(reports), err)
				}
			}
			sb.ReportMetric(float64(floor.Nanoseconds())/float64(sb.N), "floor-ns/op")
		})
	}
}

// BenchmarkPrune prunes 1,000 dangling images (each with its own layer) from a store of N
// images (N > 1,000). Between rounds, untimed, the dangling images are rebuilt twice, as in
// BenchmarkRemoveChain, for c/storage alone (floor-ns/op) and for Prune.
func BenchmarkPrune(b *testing.B) {
	const dangling = 1000
	for _, n := range benchSizes(b) {
		if n <= dangling {
			continue
		}
		var bs *benchStore
		b.Run(fmt.Sprintf("N=%d", n), func(sb *testing.B) {
			if bs == nil {
				bs = newBenchStore(b, sb, n-dangling-1)
			}
			bs.s.t = sb
			ctx := context.Background()
			var floor time.Duration
			sb.ResetTimer()
			for range sb.N {
				sb.StopTimer()
				floor += bs.floor(sb, bs.buildDangling(dangling))
				bs.buildDangling(dangling)
				sb.StartTimer()
				reports, err := bs.rt.Prune(ctx, nil)
				if err != nil || len(reports) != dangling {
					sb.Fatalf("%d reports, %v", len(reports), err)
				}
			}
			sb.ReportMetric(float64(floor.Nanoseconds())/float64(sb.N), "floor-ns/op")
		})
	}
}

// TestRemoveCanceled: a canceled context changes nothing.
func TestRemoveCanceled(t *testing.T) {
	rt, rec, s := newSynthRuntime(t)
	s.build(step{content: 10, names: []string{"localhost/a:latest"}})
	s.build(step{content: 10})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := snapshotStore(t, rt)
	if _, err := rt.RemoveImages(ctx, []string{"a"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("remove: %v", err)
	}
	if _, err := rt.Prune(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("prune: %v", err)
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
}
