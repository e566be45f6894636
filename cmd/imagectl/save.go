package main

import (
	"context"
	stderrors "errors"
	"io"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// saveOptions are the flags of `save`.
type saveOptions struct {
	output       string
	format       string
	compress     bool
	uncompressed bool
	multi        bool
	quiet        bool
	// lib is what run passes to the library, filled from the flags.
	lib image.SaveOptions
}

func newSaveCommand(g *globalOptions) *cobra.Command {
	o := &saveOptions{}
	cmd := &cobra.Command{
		Use:   "save [-o PATH] [--format FORMAT] NAME...",
		Short: "Save images to an archive or a directory",
		Long: "Save the images NAME... stand for, each with the names it was asked for by (an image\n" +
			"named by ID is saved without a name), to PATH: docker-archive (the default) and\n" +
			"oci-archive hold several images, oci-dir too, docker-dir one. The output is written\n" +
			"beside PATH and renamed into place; an existing file is replaced, a non-empty directory\n" +
			"is not, nor is a device or a link to one (-o /dev/stdout: leave -o out instead). Without\n" +
			"-o an archive goes to stdout, which must not be a terminal. Progress lines go to stderr\n" +
			"when it is a terminal (-q: never). Nothing else is printed.",
		Args: minArgs(1, "save needs at least one image name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, args, cmd)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write to PATH (default: stdout, for the archive formats)")
	f.StringVar(&o.format, "format", string(image.DockerArchive), "docker-archive, oci-archive, oci-dir or docker-dir")
	f.BoolVar(&o.compress, "compress", false, "compress the layers (docker-dir only)")
	f.BoolVar(&o.uncompressed, "uncompressed", false, "leave the layers uncompressed (oci-archive and oci-dir only)")
	f.BoolVarP(&o.multi, "multi-image-archive", "m", false, "accepted for compatibility with podman: several names always save several images")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress")
	return cmd
}

// run saves names to the output, or to stdout when there is none.
func (o *saveOptions) run(ctx context.Context, rt *image.Runtime, names []string, cmd *cobra.Command) error {
	o.lib = image.SaveOptions{Format: image.SaveFormat(o.format), Compress: o.compress, Uncompressed: o.uncompressed}
	if stderr := cmd.ErrOrStderr(); !o.quiet && isTerminal(stderr) {
		o.lib.ReportWriter = stderr
	}
	if o.output != "" {
		return rt.Save(ctx, names, o.output, &o.lib)
	}
	return o.toWriter(ctx, rt, names, cmd.OutOrStdout())
}

// toWriter saves an archive to a temp file under the store's temp dir, then copies it to w,
// as podman does for stdout.
func (o *saveOptions) toWriter(ctx context.Context, rt *image.Runtime, names []string, w io.Writer) (retErr error) {
	if o.lib.Format == image.OCIDir || o.lib.Format == image.DockerDir {
		return errors.Errorf("saving %q: format %s is a directory: give its path with -o", names, o.format)
	}
	if isTerminal(w) {
		return errors.Errorf("saving %q: refusing to write an archive to a terminal: use -o or redirect stdout", names)
	}
	parent := rt.SystemContext().BigFilesTemporaryDir
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return errors.Wrapf(err, "creating temp dir %q", parent)
	}
	dir, err := os.MkdirTemp(parent, "save-stdout-")
	if err != nil {
		return errors.Wrap(err, "creating temp dir")
	}
	defer func() { retErr = stderrors.Join(retErr, os.RemoveAll(dir)) }()
	path := filepath.Join(dir, "archive")
	if err := rt.Save(ctx, names, path, &o.lib); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return errors.Wrap(err, "writing the archive to stdout")
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
