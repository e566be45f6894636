package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/errors"
)

// Concurrency across processes (issue 6): worker processes share one store, each running
// cycles of: load its own archive (the image comes in as localhost/wN:base), tag its own
// name localhost/wN:K, tag the shared name localhost/shared:latest, untag its own name, and
// remove its base name (the image goes unless it holds the shared name). A lister lists and
// inspects all the while. Counted: lost names (a worker's own name not known to it right
// after it added it), resurrected names (one of its names present after it removed it, then
// or at the end), failed operations, and store.Check findings. All must be zero.

// stressResult is what one worker or the lister reports.
type stressResult struct {
	Lost, Resurrected, Failed []string
	Cycles, Listings          int
}

func (r *stressResult) add(o stressResult) {
	r.Lost = append(r.Lost, o.Lost...)
	r.Resurrected = append(r.Resurrected, o.Resurrected...)
	r.Failed = append(r.Failed, o.Failed...)
	r.Cycles += o.Cycles
	r.Listings += o.Listings
}

// stressSize is the number of workers, cycles and runs: 4 × 50 × 3 under `make stress`
// (IMAGE_STRESS=1), 4 × 5 × 1 in `make test`.
func stressSize() (workers, cycles, runs int) {
	if os.Getenv("IMAGE_STRESS") != "" {
		return 4, 50, 3
	}
	return 4, 5, 1
}

