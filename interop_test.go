package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/podmantest"
)

// The interop tests run the real podman (Debian's 4.3, whose c/storage is 1.43) on the
// test's own store, next to our Runtime (c/storage 1.65): what one writes, the other must
// read identically. They skip when podman is not installed (and fail under CI=true, where
// .ci/run installs it).

// newInterop returns a Runtime over a fresh store and podman pointed at the same store.
func newInterop(t *testing.T) (*Runtime, *recorder, *podmantest.Podman) {
	t.Helper()
	if !podmantest.Available() && os.Getenv("CI") != "true" {
		t.Skip("podman is not installed: the interop tests need it (apt-get install podman)")
	}
	rt, rec := newTestRuntime(t)
	return rt, rec, podmantest.New(t, rt.Store().GraphRoot(), rt.Store().RunRoot())
}

// podmanImage is one entry of `podman images --format json`.
type podmanImage struct {
	ID          string   `json:"Id"`
	ParentID    string   `json:"ParentId"`
	RepoDigests []string `json:"RepoDigests"`
	Size        int64    `json:"Size"`
	Containers  int      `json:"Containers"`
	Names       []string `json:"Names"`
	Digest      string   `json:"Digest"`
	Created     int64    `json:"Created"`
}

// podmanHistoryRow is one row of `podman image history --format json`.
type podmanHistoryRow struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"CreatedBy"`
	Size      int64     `json:"size"`
	Comment   string    `json:"comment"`
}

// podmanWrongHistory lists, by image ID, the history rows where podman 4.3 is wrong by
// SEMANTICS §5 (see podmanHistoryMistakes), with our answer.
func podmanWrongHistory(t *testing.T) map[string]map[int]string {
	out := map[string]map[int]string{}
	for stem, rows := range podmanHistoryMistakes {
		out[readRecordedInspect(t, stem)["Id"].(string)] = rows
	}
	return out
}

// compareWithPodman checks that podman and we see the same store: the same images with the
// same names, digests, sizes, parents and container counts; the same inspect JSON, history
// and tree for each. It returns the number of images compared.
func compareWithPodman(t *testing.T, rt *Runtime, pm *podmantest.Podman) int {
	t.Helper()
	ctx := context.Background()
	var theirs []podmanImage
	pm.JSON(&theirs, "images", "-a", "--format", "json")
	byID := map[string]podmanImage{} // podman 4.3 repeats an image once per tag
	for _, p := range theirs {
		byID[p.ID] = p
	}
	ours, err := rt.ListImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != len(byID) {
		t.Errorf("we list %d images, podman %d", len(ours), len(byID))
	}
	wrong := podmanWrongHistory(t)
	for _, img := range ours {
		id := img.ID()
		p, ok := byID[id]
		if !ok {
			t.Errorf("image %s (%v): podman does not list it", id, img.Names())
			continue
		}
		parentID := ""
		parent, err := img.Parent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if parent != nil {
			parentID = parent.ID()
		}
		size, err := img.Size()
		if err != nil {
			t.Fatal(err)
		}
		containers, err := img.Containers()
		if err != nil {
			t.Fatal(err)
		}
		repoDigests, err := img.RepoDigests()
		if err != nil {
			t.Fatal(err)
		}
		got := podmanImage{ID: id, ParentID: parentID, RepoDigests: repoDigests, Size: size, Containers: len(containers),
			Names: img.Names(), Digest: img.Digest().String(), Created: img.Created().Unix()}
		if !reflect.DeepEqual(normalizeList(got), normalizeList(p)) {
			t.Errorf("image %s:\n ours   %+v\n podman %+v", id[:12], got, p)
		}
		compareInspect(t, img, pm)
		compareHistory(t, rt, img, pm, wrong[id])
		compareTree(t, rt, img, pm)
	}
	return len(ours)
}

// normalizeList makes nil and empty lists equal, and sorts the digests (podman and we may
// list them in another order).
func normalizeList(p podmanImage) podmanImage {
	if len(p.Names) == 0 {
		p.Names = nil
	}
	p.RepoDigests = slices.Sorted(slices.Values(p.RepoDigests))
	if len(p.RepoDigests) == 0 {
		p.RepoDigests = nil
	}
	return p
}

func compareInspect(t *testing.T, img *Image, pm *podmantest.Podman) {
	t.Helper()
	data, err := img.Inspect(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var theirs []map[string]any
	pm.JSON(&theirs, "image", "inspect", img.ID())
	ours := asJSONMap(t, data)
	if len(theirs) != 1 {
		t.Fatalf("podman inspect %s: %d entries", img.ID(), len(theirs))
	}
	for _, k := range keys(theirs[0]) {
		if !reflect.DeepEqual(ours[k], theirs[0][k]) {
			t.Errorf("inspect %s: %s is %v, podman %v", img.ID()[:12], k, ours[k], theirs[0][k])
		}
	}
	for _, k := range keys(ours) {
		if _, ok := theirs[0][k]; !ok {
			t.Errorf("inspect %s: we have %s, podman has not", img.ID()[:12], k)
		}
	}
}

func compareHistory(t *testing.T, rt *Runtime, img *Image, pm *podmantest.Podman, wrong map[int]string) {
	t.Helper()
	ours, err := img.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var theirs []podmanHistoryRow
	pm.JSON(&theirs, "image", "history", "--format", "json", img.ID())
	if len(ours) != len(theirs) {
		t.Errorf("history %s: %d rows, podman %d", img.ID()[:12], len(ours), len(theirs))
		return
	}
	for k, p := range theirs {
		want := p.ID
		if want == "<missing>" {
			want = ""
		}
		if fixed, ok := wrong[k]; ok {
			want = fixed
		}
		if ours[k].ID != want && isPointOf(t, rt, ours[k].ID, ours[k:]) && !isPointOf(t, rt, want, ours[k:]) {
			// podman 4.3 matches rows to images by layer alone: it gives a row the first image
			// it finds on the row's layer (another image sharing the top layer, or the image
			// of an earlier step followed by config-only steps) and <missing> to the row that
			// image is. SEMANTICS §5: the ID of the image that is exactly that point. Ours is
			// checked to be that image, podman's not.
			t.Logf("history %s row %d: podman says %q, ours %s is that point of the history", img.ID()[:12], k, p.ID, ours[k].ID[:12])
			want = ours[k].ID
		}
		o := ours[k]
		if o.ID != want || o.Size != p.Size || o.CreatedBy != p.CreatedBy || o.Comment != p.Comment ||
			o.Created == nil || !o.Created.Truncate(time.Second).Equal(p.Created) { // podman prints seconds
			t.Errorf("history %s row %d: ours %s %d %q %q %v, podman %s %d %q %q %v", img.ID()[:12], k,
				o.ID, o.Size, o.CreatedBy, o.Comment, o.Created, p.ID, p.Size, p.CreatedBy, p.Comment, p.Created)
		}
	}
}

// isPointOf says whether the image id exists and its history is exactly rows.
func isPointOf(t *testing.T, rt *Runtime, id string, rows []HistoryEntry) bool {
	t.Helper()
	if id == "" {
		return false
	}
	img, _, err := rt.LookupImage(id, nil)
	if err != nil {
		return false
	}
	history, err := img.History(context.Background())
	if err != nil || len(history) != len(rows) {
		return false
	}
	for k, h := range history {
		r := rows[k]
		if h.CreatedBy != r.CreatedBy || h.Comment != r.Comment || h.Size != r.Size || (h.Created == nil) != (r.Created == nil) ||
			(h.Created != nil && !h.Created.Equal(*r.Created)) {
			return false
		}
	}
	return true
}

func compareTree(t *testing.T, rt *Runtime, img *Image, pm *podmantest.Podman) {
	t.Helper()
	for _, whatRequires := range []bool{false, true} {
		tree, err := rt.Tree(context.Background(), img, &TreeOptions{WhatRequires: whatRequires})
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"image", "tree", img.ID()}
		if whatRequires {
			args = append(args, "--whatrequires")
		}
		// podman prints the tree and then an empty line.
		if got, want := tree.String()+"\n", pm.Must(args...); got != want {
			t.Errorf("podman %s:\n ours:\n%s\n podman:\n%s", strings.Join(args, " "), got, want)
		}
	}
}

// TestInteropPodmanSeesOurImages: images we load, tag, untag and import, podman lists,
// inspects, histories and trees as we do.
func TestInteropPodmanSeesOurImages(t *testing.T) {
	rt, _, pm := newInterop(t)
	ctx := context.Background()
	mustLoad(t, rt, referenceOrder...)
	if _, err := mustLookup(t, rt, "busybox").Tag("localhost/extra:1"); err != nil {
		t.Fatal(err)
	}
	if err := mustLookup(t, rt, "chain-mid").Untag("localhost/chain-mid:latest"); err != nil { // now intermediate
		t.Fatal(err)
	}
	if err := mustLookup(t, rt, "tiny-whiteout").Untag("localhost/tiny-whiteout:latest"); err != nil { // now dangling
		t.Fatal(err)
	}
	mustImport(t, rt, busyboxRootfs(t), &ImportOptions{Name: "localhost/imported:1", Message: "interop"})
	if n := compareWithPodman(t, rt, pm); n != 9 {
		t.Errorf("compared %d images, want 9", n)
	}
	// podman agrees on what is dangling and what is intermediate.
	dangling := strings.Fields(pm.Must("images", "-a", "-q", "--no-trunc", "--filter", "dangling=true"))
	ours, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"dangling=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != 1 || len(dangling) != 1 || "sha256:"+ours[0].ID() != dangling[0] {
		t.Errorf("dangling: ours %v, podman %v", imageIDsOf(ours), dangling)
	}
	shown := strings.Fields(pm.Must("images", "-q", "--no-trunc"))
	if slices.Contains(shown, "sha256:"+mustLookup(t, rt, recordedIDOf(t, "chain-mid")).ID()) {
		t.Error("podman shows the intermediate chain-mid without -a")
	}
	// What we remove and prune is gone for podman too: chain-top takes the intermediate
	// chain-mid with it, prune the dangling tiny-whiteout.
	if _, err := rt.RemoveImages(ctx, []string{"localhost/chain-top:v1", "localhost/chain-top:latest"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Prune(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := compareWithPodman(t, rt, pm); n != 6 {
		t.Errorf("after remove and prune: compared %d images, want 6", n)
	}
	for _, stem := range []string{"chain-top", "chain-mid", "tiny-whiteout"} {
		if _, err := pm.Run("image", "exists", recordedIDOf(t, stem)); err == nil {
			t.Errorf("podman still has %s after we removed it", stem)
		}
	}
}

func recordedIDOf(t *testing.T, stem string) string {
	return readRecordedInspect(t, stem)["Id"].(string)
}

func imageIDsOf(images []*Image) []string {
	var ids []string
	for _, img := range images {
		ids = append(ids, img.ID())
	}
	return ids
}

// TestInteropWeSeePodmansImages: what podman loads, builds (with intermediate and dangling
// images), tags, untags and removes, what buildah commits, and podman's containers, we see
// as podman does; a container
// podman creates makes its image in use for our remove and prune.
func TestInteropWeSeePodmansImages(t *testing.T) {
	rt, _, pm := newInterop(t)
	ctx := context.Background()
	for _, a := range referenceOrder {
		pm.Must("load", "--signature-policy", pm.Policy, "-i", testdataPath(a))
	}
	pm.Must("tag", "localhost/busybox:latest", "localhost/extra:1")
	pm.Must("untag", "localhost/layers20:latest")
	pm.Must("rmi", "localhost/tiny:latest")
	build := filepath.Join(t.TempDir(), "ctx")
	writeBuildContext(t, build, "one")
	pm.Must("build", "-q", "--signature-policy", pm.Policy, "-t", "localhost/built:1", build)
	writeBuildContext(t, build, "two") // the first built:1 is left dangling, its parents intermediate
	pm.Must("build", "-q", "--signature-policy", pm.Policy, "-t", "localhost/built:1", build)
	// buildah commits a chain: bchain:1 from busybox, bchain:2 from bchain:1.
	writeFile(t, filepath.Join(build, "c"), "c\n")
	var bchain []string
	for k, from := range []string{"localhost/busybox:latest", "localhost/bchain:1"} {
		work := strings.TrimSpace(pm.Buildah("from", "--pull=never", "--signature-policy", pm.Policy, from))
		pm.Buildah("copy", work, filepath.Join(build, "c"), fmt.Sprintf("/c%d", k+1))
		id := pm.Buildah("commit", "-q", "--signature-policy", pm.Policy, work, fmt.Sprintf("localhost/bchain:%d", k+1))
		bchain = append(bchain, strings.TrimSpace(id))
		pm.Buildah("rm", work)
	}
	if parent, err := mustLookup(t, rt, "localhost/bchain:2").Parent(ctx); err != nil || parent == nil || parent.ID() != bchain[0] {
		t.Errorf("parent of buildah's bchain:2: %v; want bchain:1 %s", err, bchain[0])
	}
	ctr := strings.TrimSpace(pm.Must("create", "--name", "user", "localhost/chain-top:v1", "true"))
	compareWithPodman(t, rt, pm)

	var dangling []string
	for _, id := range strings.Fields(pm.Must("images", "-a", "-q", "--no-trunc", "--filter", "dangling=true")) {
		dangling = append(dangling, strings.TrimPrefix(id, "sha256:"))
	}
	ours, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"dangling=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(imageIDsOf(ours))); !reflect.DeepEqual(got, slices.Sorted(slices.Values(dangling))) || len(got) != 2 {
		t.Errorf("dangling: ours %v, podman %v (want layers20 and the first built:1)", got, dangling)
	}
	// podman's container makes chain-top in use.
	top := mustLookup(t, rt, "localhost/chain-top:v1")
	if ids, err := top.Containers(); err != nil || !reflect.DeepEqual(ids, []string{ctr}) {
		t.Errorf("containers of chain-top: %v, %v; podman created %s", ids, err, ctr)
	}
	if _, err := rt.RemoveImages(ctx, []string{top.ID()}, nil); !errors.Is(err, ErrMultipleNames) {
		t.Errorf("remove chain-top by ID: %v, want ErrMultipleNames", err)
	}
	pm.Must("untag", "localhost/chain-top:latest", "localhost/chain-top:v1") // podman untag IMAGE alone drops every name
	if _, err := rt.RemoveImages(ctx, []string{"localhost/chain-top:latest"}, nil); !errors.Is(err, ErrImageInUse) {
		t.Errorf("remove chain-top used by podman's container: %v, want ErrImageInUse", err)
	}
	reports, err := rt.Prune(ctx, &PruneOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	// Everything goes but chain-top (in use) and its parents chain-mid, chain-base, busybox.
	left := strings.Fields(pm.Must("images", "-a", "-q", "--no-trunc"))
	want := []string{}
	for _, stem := range []string{"chain-top", "chain-mid", "chain-base", "busybox"} {
		want = append(want, "sha256:"+recordedIDOf(t, stem))
	}
	if !reflect.DeepEqual(slices.Sorted(slices.Values(left)), slices.Sorted(slices.Values(want))) {
		t.Errorf("after our prune -a (%d reports), podman lists %v, want %v", len(reports), left, want)
	}
	pm.Must("rm", ctr)
	if _, err := rt.RemoveImages(ctx, []string{"localhost/chain-top:latest"}, nil); err != nil {
		t.Errorf("remove chain-top after podman removed its container: %v", err)
	}
	if _, err := rt.Prune(ctx, &PruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if out := pm.Must("images", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("podman still lists %q after we removed chain-top and pruned the rest", out)
	}
	if report, err := rt.Store().Check(nil); err != nil || len(report.Layers)+len(report.Images)+len(report.ROLayers)+len(report.ROImages) > 0 {
		t.Errorf("store check: %+v, %v", report, err)
	}
}

// writeBuildContext writes a build context whose Containerfile only copies and labels (no
// RUN: containers cannot run here), with content changing the last layer.
func writeBuildContext(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a"), "a\n")
	writeFile(t, filepath.Join(dir, "b"), content+"\n")
	writeFile(t, filepath.Join(dir, "Containerfile"), "FROM localhost/busybox:latest\nCOPY a /a\nLABEL stage=one\nCOPY b /b\n")
}

// TestInteropSaveLoad: every format we save, podman loads with the same ID and names; every
// format podman saves, we load with the same ID and names.
func TestInteropSaveLoad(t *testing.T) {
	rt, _, pm := newInterop(t)
	ctx := context.Background()
	mustLoad(t, rt, "chain.multi.docker.tar")
	names := []string{"localhost/chain-top:latest", "localhost/chain-base:latest"}
	dir := t.TempDir()
	// podman 4.3 loads a single image from an OCI archive or dir (it refuses an index of
	// several, which we write and load), it names an image loaded from an OCI dir after the
	// dir's path (ignoring the ref.name annotation), and it needs that path to be lowercase.
	lower, err := os.MkdirTemp("", "interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(lower) })
	for _, format := range []string{"docker-archive", "oci-archive", "oci-dir", "docker-dir"} {
		t.Run("ours-"+format, func(t *testing.T) {
			path := filepath.Join(lower, "ours-"+format)
			which := names
			if format != "docker-archive" {
				which = names[:1]
			}
			if err := rt.Save(ctx, which, path, &SaveOptions{Format: SaveFormat(format)}); err != nil {
				t.Fatal(err)
			}
			_, _, pm2 := newInterop(t)
			pm2.Must("load", "--signature-policy", pm2.Policy, "-i", path)
			for _, name := range which {
				want := mustLookup(t, rt, name).ID()
				switch format {
				case "docker-dir": // the dir format holds no name: look for the ID
					name = want
				case "oci-dir":
					name = "localhost" + path + ":latest"
				}
				var got []map[string]any
				pm2.JSON(&got, "image", "inspect", name)
				if len(got) != 1 || got[0]["Id"] != want {
					t.Errorf("podman loaded %s as %v, want ID %s", name, inspectedID(got), want)
				}
			}
		})
	}
	for _, format := range []string{"docker-archive", "oci-archive", "oci-dir", "docker-dir"} {
		t.Run("podman-"+format, func(t *testing.T) {
			path := filepath.Join(dir, "podman-"+format)
			args := []string{"save", "--format", format, "-o", path}
			if format == "docker-archive" {
				args = append(args, "-m") // podman 4.3 saves several images only with -m
			}
			which := names
			if format != "docker-archive" {
				which = names[:1] // podman 4.3 refuses several images in the other formats
			}
			pm.Must(append(args, which...)...)
			other, _ := newTestRuntime(t)
			if _, err := other.Load(ctx, path, nil); err != nil {
				t.Fatal(err)
			}
			for _, name := range which {
				want := mustLookup(t, rt, name).ID()
				if format == "docker-dir" { // the dir format holds no name: look for the ID
					name = want
				}
				if got := mustLookup(t, other, name).ID(); got != want {
					t.Errorf("we loaded podman's %s as %s, want %s", name, got, want)
				}
			}
		})
	}
}

func inspectedID(data []map[string]any) string {
	if len(data) != 1 {
		return fmt.Sprintf("%d images", len(data))
	}
	id, _ := data[0]["Id"].(string)
	return id
}

// TestInteropPodmanSeesPulledImages: images we pull from a registry (by tag and by digest)
// and then untag, podman lists, inspects, histories and trees as we do, with the registry's
// digests.
func TestInteropPodmanSeesPulledImages(t *testing.T) {
	if !podmantest.Available() && os.Getenv("CI") != "true" {
		t.Skip("podman is not installed: the interop tests need it (apt-get install podman)")
	}
	reg := startRegistry(t, nil)
	busyboxDigest := seed(t, reg, busyboxArchive, "lib/busybox:1")
	seed(t, reg, tinyArchive, "lib/tiny:1")
	rt, _ := newPullRuntime(t, reg.Host)
	pm := podmantest.New(t, rt.Store().GraphRoot(), rt.Store().RunRoot())
	busybox := pullOne(t, rt, reg.Host+"/lib/busybox:1", PullMissing, nil)
	pullOne(t, rt, reg.Host+"/lib/busybox@"+busyboxDigest.String(), PullMissing, nil)
	tiny := pullOne(t, rt, reg.Host+"/lib/tiny:1", PullMissing, nil)
	if err := tiny.Untag(reg.Host + "/lib/tiny:1"); err != nil {
		t.Fatal(err)
	}
	if n := compareWithPodman(t, rt, pm); n != 2 {
		t.Errorf("compared %d images, want 2", n)
	}
	var theirs []map[string]any
	pm.JSON(&theirs, "image", "inspect", busybox.ID())
	if got := fmt.Sprint(theirs[0]["RepoDigests"]); !strings.Contains(got, reg.Host+"/lib/busybox@"+busyboxDigest.String()) {
		t.Errorf("podman's RepoDigests of the pulled busybox: %s, want the registry's digest %s", got, busyboxDigest)
	}
}
