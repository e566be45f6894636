package main

import (
	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/docker/reference"
)

func newTagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag IMAGE NAME [NAME...]",
		Short: "Add names to an image",
		Long: "Add each NAME to IMAGE. A short name is stored under localhost/ and a name without a\n" +
			"tag gets :latest. A name another image held moves to IMAGE. Nothing is printed.",
		Args: minArgs(2, "tag needs an image and at least one name to add"),
		RunE: func(_ *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error { return tag(rt, args[0], args[1:]) })
		},
	}
}

func tag(rt *image.Runtime, name string, tags []string) error {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return err
	}
	if err := checkNames(tags, true); err != nil {
		return err
	}
	for _, t := range tags {
		prev, err := img.Tag(t)
		if err != nil {
			return err
		}
		if prev != "" {
			logrus.Infof("name %q moved from image %s to %s", t, prev, img.ID())
		}
	}
	return nil
}

// checkNames validates every name before any is applied, so that a bad name in the list
// changes nothing. Tags may not hold a digest.
func checkNames(names []string, forTag bool) error {
	for _, n := range names {
		named, err := image.NormalizeName(n)
		if err != nil {
			return err
		}
		if _, digested := named.(reference.Digested); digested && forTag {
			return errors.Wrapf(image.ErrInvalidName, "tagging as %q: a tag cannot contain a digest", n)
		}
	}
	return nil
}

func newUntagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "untag IMAGE NAME [NAME...]",
		Short: "Remove names from an image",
		Long: "Remove each NAME (normalized as tag does) from IMAGE. A name the image does not have\n" +
			"is an error. Unlike podman, there is no untagging of every name at once: name them.",
		Args: minArgs(2, "untag needs an image and at least one name to remove (untagging every name at once is not supported)"),
		RunE: func(_ *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error { return untag(rt, args[0], args[1:]) })
		},
	}
}

func untag(rt *image.Runtime, name string, tags []string) error {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return err
	}
	if err := checkNames(tags, false); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range img.Names() {
		have[n] = true
	}
	for _, t := range tags {
		if named, _ := image.NormalizeName(t); !have[named.String()] {
			return errors.Wrapf(image.ErrTagUnknown, "untagging %q from image %s: it has no name %q", t, name, named.String())
		}
	}
	for _, t := range tags {
		if err := img.Untag(t); err != nil {
			return err
		}
	}
	return nil
}
