package main

import (
	"context"
	"fmt"
	"io"

	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// pruneOptions are the flags of `prune`.
type pruneOptions struct {
	all     bool
	filters []string
	force   bool
}

func newPruneCommand(g *globalOptions) *cobra.Command {
	o := &pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove dangling images, or every unused image",
		Long: "Remove the dangling images (no names, nothing built on them), and the parents that\n" +
			"leaves dangling, until none is left; with --all, every image no container uses.\n" +
			"--filter takes the keys of images --filter (until=, label=, label!=, ...). Prints the\n" +
			"ID of each image removed. It never asks for confirmation: --force is accepted for\n" +
			"podman's scripts and changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, cmd.OutOrStdout())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "remove every image no container uses, not only the dangling ones")
	f.StringArrayVar(&o.filters, "filter", nil, "remove only the images that pass this filter, key=value or key!=value (repeatable)")
	f.BoolVarP(&o.force, "force", "f", false, "do not ask for confirmation (imagectl never asks)")
	return cmd
}

// run prunes and prints the IDs removed, also when some removals failed.
func (o *pruneOptions) run(ctx context.Context, rt *image.Runtime, w io.Writer) error {
	reports, err := rt.Prune(ctx, &image.PruneOptions{All: o.all, Filters: o.filters})
	for _, r := range reports {
		if !r.Removed {
			continue
		}
		if _, werr := fmt.Fprintln(w, r.ID); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
