package image

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.podman.io/storage"

	"github.com/seed-1e5c3c91/image/internal/storeclone"
)

// The scale benchmarks run on stores made by the generator bench/nstore (written through
// c/image, so podman reads them too; see BENCHMARKS.md): N app images on one base layer (60%
// named, 40% dangling), a chain of 51 images of which only the top is tagged (a tagged image
// with 50 untagged ancestors) and one image of 100 layers. Filling such a store is O(N²) in
// c/storage (5,000 images take about 15 minutes), so the stores are built once, cached in
// $IMAGE_BENCH_DIR/sN, and reused: `make bench-stores` builds the missing ones. Without
// IMAGE_BENCH_DIR the benchmarks skip, so `make test` stays fast.
//
//	IMAGE_BENCH_DIR=/some/dir make bench
//	IMAGE_BENCH_DIR=/some/dir go test -tags "..." -run '^$' -bench Scale -timeout 0 .
//
// IMAGE_BENCH_SIZES ("500 2000 5000" by default; spaces or commas) chooses the N. Every operation starts from a
// fresh Runtime (an empty config cache, as a new imagectl process has) over a store opened
// once; the destructive ones (RemoveChain, Prune*) run on a copy of the store made before each
// iteration, outside the timer, and report floor-ns/op: c/storage alone deleting the same
// images from another copy.

const (
	scaleChain = 51  // chain images: chain-top and its 50 untagged ancestors
	scaleDeep  = 100 // layers of localhost/deep:latest
)

// scaleStore is one cached store of the generator.
type scaleStore struct {
	n    int    // app images
	root string // R: R/root is the graph root, R/run the run root
}

// scaleStamp is R/nstore.json, which the generator writes once the store is complete.
type scaleStamp struct {
	Apps   int `json:"apps"`
	Chain  int `json:"chain"`
	Deep   int `json:"deep"`
	Images int `json:"images"`
	Layers int `json:"layers"`
}

// scaleStores returns the stores to run on, or skips b with the reason.
func scaleStores(b *testing.B) []scaleStore {
	dir := os.Getenv("IMAGE_BENCH_DIR")
	if dir == "" {
		b.Skip("IMAGE_BENCH_DIR is not set: the scale benchmarks need stores made by bench/nstore (IMAGE_BENCH_DIR=/some/dir make bench)")
	}
	sizes := os.Getenv("IMAGE_BENCH_SIZES")
	if sizes == "" {
		sizes = "500 2000 5000"
	}
	var out []scaleStore
	for _, f := range strings.FieldsFunc(sizes, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("IMAGE_BENCH_SIZES: %q is not a number", f)
		}
		s := scaleStore{n: n, root: filepath.Join(dir, fmt.Sprintf("s%d", n))}
		raw, err := os.ReadFile(filepath.Join(s.root, "nstore.json"))
		var st scaleStamp
		if err == nil {
			err = json.Unmarshal(raw, &st)
		}
		if err != nil || st.Apps != n || st.Chain != scaleChain || st.Deep != scaleDeep {
			b.Fatalf("no complete store for N=%d in %s (%v, stamp %+v): build it with `make bench-stores IMAGE_BENCH_DIR=%s` "+
				"or bench/nstore -root %s -n %d -chain %d -deep %d", n, s.root, err, st, dir, s.root, n, scaleChain, scaleDeep)
		}
		out = append(out, s)
	}
	return out
}

// images is the number of images of the store.
func (s scaleStore) images() int { return s.n + scaleChain + 1 }

// dangling is the number of dangling images among the first k app images (i%5 >= 3 have no
// name and no child).
func danglingAmong(k int) int {
	d := 0
	for i := range k {
		if i%5 >= 3 {
			d++
		}
	}
	return d
}

// untilFilter is the "until" filter that selects the first k app images: app image i was
// created at 2024-01-01 + (i+1) minutes (the chain and deep images are older, but they are
// not dangling).
func untilFilter(k int) string {
	t := time.Date(2024, 1, 1, 0, 0, 30, 0, time.UTC).Add(time.Duration(k) * time.Minute)
	return "until=" + t.Format(time.RFC3339)
}

