package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// loadOptions are the flags of `load`.
type loadOptions struct {
	input string
	quiet bool
	lib   image.LoadOptions
}

func newLoadCommand(g *globalOptions) *cobra.Command {
	o := &loadOptions{}
	cmd := &cobra.Command{
		Use:   "load [-i PATH|-]",
		Short: "Load the images of an archive or layout into the store",
		Long: "Load every image of a docker-archive, oci-archive, OCI layout directory or dir with\n" +
			"every name it carries; archives may be compressed. With \"-i -\", or without -i as\n" +
			"podman does, the archive is read from stdin (spooled to a temp file under the store,\n" +
			"removed afterwards); without -i, stdin must not be a terminal. Prints\n" +
			"\"Loaded image: <name>\" per name as podman does (\"Loaded image: sha256:<id>\" for an\n" +
			"unnamed image), and \"Moved name: <name> (from image <id>)\" for each name another\n" +
			"image held before.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				if stderr := cmd.ErrOrStderr(); !o.quiet && isTerminal(stderr) {
					o.lib.ReportWriter = stderr
				}
				stdin := cmd.InOrStdin()
				if o.input == "" {
					if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
						return errors.New("load reads the archive from stdin without -i, and stdin is a terminal: give -i PATH or redirect the archive to stdin")
					}
					o.input = "-"
				}
				return o.run(cmd.Context(), rt, stdin, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "path of the archive or layout to load, or - for stdin")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print no progress lines (they go to stderr when it is a terminal)")
	return cmd
}

// run loads the input (stdin for "-") and prints what was loaded; when the load fails
// halfway, the images loaded before the failure are printed before the error is returned.
func (o *loadOptions) run(ctx context.Context, rt *image.Runtime, stdin io.Reader, w io.Writer) error {
	var res *image.LoadResult
	var err error
	if o.input == "-" {
		res, err = rt.LoadReader(ctx, stdin, &o.lib)
	} else {
		res, err = rt.Load(ctx, o.input, &o.lib)
	}
	if res != nil {
		if werr := writeLoaded(w, res); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func writeLoaded(w io.Writer, res *image.LoadResult) error {
	for _, img := range res.Images {
		if len(img.Names) == 0 {
			if _, err := fmt.Fprintf(w, "Loaded image: sha256:%s\n", img.ID); err != nil {
				return err
			}
			continue
		}
		for _, name := range img.Names {
			if _, err := fmt.Fprintf(w, "Loaded image: %s\n", name); err != nil {
				return err
			}
			if err := writeMoved(w, img.Moved, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMoved prints the line for name if it moved from another image.
func writeMoved(w io.Writer, moved []image.MovedName, name string) error {
	for _, m := range moved {
		if m.Name == name {
			_, err := fmt.Fprintf(w, "Moved name: %s (from image %.12s)\n", m.Name, m.From)
			return err
		}
	}
	return nil
}
