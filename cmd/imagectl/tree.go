package main

import (
	"context"
	"fmt"
	"io"

	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

func newTreeCommand(g *globalOptions) *cobra.Command {
	var whatRequires bool
	cmd := &cobra.Command{
		Use:   "tree [--whatrequires] IMAGE",
		Short: "Show an image's layers as a tree",
		Long: "Show IMAGE's layers, bottom first, with their sizes and the images whose top layer each is,\n" +
			"as `podman image tree` does; --whatrequires shows every layer built on IMAGE instead.",
		Args: exactArgs(1, "tree needs one image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return tree(cmd.Context(), rt, args[0], whatRequires, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().BoolVar(&whatRequires, "whatrequires", false, "show the layers built on the image")
	return cmd
}

func tree(ctx context.Context, rt *image.Runtime, name string, whatRequires bool, w io.Writer) error {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return err
	}
	t, err := rt.Tree(ctx, img, &image.TreeOptions{WhatRequires: whatRequires})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, t.String())
	return err
}