func openScaleStore(b *testing.B, graphRoot, runRoot string) storage.Store {
	b.Helper()
	store, err := storage.GetStore(storage.StoreOptions{GraphRoot: graphRoot, RunRoot: runRoot, GraphDriverName: "vfs"})
	if err != nil {
		b.Fatal(err)
	}
	return store
}

// scaleOp is one operation measured at every N.
type scaleOp struct {
	name string
	// minN skips the op on smaller stores.
	minN int
	// run is a read-only operation.
	run func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore)
	// remove, set instead of run, changes the store: it runs on a fresh copy of the store per
	// iteration and returns the IDs of the images it removed, in the order it removed them,
	// which c/storage alone then deletes from another copy (the floor-ns/op metric).
	remove func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) []string
}

var scaleOps = []scaleOp{
	{name: "ListImages", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		images, err := rt.ListImages(ctx, nil)
		if err != nil || len(images) != s.images() {
			b.Fatalf("ListImages: %d images, want %d (%v)", len(images), s.images(), err)
		}
	}},
	{name: "DiskUsage", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		du, err := rt.DiskUsage(ctx)
		if err != nil || len(du.Images) != s.images() {
			b.Fatalf("DiskUsage: %d images, want %d (%v)", len(du.Images), s.images(), err)
		}
	}},
	{name: "ListImagesDangling", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		images, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"dangling=true"}})
		if err != nil || len(images) != danglingAmong(s.n) {
			b.Fatalf("ListImages dangling=true: %d images, want %d (%v)", len(images), danglingAmong(s.n), err)
		}
	}},
	{name: "ListImagesNotIntermediate", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		// what `imagectl images` lists (podman hides intermediate images)
		images, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"intermediate=false"}})
		if want := s.images() - (scaleChain - 1); err != nil || len(images) != want {
			b.Fatalf("ListImages intermediate=false: %d images, want %d (%v)", len(images), want, err)
		}
	}},
	{name: "Tree", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		img, _, err := rt.LookupImage("localhost/chain-top:latest", nil)
		if err != nil {
			b.Fatal(err)
		}
		t, err := rt.Tree(ctx, img, nil)
		if err != nil {
			b.Fatal(err)
		}
		// the base layer and one layer per chain image, after the "Image ID:" line
		if layers := strings.Count(t.String(), "ID: ") - 1; layers != scaleChain+1 {
			b.Fatalf("tree of chain-top: %d layers, want %d", layers, scaleChain+1)
		}
	}},
	{name: "History100", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		img, _, err := rt.LookupImage("localhost/deep:latest", nil)
		if err != nil {
			b.Fatal(err)
		}
		h, err := img.History(ctx)
		if err != nil || len(h) != scaleDeep {
			b.Fatalf("history of deep: %d entries, want %d (%v)", len(h), scaleDeep, err)
		}
	}},
	{name: "ParentChildrenAll", run: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) {
		images, err := rt.ListImages(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		parents, children := 0, 0
		for _, img := range images {
			p, err := img.Parent(ctx)
			if err != nil {
				b.Fatal(err)
			}
			kids, err := img.Children(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if p != nil {
				parents++
			}
			children += len(kids)
		}
		if parents != scaleChain-1 || children != scaleChain-1 {
			b.Fatalf("%d images with a parent, %d children; want %d each", parents, children, scaleChain-1)
		}
	}},
	{name: "RemoveChain", remove: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) []string {
		reports, err := rt.RemoveImages(ctx, []string{"localhost/chain-top:latest"}, nil)
		var removed []string
		for _, r := range reports {
			if r.Removed {
				removed = append(removed, r.ID)
			}
		}
		if err != nil || len(removed) != scaleChain {
			b.Fatalf("RemoveImages chain-top: %d images removed, want %d (%v)", len(removed), scaleChain, err)
		}
		return removed
	}},
	{name: "Prune100", minN: 250, remove: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) []string {
		return scalePrune(ctx, b, rt, 250) // app images 0..249 hold 100 dangling ones
	}},
	{name: "Prune1000", minN: 2500, remove: func(ctx context.Context, b *testing.B, rt *Runtime, s scaleStore) []string {
		return scalePrune(ctx, b, rt, 2500) // app images 0..2499 hold 1,000 dangling ones
	}},
}

