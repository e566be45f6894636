package image

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed-1e5c3c91/image/internal/testregistry"
	"go.podman.io/image/v5/types"
)

// Concurrent pulls and loads of one image (issue 6): 8 goroutines of this process (half
// pulling it from the registry, half loading it from an archive) and 2 other processes
// doing the same, on one store. All succeed, the store holds one image, and each process
// fetches each blob at most once: each goes through a proxy of its own, which counts.

func init() {
	// pull-and-load pulls args[3] and loads args[4] at the same time, once each.
	childRoles["pull-and-load"] = func(args []string) error {
		rt, err := childRuntime(args)
		if err != nil {
			return err
		}
		return pullAndLoad(context.Background(), rt, args[3], args[4], 2)
	}
}

// pullAndLoad runs n goroutines, the even ones pulling name, the odd ones loading archive,
// and returns their errors joined.
func pullAndLoad(ctx context.Context, rt *Runtime, name, archive string, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for k := 0; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if k%2 == 0 {
				opts := &PullOptions{RegistryOptions: RegistryOptions{InsecureSkipTLSVerify: types.OptionalBoolTrue}}
				_, errs[k] = rt.Pull(ctx, name, PullAlways, opts)
			} else {
				_, errs[k] = rt.Load(ctx, archive, nil)
			}
			if errs[k] != nil {
				errs[k] = fmt.Errorf("goroutine %d: %w", k, errs[k])
			}
		}()
	}
	wg.Wait()
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

func TestConcurrentPullsAndLoads(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, "docker-archive:testdata/layers20.docker.tar", "lib/layers20:1")
	archive, err := filepath.Abs(testdataPath("layers20.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := newTestRuntime(t)
	proxies := []*testregistry.Proxy{startProxy(t, reg), startProxy(t, reg), startProxy(t, reg)}
	var children []*exec.Cmd
	for _, p := range proxies[1:] {
		cmd := childCommand("pull-and-load", append(storeArgs(rt), p.Host+"/lib/layers20:1", archive)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, cmd)
	}
	if err := pullAndLoad(context.Background(), rt, proxies[0].Host+"/lib/layers20:1", archive, 8); err != nil {
		t.Errorf("this process: %v", err)
	}
	for k, cmd := range children {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", k+1, err)
		}
	}
	want := recordedIDOf(t, "layers20")
	images, err := rt.ListImages(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].ID() != want {
		t.Errorf("store holds %v, want the one image %s", imageIDsOf(images), want)
	}
	for k, p := range proxies {
		fetched := map[string]int{}
		for _, req := range p.Requests() {
			if req.Method == "GET" && strings.Contains(req.Path, "/blobs/") {
				fetched[req.Path]++
			}
		}
		total := 0
		for path, n := range fetched {
			total += n
			if n > 1 {
				t.Errorf("process %d fetched %s %d times", k, path, n)
			}
		}
		t.Logf("process %d: %d blob fetches of %d distinct blobs", k, total, len(fetched))
	}
	if report, err := rt.Store().Check(nil); err != nil || len(report.Layers)+len(report.Images) > 0 {
		t.Errorf("store check: %+v, %v", report, err)
	}
}
