//go:build imagectl_demo

package main

import (
	"archive/tar"
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
	"time"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
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
			"untag, inspect, show history and trees, save, import, remove and prune, then push to\n" +
			"a registry started on loopback and pull back into a second store, printing\n" +
			"each command and its output. The store flags given to\n" +
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
			"# so files the images give to other users are stored as the current user's (c/storage\n" +
			"# prints a \"Chown error detected. Ignoring ...\" line for each such file).\n")
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
	d.graph()
	d.archives()
	d.removal()
	d.registry()
}

// graph shows what the store knows of how images are built on each other.
func (d *demo) graph() {
	d.printf("\n# The image graph: chain-top is built on chain-mid, on chain-base, on busybox.\n")
	d.step("history", "localhost/chain-top:latest")
	d.step("tree", "localhost/chain-top:latest")
	d.step("tree", "--whatrequires", "localhost/chain-base:latest")
	d.step("df")
}

// archives saves two images into one OCI archive and imports a rootfs tarball the demo writes.
func (d *demo) archives() {
	d.printf("\n# Archives out and in: two images in one OCI archive (loaded back below), and a\n" +
		"# rootfs tarball imported as a one-layer image.\n")
	d.step("save", "--format", "oci-archive", "-o", filepath.Join(d.dir, "chain.oci.tar"),
		"localhost/chain-top:latest", "localhost/chain-mid:latest")
	rootfs := filepath.Join(d.dir, "rootfs.tar")
	if err := writeDemoRootfs(rootfs); err != nil {
		d.fail(err)
		return
	}
	d.step("import", "-c", `CMD ["/hello"]`, "-m", "imported by the demo", rootfs, "localhost/imported:1")
	d.step("history", "localhost/imported:1")
}

// removal removes names and images, by podman's rules, then prunes.
func (d *demo) removal() {
	d.printf("\n# Removing chain-mid's last name keeps the image (chain-top is built on it), as an\n" +
		"# intermediate image: images hides it, images -a shows it.\n")
	d.step("rm", "localhost/chain-mid:latest")
	d.step("images", "-a")
	d.printf("\n# One of two names goes alone; the last one takes the image, and the parent it left\n" +
		"# dangling goes with it. The OCI archive saved above brings both back.\n")
	d.step("rm", "localhost/chain-top:v1", "localhost/chain-top:latest")
	d.step("load", "-i", filepath.Join(d.dir, "chain.oci.tar"))
	d.printf("\n# An image without names and without children is dangling; prune removes it.\n")
	d.step("untag", "tiny-whiteout", "localhost/tiny-whiteout:latest")
	d.step("images", "--filter", "dangling=true")
	d.step("prune")
}

// registry starts a registry on loopback, pushes busybox to it twice (the second push sends
// no blob) and pulls it back into a second store.
func (d *demo) registry() {
	if d.err != nil {
		return
	}
	reg, err := testregistry.Start(nil)
	if err != nil {
		d.fail(errors.Wrap(err, "demo"))
		return
	}
	defer func() { d.fail(reg.Close()) }()
	name := reg.Host + "/demo/busybox:1"
	d.printf("\n# A registry (distribution, plain HTTP) on %s, in this process. busybox goes to it;\n"+
		"# pushed again, nothing is sent (the blob-info cache under the graph root knows the\n"+
		"# layers); then a second, empty store pulls it.\n", reg.Host)
	digestFile := filepath.Join(d.dir, "busybox.digest")
	d.step("push", "--tls-verify=false", "--digestfile", digestFile, "busybox", name)
	raw, err := os.ReadFile(digestFile)
	if err != nil && d.err == nil {
		d.fail(errors.Wrap(err, "demo: reading the digest file"))
	}
	d.printf("# pushed as %s, %d blobs uploaded\n", raw, reg.Stats().Uploads())
	reg.ResetStats()
	d.step("push", "--tls-verify=false", "busybox", name)
	d.printf("# %d blobs uploaded\n", reg.Stats().Uploads())
	second := []string{"--root", filepath.Join(d.dir, "second", "root"), "--runroot", filepath.Join(d.dir, "second", "run")}
	d.step(append(second, "pull", "-q", "--tls-verify=false", name)...)
	d.step(append(second, "images")...)
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

// writeDemoRootfs writes a small rootfs tarball for the demo's import: a directory and two
// files, one of them executable.
func writeDemoRootfs(path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return errors.Wrap(err, "demo: creating the rootfs tarball")
	}
	defer func() { err = stderrors.Join(err, f.Close()) }()
	tw := tar.NewWriter(f)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := []struct {
		name, body string
		mode       int64
	}{{"etc/", "", 0o755}, {"etc/motd", "imported by imagectl demo\n", 0o644}, {"hello", "#!/bin/sh\necho hello\n", 0o755}}
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), ModTime: mtime, Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return errors.Wrap(err, "demo: writing the rootfs tarball")
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			return errors.Wrap(err, "demo: writing the rootfs tarball")
		}
	}
	return errors.Wrap(tw.Close(), "demo: writing the rootfs tarball")
}
