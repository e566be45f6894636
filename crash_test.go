package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/errors"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// Crash consistency (issue 6): a child process runs a storm of one operation (load, pull,
// save, remove, tag) on a store and is killed with SIGKILL at evenly spaced points of one
// cycle of it. After each kill a fresh process opens the store and must find no damaged or
// incomplete layer or image (store.Check), every image with its layers, config and manifest,
// no temp file of ours left (the reaper runs when the Runtime is made), nothing partial at
// the save destination; and the same operation must then succeed.

// crashOps are the storms, in the order the test runs them.
var crashOps = []string{"load", "pull", "save", "remove", "tag"}

// crashEnv is what a storm child and a verifier need besides the store: args[3:] of the role.
type crashEnv struct {
	op, testdata, registry, dest string
}

func (e crashEnv) args() []string { return []string{e.op, e.testdata, e.registry, e.dest} }

func parseCrashArgs(args []string) (*Runtime, crashEnv, error) {
	if len(args) != 7 {
		return nil, crashEnv{}, errors.Errorf("crash child: %d arguments, want 7", len(args))
	}
	rt, err := childRuntime(args)
	return rt, crashEnv{op: args[3], testdata: args[4], registry: args[5], dest: args[6]}, err
}

func init() {
	// crash-storm prepares, says ready, then runs cycles of its operation until killed,
	// printing "cycle <nanoseconds>" after each.
	childRoles["crash-storm"] = func(args []string) error {
		rt, env, err := parseCrashArgs(args)
		if err != nil {
			return err
		}
		ctx := context.Background()
		if err := env.prepare(ctx, rt); err != nil {
			return err
		}
		ready()
		for k := 0; ; k++ {
			start := time.Now()
			if err := env.cycle(ctx, rt, k); err != nil {
				return err
			}
			fmt.Printf("cycle %d\n", time.Since(start).Nanoseconds())
		}
	}
	// crash-verify opens the store after a kill, checks it and runs one cycle.
	childRoles["crash-verify"] = func(args []string) error {
		rt, env, err := parseCrashArgs(args)
		if err != nil {
			return err
		}
		return env.verify(context.Background(), rt)
	}
}

// prepare puts in the store what every cycle of the operation needs.
func (e crashEnv) prepare(ctx context.Context, rt *Runtime) error {
	var archive string
	switch e.op {
	case "save":
		archive = "layers20.docker.tar"
	case "tag":
		archive = "busybox.docker.tar"
	default:
		return nil
	}
	if _, _, err := rt.LookupImage(archive[:strings.Index(archive, ".")], nil); err == nil {
		return nil
	}
	_, err := rt.Load(ctx, filepath.Join(e.testdata, archive), nil)
	return err
}

