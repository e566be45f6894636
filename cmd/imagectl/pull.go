package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.podman.io/image/v5/types"
	"golang.org/x/term"
)

// pullOptions are the flags of `pull`.
type pullOptions struct {
	policy, platform string
	allTags, quiet   bool
	conn             connFlags
}

func newPullCommand(g *globalOptions) *cobra.Command {
	o := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull [flags] NAME",
		Short: "Pull an image from a registry or another transport into the store",
		Long: "Pull NAME into the store and print the ID of the image (one per tag with --all-tags),\n" +
			"as podman pull does. NAME is a docker:// reference by default (short names resolve\n" +
			"through registries.conf: aliases, then the unqualified-search registries) or any\n" +
			"c/image transport (oci-archive:PATH, dir:PATH, ...). Progress goes to stderr unless -q:\n" +
			"a bar per layer on a terminal, plain lines otherwise.",
		Args: exactArgs(1, "pull needs exactly one image NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, policy, err := o.options(cmd.Flags(), cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if stderr := cmd.ErrOrStderr(); !o.quiet { // c/image draws bars on a terminal, prints plain lines otherwise
				opts.ReportWriter = stderr
			}
			return g.withRuntime(func(rt *image.Runtime) error {
				return runPull(cmd.Context(), rt, args[0], policy, opts, cmd.OutOrStdout())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policy, "policy", "always", "when to pull: always (podman's default), missing, newer or never")
	f.StringVar(&o.platform, "platform", "", "platform to choose from a manifest list, os/arch[/variant] (default: this machine's)")
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "pull every tagged image of the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress, only the image IDs")
	o.conn.addFlags(f)
	return cmd
}

// options turns the flags into the library's options.
func (o *pullOptions) options(f *pflag.FlagSet, stdin io.Reader, prompt io.Writer) (*image.PullOptions, image.PullPolicy, error) {
	policy, err := image.ParsePullPolicy(o.policy)
	if err != nil {
		return nil, 0, errors.Wrap(err, "--policy")
	}
	platform, err := parsePlatform(o.platform)
	if err != nil {
		return nil, 0, err
	}
	reg, err := o.conn.options(f, stdin, prompt)
	if err != nil {
		return nil, 0, err
	}
	return &image.PullOptions{RegistryOptions: reg, Platform: platform, AllTags: o.allTags}, policy, nil
}

// runPull pulls and prints each image's full ID on its own line.
func runPull(ctx context.Context, rt *image.Runtime, name string, policy image.PullPolicy, opts *image.PullOptions, w io.Writer) error {
	images, err := rt.Pull(ctx, name, policy, opts)
	if err != nil {
		return err
	}
	for _, img := range images {
		if _, err := fmt.Fprintln(w, img.ID()); err != nil {
			return err
		}
	}
	return nil
}

// parsePlatform reads "os/arch[/variant]"; "" is this machine's platform.
func parsePlatform(s string) (image.Platform, error) {
	if s == "" {
		return image.Platform{}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return image.Platform{}, errors.Errorf("invalid --platform %q: use os/arch or os/arch/variant, e.g. linux/arm64/v8", s)
	}
	p := image.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// connFlags are the registry connection flags of pull (and of the commands that talk to
// registries): --authfile, --cert-dir, --creds and --tls-verify.
type connFlags struct {
	authFile, certDir, creds string
	tlsVerify                bool
}

func (c *connFlags) addFlags(f *pflag.FlagSet) {
	c.addTLSFlags(f, "path of the auth.json to read credentials from (default: c/image's, as podman)")
	f.StringVar(&c.creds, "creds", "", "credentials USER[:PASSWORD] for the registry (the password is asked on a terminal when missing)")
}

// addTLSFlags adds --authfile (described by authUsage), --cert-dir and --tls-verify, the
// flags login shares with pull and push.
func (c *connFlags) addTLSFlags(f *pflag.FlagSet, authUsage string) {
	f.StringVar(&c.authFile, "authfile", "", authUsage)
	f.StringVar(&c.certDir, "cert-dir", "", "directory of certificates (ca.crt, client cert and key) to trust for the registry")
	f.BoolVar(&c.tlsVerify, "tls-verify", true, "require HTTPS and verify certificates (default: yes, unless registries.conf marks the registry insecure)")
}

// options returns the library's registry options; --tls-verify counts only when given. A
// password missing from --creds is asked on prompt when stdin is a terminal.
func (c *connFlags) options(f *pflag.FlagSet, stdin io.Reader, prompt io.Writer) (image.RegistryOptions, error) {
	o := image.RegistryOptions{AuthFilePath: c.authFile, CertDir: c.certDir}
	if f.Changed("tls-verify") {
		o.InsecureSkipTLSVerify = types.NewOptionalBool(!c.tlsVerify)
	}
	if f.Changed("creds") {
		user, password, err := splitCreds(c.creds, stdin, prompt)
		if err != nil {
			return o, err
		}
		o.Username, o.Password = user, password
	}
	return o, nil
}

// splitCreds reads USER[:PASSWORD], asking for the password on a terminal stdin when it is
// missing.
func splitCreds(creds string, stdin io.Reader, prompt io.Writer) (string, string, error) {
	user, password, ok := strings.Cut(creds, ":")
	if user == "" {
		return "", "", errors.New("invalid --creds: the user name is empty (use USER[:PASSWORD])")
	}
	if ok {
		return user, password, nil
	}
	password, err := askSecret(stdin, prompt, "Password: ")
	if err != nil {
		return "", "", errors.Wrapf(err, "--creds %q has no password (use USER:PASSWORD)", user)
	}
	return user, password, nil
}

// errNoTerminal: a secret is missing and stdin is not a terminal to ask for it.
var errNoTerminal = errors.New("stdin is not a terminal to ask for it")

// askSecret writes label to prompt and reads a line from stdin without echoing it, when
// stdin is a terminal; otherwise it fails with errNoTerminal.
func askSecret(stdin io.Reader, prompt io.Writer, label string) (string, error) {
	f, err := terminalIn(stdin)
	if err != nil {
		return "", err
	}
	fmt.Fprint(prompt, label)
	raw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(prompt)
	if err != nil {
		return "", errors.Wrap(err, "reading from the terminal")
	}
	return string(raw), nil
}

// terminalIn returns stdin as a file when it is a terminal, else errNoTerminal.
func terminalIn(stdin io.Reader) (*os.File, error) {
	f, isFile := stdin.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return nil, errNoTerminal
	}
	return f, nil
}
