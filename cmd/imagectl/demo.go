package main

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pkg/errors"
	"github.com/spf13/cobra"
	"go.podman.io/storage/pkg/unshare"
)

// demoArchives are the docker-archives of testdata/ the demo loads, in order.
var demoArchives = []string{
	"busybox.docker.tar",
	"chain.multi.docker.tar",
	"layers20.docker.tar",
	"tiny.docker.tar",
	"tiny-whiteout.docker.tar",
	"bud-app.docker.tar",
}

// demoOCIInputs are the OCI archive and layout the demo loads after the docker-archives.
var demoOCIInputs = []string{"tiny.oci.tar", "busybox.oci"}

// demoPolicy accepts every image: the demo loads local archives only.
const demoPolicy = `{"default":[{"type":"insecureAcceptAnything"}]}` + "\n"

// demoOptions are the flags of `demo`.
type demoOptions struct {
	testdata string
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo [--testdata DIR]",
		Short: "Show what imagectl does, on the real archives of testdata/ in a throwaway store",
		Long: "Create a vfs store in a new temp dir with its own permissive signature policy and an\n" +
			"empty registries.conf, load the archives of DIR into it, then list, look up, tag,\n" +
			"untag and inspect, printing each command and its output. The store flags given to\n" +
			"imagectl are ignored (the demo never touches a real store); the temp dir is removed\n" +
			"at the end, also after an error or Ctrl-C.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), g.logLevel)
		},
	}
	cmd.Flags().StringVar(&o.testdata, "testdata", "testdata", "directory holding the archives to load")
	return cmd
}

func (o *demoOptions) run(ctx context.Context, w io.Writer, logLevel string) (err error) {
	if err := checkTestdata(o.testdata); err != nil {
		return err
	}
	if needsUserNamespace() {
		return runInUserNamespace(ctx)
	}
	// A reader that goes away (`imagectl demo | head`) must not kill the demo before it has
	// removed its temp dir: with SIGPIPE caught, writes fail instead and the demo stops.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	d, err := newDemo(ctx, w, o.testdata, logLevel)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := d.cleanup(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	d.script()
	return d.err
}

// checkTestdata fails at once, naming the file, when an archive the demo needs is missing.
func checkTestdata(dir string) error {
	for _, a := range append(append([]string(nil), demoArchives...), demoOCIInputs...) {
		p := filepath.Join(dir, a)
		if _, err := os.Stat(p); err != nil {
			return errors.Errorf("demo: %q is missing (run from the repository root or pass --testdata DIR)", p)
		}
	}
	return nil
}

// demo is one run of the demo: a temp dir holding the store and configuration files, and the
// global flags that point imagectl at them.
type demo struct {
	ctx      context.Context
	out      io.Writer
	dir      string
	testdata string
	globals  []string
	// err is the first failure; once set, the remaining steps are skipped.
	err error
}

func newDemo(ctx context.Context, w io.Writer, testdata, logLevel string) (*demo, error) {
	dir, err := os.MkdirTemp("", "imagectl-demo-")
	if err != nil {
		return nil, errors.Wrap(err, "demo: creating a temp dir")
	}
	d := &demo{ctx: ctx, out: w, dir: dir, testdata: testdata}
	policy := filepath.Join(dir, "policy.json")
	regConf := filepath.Join(dir, "registries.conf")
	for path, content := range map[string]string{policy: demoPolicy, regConf: ""} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, stderrors.Join(errors.Wrapf(err, "demo: writing %q", path), d.cleanup())
		}
	}
	d.globals = []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "--signature-policy", policy, "--registries-conf", regConf,
		"--log-level", logLevel,
	}
	if unshare.IsRootless() {
		d.globals = append(d.globals, "--storage-opt", "vfs.ignore_chown_errors=true")
	}
	return d, nil
}

