package main

import (
	"context"
	"fmt"
	"io"
	"time"

	units "github.com/docker/go-units"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

func newDfCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	var format string
	cmd := &cobra.Command{
		Use:   "df [-v] [--format json]",
		Short: "Show the space the images take",
		Long: "Show the images' part of `podman system df`: how many images, how many containers use,\n" +
			"their size with every layer counted once, and what removing the unused ones would free.\n" +
			"-v lists each image with its shared and unique parts (exact per layer).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return df(cmd.Context(), rt, verbose, format, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every image")
	cmd.Flags().StringVar(&format, "format", "", `"json" for the figures as JSON`)
	return cmd
}

func df(ctx context.Context, rt *image.Runtime, verbose bool, format string, w io.Writer) error {
	du, err := rt.DiskUsage(ctx)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(w, du, "    ")
	}
	if format != "" {
		return fmt.Errorf("df: unsupported --format %q (want json)", format)
	}
	if verbose {
		return dfVerbose(du, w)
	}
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	percent := 0
	if du.Size > 0 {
		percent = int(100 * du.Reclaimable / du.Size)
	}
	fmt.Fprintf(tw, "Images\t%d\t%d\t%s\t%s (%d%%)\n", len(du.Images), du.Active,
		units.HumanSize(float64(du.Size)), units.HumanSize(float64(du.Reclaimable)), percent)
	return tw.Flush()
}

// dfVerbose prints podman's "Images space usage" table: one row per tag; CREATED has no
// " ago", as in podman's.
func dfVerbose(du *image.DiskUsage, w io.Writer) error {
	fmt.Fprint(w, "Images space usage:\n\n")
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, u := range du.Images {
		names := u.RepoTags
		if len(names) == 0 {
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			repo, tag, err := splitName(n)
			if err != nil {
				repo, tag = "<none>", "<none>"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", repo, tag, u.ID[:12],
				units.HumanDuration(time.Since(u.Created)), units.HumanSize(float64(u.Size)),
				units.HumanSize(float64(u.SharedSize)), units.HumanSize(float64(u.UniqueSize)), u.Containers)
		}
	}
	return tw.Flush()
}