// cycle runs the operation once; each cycle leaves the store as it found it (but for save's
// destination and tag's names).
func (e crashEnv) cycle(ctx context.Context, rt *Runtime, k int) error {
	switch e.op {
	case "load":
		if _, err := rt.Load(ctx, filepath.Join(e.testdata, "layers20.docker.tar"), nil); err != nil {
			return err
		}
		_, err := rt.RemoveImages(ctx, []string{"localhost/layers20:latest"}, &RemoveOptions{Force: true})
		return err
	case "pull":
		name := e.registry + "/lib/layers20:1"
		opts := &PullOptions{RegistryOptions: RegistryOptions{InsecureSkipTLSVerify: types.OptionalBoolTrue}}
		if _, err := rt.Pull(ctx, name, PullAlways, opts); err != nil {
			return err
		}
		_, err := rt.RemoveImages(ctx, []string{name}, &RemoveOptions{Force: true})
		return err
	case "save":
		return rt.Save(ctx, []string{"localhost/layers20:latest"}, e.dest, nil)
	case "remove":
		if _, err := rt.Load(ctx, filepath.Join(e.testdata, "chain.multi.docker.tar"), nil); err != nil {
			return err
		}
		names := []string{"localhost/chain-top:v1", "localhost/chain-top:latest", "localhost/chain-mid:latest", "localhost/chain-base:latest", "localhost/busybox:latest"}
		_, err := rt.RemoveImages(ctx, names, &RemoveOptions{Force: true})
		return err
	case "tag":
		img, _, err := rt.LookupImage("localhost/busybox:latest", nil)
		if err != nil {
			return err
		}
		for j := 0; j < 10; j++ {
			name := fmt.Sprintf("localhost/storm:%d-%d", k, j)
			if _, err := img.Tag(name); err != nil {
				return err
			}
			if err := img.Untag(name); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.Errorf("unknown operation %q", e.op)
}

// verify checks the store after a kill, then runs the operation once more.
func (e crashEnv) verify(ctx context.Context, rt *Runtime) error {
	var problems []string
	base := filepath.Dir(rt.sys.BigFilesTemporaryDir)
	if entries, err := os.ReadDir(base); err == nil {
		for _, de := range entries {
			problems = append(problems, "temp left: "+de.Name())
		}
	}
	report, err := rt.Store().Check(storage.CheckMost())
	if err != nil {
		return errors.Wrap(err, "store check")
	}
	for id, errs := range report.Layers {
		problems = append(problems, fmt.Sprintf("layer %s: %v", id, errs))
	}
	for id, errs := range report.Images {
		problems = append(problems, fmt.Sprintf("image %s: %v", id, errs))
	}
	images, err := rt.ListImages(ctx, nil)
	if err != nil {
		return err
	}
	for _, img := range images {
		for layer := img.TopLayer(); layer != ""; {
			l, err := rt.Store().Layer(layer)
			if err != nil {
				problems = append(problems, fmt.Sprintf("image %s: layer %s: %v", img.ID(), layer, err))
				break
			}
			layer = l.Parent
		}
		if _, err := img.Inspect(ctx, nil); err != nil { // reads the config and the manifest
			problems = append(problems, fmt.Sprintf("image %s: %v", img.ID(), err))
		}
	}
	if e.op == "save" {
		if sum, err := fileSHA256(e.dest); err == nil && sum != recordedLayers20Sum(e.testdata) {
			problems = append(problems, fmt.Sprintf("partial save destination: sha256 %s", sum))
		}
	}
	if len(problems) > 0 {
		return errors.Errorf("after the kill: %s", strings.Join(problems, "; "))
	}
	if err := e.prepare(ctx, rt); err != nil {
		return errors.Wrap(err, "preparing again after the kill")
	}
	if err := e.cycle(ctx, rt, 1<<20); err != nil {
		return errors.Wrap(err, "the same operation after the kill")
	}
	if e.op == "save" {
		if sum, err := fileSHA256(e.dest); err != nil || sum != recordedLayers20Sum(e.testdata) {
			return errors.Errorf("save after the kill: sha256 %s, %v", sum, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(e.dest), ".*.tmp-*")); len(left) > 0 {
			return errors.Errorf("save temp outputs left after the next save: %v", left)
		}
	}
	if err := rt.Shutdown(false); err != nil {
		return err
	}
	if entries, _ := os.ReadDir(base); len(entries) > 0 {
		return errors.Errorf("temp left after the verifier's Shutdown: %v", entries)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// recordedLayers20Sum is the sha256 of podman's layers20.docker.tar, which our save of that
// image reproduces byte for byte.
func recordedLayers20Sum(testdata string) string {
	raw, _ := os.ReadFile(filepath.Join(testdata, "SHA256SUMS"))
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "layers20.docker.tar" {
			return f[0]
		}
	}
	return "unknown"
}

// crashPoints is how many kills per operation: 20 under `make stress` (IMAGE_STRESS=1), 3 in
// `make test`.
func crashPoints() int {
	if os.Getenv("IMAGE_STRESS") != "" {
		return 20
	}
	return 3
}

func TestCrashConsistency(t *testing.T) {
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, nil)
	seed(t, reg, "docker-archive:testdata/layers20.docker.tar", "lib/layers20:1")
	points := crashPoints()
	for _, op := range crashOps {
		t.Run(op, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			env := crashEnv{op: op, testdata: testdata, registry: reg.Host, dest: filepath.Join(t.TempDir(), "out.tar")}
			args := append(storeArgs(rt), env.args()...)
			period := measureCycle(t, args)
			verifyAfterKill(t, args, "the kill after measuring")
			for i := 0; i < points; i++ {
				delay := period * time.Duration(i) / time.Duration(points)
				cmd, _ := startChild(t, "crash-storm", args...)
				time.Sleep(delay)
				killChild(t, cmd)
				verifyAfterKill(t, args, fmt.Sprintf("kill %d of %d at %v into a %v cycle", i+1, points, delay, period))
			}
			t.Logf("%s: %d kills spaced %v apart over one %v cycle", op, points, period/time.Duration(points), period)
		})
	}
}

// verifyAfterKill runs the verifier in a fresh process.
func verifyAfterKill(t *testing.T, args []string, what string) {
	t.Helper()
	verify := childCommand("crash-verify", args...)
	var stderr bytes.Buffer
	verify.Stderr = &stderr
	if err := verify.Run(); err != nil {
		t.Errorf("%s: %v: %s", what, err, strings.TrimSpace(stderr.String()))
	}
}

// measureCycle runs a storm until it reports its second cycle and returns that cycle's
// duration (the first one warms caches up).
func measureCycle(t *testing.T, args []string) time.Duration {
	t.Helper()
	cmd, out := startChild(t, "crash-storm", args...)
	defer killChild(t, cmd)
	sc := bufio.NewScanner(out)
	var d time.Duration
	for k := 0; k < 2 && sc.Scan(); k++ {
		ns, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "cycle "), 10, 64)
		if err != nil {
			t.Fatalf("storm said %q", sc.Text())
		}
		d = time.Duration(ns)
	}
	if d == 0 {
		t.Fatal("the storm reported no cycle")
	}
	return d
}