// script runs the demo's commands in order, as a user would type them.
func (d *demo) script() {
	d.printf("# A throwaway vfs store in %s (removed at the end).\n", d.dir)
	if unshare.IsRootless() {
		d.printf("# Without full root privileges (a user namespace): the store uses vfs.ignore_chown_errors,\n" +
			"# so files the images give to other users are stored as the current user's.\n")
	}
	d.printf("# Every command below runs in this process with the global flags\n#   %s\n",
		shellJoin(d.globals))
	for _, a := range demoArchives {
		d.step("load", "-i", filepath.Join(d.testdata, a))
	}
	d.printf("\n# The OCI archive and layout hold tiny and busybox again, with OCI manifests: loading\n" +
		"# them adds a second digest to those images (and their size counts the extra manifest).\n")
	for _, a := range demoOCIInputs {
		d.step("load", "-i", filepath.Join(d.testdata, a))
	}
	d.step("images")
	d.step("images", "--format", `{{.ID}} {{.Repository}}:{{.Tag}}`)
	d.lookups()
	d.step("tag", "busybox", "demo/busybox:v2", "localhost/mybox:1")
	d.step("inspect", "--format", "{{.RepoTags}}", "busybox")
	d.step("untag", "busybox", "demo/busybox:v2")
	d.step("inspect", "--format", "{{.RepoTags}}", "busybox")
	d.printf("\n# A name is unique in the store: tagging tiny with busybox's name moves it, and\n" +
		"# loading busybox again moves it back.\n")
	d.step("tag", "tiny", "localhost/busybox:latest")
	d.step("load", "-i", filepath.Join(d.testdata, "busybox.docker.tar"))
	d.failingStep("inspect", "no-such-image")
	d.step("inspect", "busybox")
}

// lookups finds busybox by short name, then by an ID prefix and by digest taken from the
// first answer.
func (d *demo) lookups() {
	out := d.step("inspect", "--format", "{{.ID}} {{.Digest}}", "busybox")
	fields := strings.Fields(out)
	if d.err != nil || len(fields) != 2 || len(fields[0]) < 12 {
		d.fail(errors.Errorf("demo: unexpected output %q of inspect", out))
		return
	}
	d.step("inspect", "--format", "{{.ID}} {{.RepoTags}}", fields[0][:8])
	d.step("inspect", "--format", "{{.ID}} {{.RepoDigests}}", "localhost/busybox@"+fields[1])
}

// step prints the command line, runs it in-process with the demo's global flags and prints
// its output. It returns the output, or "" when the command failed (the demo then stops).
func (d *demo) step(args ...string) string {
	out, err := d.exec(args)
	switch {
	case err != nil && d.ctx.Err() != nil:
		d.fail(errors.New("demo: interrupted"))
	case err != nil:
		d.fail(errors.Wrapf(err, "demo stopped at `imagectl %s`", shellJoin(args)))
	}
	return out
}

// failingStep runs a command that must fail and shows the error it prints.
func (d *demo) failingStep(args ...string) {
	if _, err := d.exec(args); err == nil && d.err == nil {
		d.fail(errors.Errorf("demo: %q succeeded but should have failed", shellJoin(args)))
	}
}

// exec runs one command unless the demo has already failed; it prints the command line,
// then the command's output and its error as imagectl would.
func (d *demo) exec(args []string) (string, error) {
	if d.err != nil {
		return "", nil
	}
	if err := d.ctx.Err(); err != nil {
		d.fail(errors.New("demo: interrupted"))
		return "", nil
	}
	d.printf("\n$ imagectl %s\n", shellJoin(args))
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(&stdout, &stderr)
	cmd.SetArgs(append(append([]string(nil), d.globals...), args...))
	err := cmd.ExecuteContext(d.ctx)
	d.printf("%s%s", stdout.String(), stderr.String())
	if err != nil {
		d.printf("Error: %v\n", err)
	}
	return stdout.String(), err
}

func (d *demo) fail(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}

func (d *demo) printf(format string, args ...any) {
	if d.err == nil {
		if _, err := fmt.Fprintf(d.out, format, args...); err != nil {
			d.err = err
		}
	}
}
