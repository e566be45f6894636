package image

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/podmantest"
)

// TestInteropConcurrentWriters: podman 4.3 (c/storage 1.43) and we (c/storage 1.65) write one
// store at the same time. First a smoke test: podman loads archives while we load others.
// Then podman tags and untags names in a loop while we do the same with other names of the
// same images: none of our names is lost (a name we just added not found) or resurrected (a
// name we removed found again), podman's own losses are reported, both list the same final
// state, and store.Check finds nothing.
func TestInteropConcurrentWriters(t *testing.T) {
	rt, _, pm := newInterop(t)

	var wg sync.WaitGroup
	var podmanErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, a := range []string{"chain.multi.docker.tar", "layers20.docker.tar", "bud-app.docker.tar"} {
			if _, err := pm.Run("load", "-q", "--signature-policy", pm.Policy, "-i", testdataPath(a)); err != nil {
				podmanErr = err
				return
			}
		}
	}()
	mustLoad(t, rt, "busybox.docker.tar", "tiny.docker.tar", "tiny-whiteout.docker.tar")
	wg.Wait()
	if podmanErr != nil {
		t.Fatalf("podman loading while we load: %v", podmanErr)
	}
	if n := compareWithPodman(t, rt, pm); n != 8 {
		t.Errorf("after the concurrent loads: %d images, want 8", n)
	}

	// podman 4.3's tag and untag write the image's whole name list from the record it read
	// before (SetNames in c/common 0.50's libimage), so on the same image they can drop a
	// name another process added meanwhile, or bring back one it removed, whatever that
	// process does. So: on other images, none of our names may be lost or resurrected; on
	// the same images, what podman does to our names is reported.
	busybox, chainTop := mustLookup(t, rt, "localhost/busybox:latest"), mustLookup(t, rt, "localhost/chain-top:latest")
	tiny, layers20 := mustLookup(t, rt, "localhost/tiny:latest"), mustLookup(t, rt, "localhost/layers20:latest")
	ours := []*Image{busybox, chainTop}
	const rounds = 30
	r := tagRace(t, rt, pm, "a", ours, []*Image{tiny, layers20}, rounds)
	if len(r.lost)+len(r.resurrected)+len(r.failed) > 0 {
		t.Errorf("podman on other images: lost %v, resurrected %v, failed %v", r.lost, r.resurrected, r.failed)
	}
	r = tagRace(t, rt, pm, "b", ours, ours, rounds)
	if len(r.failed) > 0 {
		t.Errorf("podman on the same images: our failed operations %v", r.failed)
	}
	t.Logf("podman on the same images: it lost %d and resurrected %d of our names (podman's read-modify-write): %v %v",
		len(r.lost), len(r.resurrected), r.lost, r.resurrected)

	// Both tools list the same final state.
	podmanNames := map[string]string{}
	var theirs []podmanImage
	pm.JSON(&theirs, "images", "-a", "--format", "json")
	for _, p := range theirs {
		for _, n := range p.Names {
			podmanNames[n] = p.ID
		}
	}
	ourNames := namesInStore(t, rt)
	if !reflect.DeepEqual(ourNames, podmanNames) {
		t.Errorf("final names differ:\n ours   %v\n podman %v", sortedKeys(ourNames), sortedKeys(podmanNames))
	}
	if report, err := rt.Store().Check(nil); err != nil || len(report.Layers)+len(report.Images)+len(report.ROLayers)+len(report.ROImages) > 0 {
		t.Errorf("store check: %+v, %v", report, err)
	}
}

// raceResult is what a tagRace did to our names.
type raceResult struct{ lost, resurrected, failed []string }

// tagRace has podman add localhost/pm-PHASE:K to its targets in turn and remove the even
// ones again, while we do the same with localhost/ours-PHASE:K on ours. It checks our names
// right after each change and at the end, and logs what podman saw of its own.
func tagRace(t *testing.T, rt *Runtime, pm *podmantest.Podman, phase string, ours, theirs []*Image, rounds int) raceResult {
	t.Helper()
	var wg sync.WaitGroup
	var podmanFailed, podmanLost int
	wg.Add(1)
	go func() {
		defer wg.Done()
		podmanFailed, podmanLost = podmanTagLoop(pm, theirs, "localhost/pm-"+phase, rounds)
	}()
	var r raceResult
	for k := 0; k < rounds; k++ {
		img, name := ours[k%len(ours)], fmt.Sprintf("localhost/ours-%s:%d", phase, k)
		if _, err := img.Tag(name); err != nil {
			r.failed = append(r.failed, fmt.Sprintf("tag %s: %v", name, err))
			continue
		}
		if got, _, err := rt.LookupImage(name, nil); err != nil || got.ID() != img.ID() {
			r.lost = append(r.lost, name)
		}
		if k%2 == 0 { // even names are removed again, odd ones kept
			if err := img.Untag(name); err != nil && !errors.Is(err, ErrTagUnknown) {
				r.failed = append(r.failed, fmt.Sprintf("untag %s: %v", name, err))
			}
			if _, _, err := rt.LookupImage(name, nil); err == nil {
				r.resurrected = append(r.resurrected, name)
			}
		}
	}
	wg.Wait()
	t.Logf("phase %s: podman did %d rounds of tag and untag: %d failed, %d of its names lost", phase, rounds, podmanFailed, podmanLost)
	names := namesInStore(t, rt)
	for k := 0; k < rounds; k++ {
		name, want := fmt.Sprintf("localhost/ours-%s:%d", phase, k), ours[k%len(ours)].ID()
		if k%2 == 0 {
			want = ""
		}
		switch got := names[name]; {
		case got == want:
		case want == "":
			r.resurrected = append(r.resurrected, name+" (at the end)")
		default:
			r.lost = append(r.lost, name+" (at the end)")
		}
	}
	return r
}

// namesInStore maps every name in the store to its image's ID.
func namesInStore(t *testing.T, rt *Runtime) map[string]string {
	t.Helper()
	images, err := rt.ListImages(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, img := range images {
		for _, n := range img.Names() {
			names[n] = img.ID()
		}
	}
	return names
}

// podmanTagLoop has podman add REPO:K to the targets in turn and remove the even ones again,
// and returns how many podman commands failed and how many of its names were not there right
// after podman added them.
func podmanTagLoop(pm *podmantest.Podman, targets []*Image, repo string, rounds int) (failed, lost int) {
	for k := 0; k < rounds; k++ {
		id, name := targets[k%len(targets)].ID(), fmt.Sprintf("%s:%d", repo, k)
		if _, err := pm.Run("tag", id, name); err != nil {
			failed++
			continue
		}
		if _, err := pm.Run("image", "exists", name); err != nil {
			lost++
		}
		if k%2 == 0 {
			if _, err := pm.Run("untag", id, name); err != nil {
				failed++
			}
		}
	}
	return failed, lost
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}
