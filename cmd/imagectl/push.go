package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// pushOptions are the flags of `push`.
type pushOptions struct {
	compressionFormat string
	compressionLevel  int
	signKey           string
	passphraseFile    string
	digestFile        string
	removeSignatures  bool
	quiet             bool
	conn              connFlags
}

func newPushCommand(g *globalOptions) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push [flags] IMAGE [DESTINATION]",
		Short: "Push an image from the store to a registry or another transport",
		Long: "Push IMAGE to DESTINATION, as podman push does: a docker:// reference by default, or\n" +
			"any c/image transport (oci-archive:PATH, dir:PATH, ...); without DESTINATION, to the\n" +
			"image's most recent tagged name. Layers the registry is known to have (c/image's\n" +
			"blob-info cache, under the store's graph root) are not sent again. Nothing is printed\n" +
			"on stdout; progress goes to stderr unless -q: a bar per layer on a terminal, plain lines otherwise.",
		Args: rangeArgs(1, 2, "push needs an IMAGE and at most one DESTINATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := o.options(cmd.Flags(), cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if stderr := cmd.ErrOrStderr(); !o.quiet { // c/image draws bars on a terminal, prints plain lines otherwise
				opts.ReportWriter = stderr
			}
			dest := ""
			if len(args) == 2 {
				dest = args[1]
			}
			return g.withRuntime(func(rt *image.Runtime) error {
				return runPush(cmd.Context(), rt, args[0], dest, opts)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.compressionFormat, "compression-format", "", "compression of the layers: gzip, zstd or zstd:chunked (default: gzip, or what the destination has)")
	f.IntVar(&o.compressionLevel, "compression-level", 0, "compression level of --compression-format (default: the format's)")
	f.StringVar(&o.signKey, "sign-by-sigstore-private-key", "", "sign the pushed image with this sigstore private key")
	f.StringVar(&o.passphraseFile, "sign-passphrase-file", "", "read the passphrase of the signing key from the first line of this file (default: asked on a terminal)")
	f.StringVar(&o.digestFile, "digestfile", "", "write the digest of the pushed manifest to this file")
	f.BoolVar(&o.removeSignatures, "remove-signatures", false, "do not copy the image's signatures")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress")
	o.conn.addFlags(f)
	return cmd
}

// options turns the flags into the library's options.
func (o *pushOptions) options(f *pflag.FlagSet, stdin io.Reader, prompt io.Writer) (*image.PushOptions, error) {
	reg, err := o.conn.options(f, stdin, prompt)
	if err != nil {
		return nil, err
	}
	opts := &image.PushOptions{RegistryOptions: reg, CompressionFormat: o.compressionFormat,
		RemoveSignatures: o.removeSignatures, SignBySigstorePrivateKeyFile: o.signKey, DigestFile: o.digestFile}
	if f.Changed("compression-level") {
		level := o.compressionLevel
		opts.CompressionLevel = &level
	}
	if o.passphraseFile != "" && o.signKey == "" {
		return nil, errors.New("--sign-passphrase-file needs --sign-by-sigstore-private-key")
	}
	if o.signKey != "" {
		passphrase, err := o.passphrase(stdin, prompt)
		if err != nil {
			return nil, err
		}
		opts.SignSigstorePrivateKeyPassphrase = []byte(passphrase)
	}
	return opts, nil
}

// passphrase reads the signing key's passphrase from --sign-passphrase-file, else from a
// terminal.
func (o *pushOptions) passphrase(stdin io.Reader, prompt io.Writer) (string, error) {
	if o.passphraseFile == "" {
		p, err := askSecret(stdin, prompt, "Key Passphrase: ")
		return p, errors.Wrap(err, "the passphrase of --sign-by-sigstore-private-key (give --sign-passphrase-file)")
	}
	raw, err := os.ReadFile(o.passphraseFile)
	if err != nil {
		return "", errors.Wrap(err, "--sign-passphrase-file")
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// runPush looks name up and pushes it to dest.
func runPush(ctx context.Context, rt *image.Runtime, name, dest string, opts *image.PushOptions) error {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return err
	}
	_, err = img.Push(ctx, dest, opts)
	return err
}
