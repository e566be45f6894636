package image

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// Tests that need other processes re-execute the test binary in a child role: TestMain runs
// the role named by $IMAGE_TEST_CHILD with the arguments in $IMAGE_TEST_CHILD_ARGS instead of
// the tests.

// childRoles maps a role name to what the child does; a non-nil error exits with status 1.
var childRoles = map[string]func(args []string) error{}

// runChildRole runs this process's child role, if it has one, and exits.
func runChildRole() {
	role, ok := os.LookupEnv("IMAGE_TEST_CHILD")
	if !ok {
		return
	}
	f := childRoles[role]
	if f == nil {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		os.Exit(2)
	}
	if err := f(strings.Split(os.Getenv("IMAGE_TEST_CHILD_ARGS"), "\x1f")); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childCommand returns the command that runs the test binary in role with args.
func childCommand(role string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IMAGE_TEST_CHILD="+role, "IMAGE_TEST_CHILD_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	return cmd
}

// storeArgs are the arguments that let a child open rt's store with rt's policy.
func storeArgs(rt *Runtime) []string {
	return []string{rt.Store().GraphRoot(), rt.Store().RunRoot(), rt.sys.SignaturePolicyPath}
}

// childRuntime opens the store that storeArgs describe (args[0:3]) in a child.
func childRuntime(args []string) (*Runtime, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("child runtime needs graph root, run root and policy, got %q", args)
	}
	store, err := storage.GetStore(storage.StoreOptions{GraphRoot: args[0], RunRoot: args[1], GraphDriverName: "vfs"})
	if err != nil {
		return nil, err
	}
	return NewRuntime(store, &RuntimeOptions{SystemContext: &types.SystemContext{
		SignaturePolicyPath:      args[2],
		SystemRegistriesConfPath: filepath.Join(filepath.Dir(args[2]), "registries.conf"),
	}})
}

// startChild starts role and waits until it prints "ready" on its standard output. The
// child is killed at the end of the test if it is still running.
func startChild(t *testing.T, role string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := childCommand(role, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("child %s: %q, %v", role, line, err)
	}
	return cmd, r
}

// killChild kills the child with SIGKILL and waits for it.
func killChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// ready tells the parent (startChild) that the child is set up.
func ready() { fmt.Println("ready") }

// waitForKill blocks until the parent kills the child.
func waitForKill() { time.Sleep(time.Hour) }
