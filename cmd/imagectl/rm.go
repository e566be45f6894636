package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// rmOptions are the flags of `rm`.
type rmOptions struct {
	force   bool
	noPrune bool
	all     bool
}

func newRmCommand(g *globalOptions) *cobra.Command {
	o := &rmOptions{}
	cmd := &cobra.Command{
		Use:     "rm [flags] IMAGE [IMAGE...]",
		Aliases: []string{"rmi"},
		Short:   "Remove images or their names",
		Long: "Remove each IMAGE, as podman rmi does. Given one of several names, only that name goes;\n" +
			"given the last name of an image that others are built on, the name goes and the image\n" +
			"stays. Given an ID, an image with several names needs --force, and an image others are\n" +
			"built on is refused. --force also removes the containers that use an image. Parents\n" +
			"left dangling are removed too, unless --no-prune. Prints \"Untagged: <name>\" per name\n" +
			"and \"Deleted: <id>\" per image removed; failures are reported after the others are done.",
		Args: func(_ *cobra.Command, args []string) error {
			if o.all && len(args) > 0 {
				return errors.New("when using --all, no image names or IDs may be given")
			}
			if !o.all && len(args) == 0 {
				return errors.New("rm needs at least one image (or --all)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, cmd.OutOrStdout(), args)
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "remove images with several names by ID, and the containers using them")
	f.BoolVar(&o.noPrune, "no-prune", false, "keep the parents left dangling")
	f.BoolVarP(&o.all, "all", "a", false, "remove every image")
	return cmd
}

// run removes the images and prints what was done, then returns the joined errors.
func (o *rmOptions) run(ctx context.Context, rt *image.Runtime, w io.Writer, names []string) error {
	reports, err := rt.RemoveImages(ctx, names, &image.RemoveOptions{Force: o.force, NoPrune: o.noPrune, All: o.all})
	if werr := writeRemoved(w, reports); werr != nil && err == nil {
		err = werr
	}
	return err
}

// writeRemoved prints podman's lines: every "Untagged: <name>" first, then every
// "Deleted: <id>".
func writeRemoved(w io.Writer, reports []*image.RemoveReport) error {
	for _, r := range reports {
		for _, name := range r.Untagged {
			if _, err := fmt.Fprintf(w, "Untagged: %s\n", name); err != nil {
				return err
			}
		}
	}
	for _, r := range reports {
		if r.Removed {
			if _, err := fmt.Fprintf(w, "Deleted: %s\n", r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}