func init() {
	childRoles["stress-worker"] = func(args []string) error {
		rt, err := childRuntime(args)
		if err != nil {
			return err
		}
		w, _ := strconv.Atoi(args[3])
		cycles, _ := strconv.Atoi(args[4])
		res := stressWorker(context.Background(), rt, w, cycles, args[5])
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	childRoles["stress-lister"] = func(args []string) error {
		rt, err := childRuntime(args)
		if err != nil {
			return err
		}
		res := stressLister(context.Background(), rt, func() bool {
			_, err := os.Stat(args[3])
			return err == nil
		})
		return json.NewEncoder(os.Stdout).Encode(res)
	}
}

// stressWorker runs worker w's cycles; archive holds its image named localhost/wW:base.
func stressWorker(ctx context.Context, rt *Runtime, w, cycles int, archive string) stressResult {
	var res stressResult
	base := fmt.Sprintf("localhost/w%d:base", w)
	fail := func(what string, err error) { res.Failed = append(res.Failed, fmt.Sprintf("w%d %s: %v", w, what, err)) }
	known := func(name string) bool { _, _, err := rt.LookupImage(name, nil); return err == nil }
	for k := 0; k < cycles; k++ {
		res.Cycles++
		loaded, err := rt.Load(ctx, archive, nil)
		if err != nil {
			fail("load", err)
			continue
		}
		if !known(base) {
			res.Lost = append(res.Lost, base+" after load "+strconv.Itoa(k))
			continue
		}
		img, _, err := rt.LookupImage(loaded.Images[0].ID, nil)
		if err != nil {
			fail("lookup", err)
			continue
		}
		own := fmt.Sprintf("localhost/w%d:%d", w, k)
		if _, err := img.Tag(own); err != nil {
			fail("tag "+own, err)
		} else if !known(own) {
			res.Lost = append(res.Lost, own)
		}
		if _, err := img.Tag("localhost/shared:latest"); err != nil {
			fail("tag shared", err)
		}
		if err := img.Untag(own); err != nil {
			fail("untag "+own, err)
		} else if known(own) {
			res.Resurrected = append(res.Resurrected, own)
		}
		if _, err := rt.RemoveImages(ctx, []string{base}, nil); err != nil {
			fail("remove "+base, err)
		} else if known(base) {
			res.Resurrected = append(res.Resurrected, base+" after remove "+strconv.Itoa(k))
		}
	}
	return res
}

// stressLister lists and inspects every image until stop says so.
func stressLister(ctx context.Context, rt *Runtime, stop func() bool) stressResult {
	var res stressResult
	for !stop() {
		res.Listings++
		images, err := rt.ListImages(ctx, nil)
		if err != nil {
			res.Failed = append(res.Failed, fmt.Sprintf("list: %v", err))
			continue
		}
		for _, img := range images {
			// An image a worker removes meanwhile is fine; anything else is a failure.
			if _, err := img.Inspect(ctx, nil); err != nil && !errors.Is(err, ErrImageUnknown) {
				res.Failed = append(res.Failed, fmt.Sprintf("inspect %s: %v", img.ID(), err))
			}
		}
	}
	return res
}

// stressArchives makes one archive per worker, each an image of its own (an import of a
// rootfs with the worker's number in it) named localhost/wN:base, and returns their paths.
func stressArchives(t *testing.T, workers int) []string {
	t.Helper()
	rt, _ := newTestRuntime(t)
	dir := t.TempDir()
	var paths []string
	for w := 0; w < workers; w++ {
		rootfs := filepath.Join(dir, fmt.Sprintf("rootfs%d.tar", w))
		writeTarFiles(t, rootfs, map[string]string{"worker": strconv.Itoa(w)})
		name := fmt.Sprintf("localhost/w%d:base", w)
		mustImport(t, rt, rootfs, &ImportOptions{Name: name})
		path := filepath.Join(dir, fmt.Sprintf("w%d.tar", w))
		if err := rt.Save(context.Background(), []string{name}, path, nil); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// checkStressEnd adds what is wrong with the store at the end of a run to res: own names
// still present, the shared name not on exactly one image, store.Check findings.
func checkStressEnd(t *testing.T, rt *Runtime, workers int, res *stressResult) {
	t.Helper()
	names := namesInStore(t, rt)
	for w := 0; w < workers; w++ {
		prefix := fmt.Sprintf("localhost/w%d:", w)
		for name := range names {
			if strings.HasPrefix(name, prefix) {
				res.Resurrected = append(res.Resurrected, name+" (at the end)")
			}
		}
	}
	if _, ok := names["localhost/shared:latest"]; !ok {
		res.Lost = append(res.Lost, "localhost/shared:latest (at the end)")
	}
	report, err := rt.Store().Check(nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, errs := range report.Layers {
		res.Failed = append(res.Failed, fmt.Sprintf("check: layer %s: %v", id, errs))
	}
	for id, errs := range report.Images {
		res.Failed = append(res.Failed, fmt.Sprintf("check: image %s: %v", id, errs))
	}
}

func reportStress(t *testing.T, kind string, run int, res stressResult) {
	t.Helper()
	t.Logf("%s run %d: %d cycles, %d listings: %d lost, %d resurrected, %d failed", kind, run+1,
		res.Cycles, res.Listings, len(res.Lost), len(res.Resurrected), len(res.Failed))
	if len(res.Lost)+len(res.Resurrected)+len(res.Failed) > 0 {
		t.Errorf("lost %q\nresurrected %q\nfailed %q", res.Lost, res.Resurrected, res.Failed)
	}
}

// TestStressProcesses: worker processes and a lister process on one store.
func TestStressProcesses(t *testing.T) {
	workers, cycles, runs := stressSize()
	archives := stressArchives(t, workers)
	for run := 0; run < runs; run++ {
		rt, _ := newTestRuntime(t)
		stop := filepath.Join(t.TempDir(), "stop")
		lister := childCommand("stress-lister", append(storeArgs(rt), stop)...)
		listerOut := &syncBuffer{}
		lister.Stdout = listerOut
		if err := lister.Start(); err != nil {
			t.Fatal(err)
		}
		cmds := make([]*exec.Cmd, workers)
		outs := make([]*syncBuffer, workers)
		for w := range cmds {
			cmds[w] = childCommand("stress-worker", append(storeArgs(rt), strconv.Itoa(w), strconv.Itoa(cycles), archives[w])...)
			outs[w] = &syncBuffer{}
			cmds[w].Stdout = outs[w]
			if err := cmds[w].Start(); err != nil {
				t.Fatal(err)
			}
		}
		var total stressResult
		for w, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				total.Failed = append(total.Failed, fmt.Sprintf("worker %d: %v", w, err))
			}
			total.add(decodeStress(t, outs[w].String()))
		}
		writeFile(t, stop, "")
		if err := lister.Wait(); err != nil {
			total.Failed = append(total.Failed, fmt.Sprintf("lister: %v", err))
		}
		total.add(decodeStress(t, listerOut.String()))
		checkStressEnd(t, rt, workers, &total)
		reportStress(t, "processes", run, total)
	}
}

// TestStressGoroutines: the same workload from goroutines of one process, each with its own
// Runtime on the store (`make stress` runs it under -race).
func TestStressGoroutines(t *testing.T) {
	workers, cycles, runs := stressSize()
	archives := stressArchives(t, workers)
	for run := 0; run < runs; run++ {
		rt, _ := newTestRuntime(t)
		ctx := context.Background()
		var wg sync.WaitGroup
		results := make([]stressResult, workers+1)
		var stopped sync.WaitGroup
		done := make(chan struct{})
		stopped.Add(1)
		go func() {
			defer stopped.Done()
			results[workers] = stressLister(ctx, rt, func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			})
		}()
		for w := 0; w < workers; w++ {
			sys := rt.SystemContext()
			sys.BigFilesTemporaryDir = filepath.Dir(sys.BigFilesTemporaryDir)
			wrt, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: sys})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w] = stressWorker(ctx, wrt, w, cycles, archives[w])
			}()
		}
		wg.Wait()
		close(done)
		stopped.Wait()
		var total stressResult
		for _, r := range results {
			total.add(r)
		}
		checkStressEnd(t, rt, workers, &total)
		reportStress(t, "goroutines", run, total)
	}
}

func decodeStress(t *testing.T, raw string) stressResult {
	t.Helper()
	var r stressResult
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return stressResult{Failed: []string{fmt.Sprintf("child output %q: %v", raw, err)}}
	}
	return r
}

// writeTarFiles writes a tar of regular files (name → content) to path.
func writeTarFiles(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.String())
}
