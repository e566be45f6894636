package main

import (
	"context"
	"fmt"
	"io"

	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// loadOptions are the flags of `load`.
type loadOptions struct {
	input string
}

func newLoadCommand(g *globalOptions) *cobra.Command {
	o := &loadOptions{}
	cmd := &cobra.Command{
		Use:   "load -i PATH",
		Short: "Load the images of an archive or layout into the store",
		Long: "Load every image of a docker-archive, oci-archive, OCI layout directory or dir with\n" +
			"every name it carries. Prints \"Loaded image: <name>\" per name as podman does\n" +
			"(\"Loaded image: sha256:<id>\" for an unnamed image), and \"Moved name: <name> (from\n" +
			"image <id>)\" for each name another image held before.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "path of the archive or layout to load")
	_ = cmd.MarkFlagRequired("input") // fails only for an unknown flag name
	return cmd
}

// run loads the input and prints what was loaded; when the load fails halfway, the images
// loaded before the failure are printed before the error is returned.
func (o *loadOptions) run(ctx context.Context, rt *image.Runtime, w io.Writer) error {
	res, err := rt.Load(ctx, o.input, nil)
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
