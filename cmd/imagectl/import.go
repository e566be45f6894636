package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// importOptions are the flags of `import`.
type importOptions struct {
	changes           []string
	message           string
	platform          string
	os, arch, variant string
	quiet             bool
}

func newImportCommand(g *globalOptions) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import [flags] SOURCE [NAME]",
		Short: "Create an image from a rootfs tarball",
		Long: "Create a one-layer image from a rootfs tarball, as `podman import` does. SOURCE is a\n" +
			"file, an http(s) URL or - for stdin; the tarball may be gzip, zstd, xz or bzip2\n" +
			"compressed. --change takes Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE,\n" +
			"LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), --message becomes the history\n" +
			"comment. NAME is stored under localhost/ when short; without it the image is unnamed.\n" +
			"Prints the image ID.",
		Args: importArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.libraryOptions(cmd, args)
			if err != nil {
				return err
			}
			return g.withRuntime(func(rt *image.Runtime) error {
				id, err := rt.Import(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), "sha256:"+id) // podman's last line
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.changes, "change", "c", nil, "apply a Dockerfile instruction to the image's configuration (repeatable)")
	f.StringVarP(&o.message, "message", "m", "", "comment of the image's history entry")
	f.StringVar(&o.platform, "platform", "", "platform of the image as OS/ARCH[/VARIANT] (default: this machine's)")
	f.StringVar(&o.os, "os", "", "OS of the image (default: this machine's)")
	f.StringVar(&o.arch, "arch", "", "architecture of the image (default: this machine's)")
	f.StringVar(&o.variant, "variant", "", "architecture variant of the image")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress lines (they go to stderr when it is a terminal)")
	return cmd
}

func importArgs(_ *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return errors.New("import needs a source: a tarball path, an http(s) URL or - for stdin")
	case len(args) > 2:
		return errors.Errorf("import takes a source and at most one name, got %d arguments: %q", len(args), args)
	}
	return nil
}

// libraryOptions turns the flags and arguments into the library's options; stdin is the reader
// for the source "-".
func (o *importOptions) libraryOptions(cmd *cobra.Command, args []string) (*image.ImportOptions, error) {
	opts := &image.ImportOptions{
		Changes: o.changes, Message: o.message,
		OS: o.os, Arch: o.arch, Variant: o.variant,
	}
	if len(args) > 1 {
		opts.Name = args[1]
	}
	if args[0] == "-" {
		opts.Reader = cmd.InOrStdin()
	}
	if stderr := cmd.ErrOrStderr(); !o.quiet && isTerminal(stderr) {
		opts.ReportWriter = stderr
	}
	if o.platform == "" {
		return opts, nil
	}
	if o.os != "" || o.arch != "" || o.variant != "" {
		return nil, errors.New("--platform cannot be combined with --os, --arch or --variant")
	}
	parts := strings.Split(o.platform, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return nil, errors.Errorf("invalid --platform %q: use OS/ARCH or OS/ARCH/VARIANT", o.platform)
	}
	opts.OS, opts.Arch = parts[0], parts[1]
	if len(parts) == 3 {
		opts.Variant = parts[2]
	}
	return opts, nil
}