func scalePrune(ctx context.Context, b *testing.B, rt *Runtime, apps int) []string {
	reports, err := rt.Prune(ctx, &PruneOptions{Filters: []string{untilFilter(apps)}})
	if err != nil || len(reports) != danglingAmong(apps) {
		b.Fatalf("Prune %s: %d reports, want %d (%v)", untilFilter(apps), len(reports), danglingAmong(apps), err)
	}
	ids := make([]string, 0, len(reports))
	for _, r := range reports {
		ids = append(ids, r.ID)
	}
	return ids
}

// BenchmarkScale runs each operation on the stores of every size: the names are
// Scale/<op>/N=<n>, so the growth from N=500 to N=5,000 is the ratio of two lines.
func BenchmarkScale(b *testing.B) {
	stores := scaleStores(b)
	open := map[int]storage.Store{}
	b.Cleanup(func() {
		for _, st := range open {
			_, _ = st.Shutdown(true)
		}
	})
	ctx := context.Background()
	for _, op := range scaleOps {
		b.Run(op.name, func(b *testing.B) {
			ran := false
			defer func() {
				if !ran {
					b.Skipf("needs a store of at least %d app images", op.minN)
				}
			}()
			for _, s := range stores {
				if s.n < op.minN {
					continue
				}
				ran = true
				b.Run(fmt.Sprintf("N=%d", s.n), func(b *testing.B) {
					if op.remove != nil {
						scaleDestructive(ctx, b, op, s)
						return
					}
					st, ok := open[s.n]
					if !ok {
						st = openScaleStore(b, filepath.Join(s.root, "root"), filepath.Join(s.root, "run"))
						open[s.n] = st
					}
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						rt, err := NewRuntime(st, nil)
						if err != nil {
							b.Fatal(err)
						}
						op.run(ctx, b, rt, s)
					}
				})
			}
		})
	}
}

// scaleDestructive runs op on a fresh copy of the store per iteration, then deletes the same
// images in the same order through c/storage alone (DeleteImage, with their layers) from
// another fresh copy: the writes any implementation makes, reported as floor-ns/op. Copying,
// opening and closing the copies are not timed.
func scaleDestructive(ctx context.Context, b *testing.B, op scaleOp, s scaleStore) {
	b.ReportAllocs()
	var floor time.Duration
	for i := range b.N {
		b.StopTimer()
		st, done := scaleCopy(b, s, i)
		rt, err := NewRuntime(st, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ids := op.remove(ctx, b, rt, s)
		b.StopTimer()
		done()
		st, done = scaleCopy(b, s, i)
		start := time.Now()
		for _, id := range ids {
			if _, err := st.DeleteImage(id, true); err != nil {
				b.Fatalf("floor: deleting image %s: %v", id, err)
			}
		}
		floor += time.Since(start)
		done()
		b.StartTimer()
	}
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
}

// scaleCopy opens a fresh copy of the store s (internal/storeclone, next to it); done closes
// and removes it.
func scaleCopy(b *testing.B, s scaleStore, i int) (storage.Store, func()) {
	b.Helper()
	dst := filepath.Join(filepath.Dir(s.root), fmt.Sprintf(".bench-copy-s%d-%d", s.n, i))
	if err := os.RemoveAll(dst); err != nil {
		b.Fatal(err)
	}
	if err := storeclone.Clone(s.root, dst); err != nil {
		b.Fatal(err)
	}
	st := openScaleStore(b, filepath.Join(dst, "root"), filepath.Join(dst, "run"))
	return st, func() {
		if _, err := st.Shutdown(true); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(dst); err != nil {
			b.Fatal(err)
		}
	}
}
