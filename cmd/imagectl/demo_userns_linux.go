//go:build imagectl_demo

package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/pkg/errors"
)

// userNamespaceHelp says what a non-root user needs for the demo.
const userNamespaceHelp = "as a non-root user the demo applies image layers in a user namespace of its own " +
	"(storage applies layers in a chroot), and this system refused to create one: run the demo as root, " +
	"or allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and " +
	"kernel.unprivileged_userns_clone=1 or kernel.apparmor_restrict_unprivileged_userns=0 where those exist)"

// needsUserNamespace reports whether the demo must run in a user namespace: c/storage applies
// layers in a chroot, which an ordinary user may only do as root of a namespace of their own.
func needsUserNamespace() bool { return os.Geteuid() != 0 }

// runInUserNamespace runs this same command line again as root of a new user namespace that
// maps root to the caller's user, waits for it and returns its exit code as an exitCode
// error (the child has printed its own output and error). A termination signal of the
// parent is passed on, so the child cleans up. Failing to create the namespace is one error
// saying what is needed.
func runInUserNamespace(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return errors.Wrap(err, "demo: finding the imagectl executable")
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Root of the namespace is still this user to c/image, as in podman's own namespace: its
	// per-user files (the short-name alias cache, the sigstore lookaside dir) are the user's,
	// not root's, which the namespace cannot read.
	cmd.Env = append(os.Environ(), "_CONTAINERS_ROOTLESS_UID="+strconv.Itoa(os.Geteuid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		return errors.Errorf("demo: %s (%v)", userNamespaceHelp, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM) // the child may have exited already
		case <-done:
		}
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return exitCode(exit.ExitCode())
		}
		return errors.Wrap(err, "demo: waiting for its user namespace")
	}
	return nil
}
