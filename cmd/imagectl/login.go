package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pkg/errors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/types"
)

// loginOptions are the flags of `login`.
type loginOptions struct {
	username, password string
	passwordStdin      bool
	conn               connFlags
}

func newLoginCommand(g *globalOptions) *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login [flags] REGISTRY",
		Short: "Check credentials with a registry and store them",
		Long: "Log in to REGISTRY (host[:port], or host[:port]/namespace for credentials of that part\n" +
			"only), as podman login does: the credentials are checked with the registry, then\n" +
			"stored through c/image's credential helpers (the auth file, by default\n" +
			"$XDG_RUNTIME_DIR/containers/auth.json, or a helper registries.conf names).\n" +
			"A missing username or password is asked on a terminal. Prints \"Login Succeeded!\".",
		Args: exactArgs(1, "login needs one REGISTRY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sys := o.conn.systemContext(cmd.Flags(), g.systemContext())
			return o.run(cmd.Context(), sys, args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.username, "username", "u", "", "user name (default: asked on a terminal)")
	f.StringVarP(&o.password, "password", "p", "", "password (default: asked on a terminal; --password-stdin keeps it off the command line)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from stdin")
	o.conn.addTLSFlags(f, "path of the auth.json to store credentials in (default: c/image's, as podman)")
	return cmd
}

// run checks the credentials with the registry and stores them. Without any credential
// given, stored credentials that the registry still accepts are kept as they are.
func (o *loginOptions) run(ctx context.Context, sys *types.SystemContext, arg string, stdin io.Reader, stdout, prompt io.Writer) error {
	key, registry, err := credentialsKey(arg)
	if err != nil {
		return err
	}
	if o.username == "" && o.password == "" && !o.passwordStdin {
		if stored, err := config.GetCredentials(sys, key); err == nil && stored.Username != "" &&
			docker.CheckAuth(ctx, sys, stored.Username, stored.Password, registry) == nil {
			_, err := fmt.Fprintf(stdout, "Authenticating with existing credentials for %s\nExisting credentials are valid. Already logged in to %s\n", key, registry)
			return err
		}
	}
	user, password, err := o.credentials(stdin, prompt)
	if err != nil {
		return err
	}
	if err := docker.CheckAuth(ctx, sys, user, password, registry); err != nil {
		return errors.Wrapf(err, "logging in to %q", arg)
	}
	if _, err := config.SetCredentials(sys, key, user, password); err != nil {
		return errors.Wrapf(err, "storing the credentials for %q", arg)
	}
	_, err = fmt.Fprintln(stdout, "Login Succeeded!")
	return err
}

// credentials returns the user name and password from the flags, stdin or a terminal.
func (o *loginOptions) credentials(stdin io.Reader, prompt io.Writer) (string, string, error) {
	user, password := o.username, o.password
	switch {
	case o.passwordStdin && password != "":
		return "", "", errors.New("--password and --password-stdin cannot be used together")
	case o.passwordStdin && user == "":
		return "", "", errors.New("--password-stdin needs --username")
	case o.passwordStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", "", errors.Wrap(err, "reading the password from stdin")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	var err error
	if user == "" {
		if user, err = askLine(stdin, prompt, "Username: "); err != nil {
			return "", "", errors.Wrap(err, "no --username")
		}
	}
	if password == "" {
		if password, err = askSecret(stdin, prompt, "Password: "); err != nil {
			return "", "", errors.Wrap(err, "no --password")
		}
	}
	return user, password, nil
}

// askLine asks for a line on a terminal stdin, with echo.
func askLine(stdin io.Reader, prompt io.Writer, label string) (string, error) {
	f, err := terminalIn(stdin)
	if err != nil {
		return "", err
	}
	fmt.Fprint(prompt, label)
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return "", errors.Wrap(err, "reading from the terminal")
	}
	return strings.TrimSpace(line), nil
}

// credentialsKey returns the key credentials are stored under for arg (a registry, or a
// namespace or repository in it, with an optional docker:// prefix) and the registry's
// host[:port].
func credentialsKey(arg string) (string, string, error) {
	key := strings.TrimPrefix(arg, "docker://")
	if key == "" || strings.Contains(key, "://") {
		return "", "", errors.Errorf("invalid registry %q: use host[:port][/namespace]", arg)
	}
	registry, _, _ := strings.Cut(key, "/")
	return key, registry, nil
}

func newLogoutCommand(g *globalOptions) *cobra.Command {
	var all bool
	var conn connFlags
	cmd := &cobra.Command{
		Use:   "logout [flags] REGISTRY | --all",
		Short: "Remove the stored credentials of a registry",
		Long: "Remove the credentials stored for REGISTRY (or, with --all, for every registry) from\n" +
			"the auth file and the credential helpers, as podman logout does.",
		Args: func(_ *cobra.Command, args []string) error {
			if all != (len(args) == 0) || len(args) > 1 {
				return errors.New("logout needs one REGISTRY, or --all and none")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			sys := conn.systemContext(cmd.Flags(), g.systemContext())
			if all {
				if err := config.RemoveAllAuthentication(sys); err != nil {
					return errors.Wrap(err, "removing every login")
				}
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "Removed login credentials for all registries")
				return err
			}
			return logout(sys, args[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove the credentials of every registry")
	cmd.Flags().StringVar(&conn.authFile, "authfile", "", "path of the auth.json to remove credentials from (default: c/image's, as podman)")
	return cmd
}

// logout removes the credentials stored for arg.
func logout(sys *types.SystemContext, arg string, w io.Writer) error {
	key, _, err := credentialsKey(arg)
	if err != nil {
		return err
	}
	err = config.RemoveAuthentication(sys, key)
	switch {
	case errors.Is(err, config.ErrNotLoggedIn):
		return errors.Errorf("not logged in to %q", arg)
	case err != nil:
		return errors.Wrapf(err, "logging out of %q", arg)
	}
	_, err = fmt.Fprintf(w, "Removed login credentials for %s\n", key)
	return err
}

// systemContext applies --authfile, --cert-dir and --tls-verify (when given) to sys.
func (c *connFlags) systemContext(f *pflag.FlagSet, sys *types.SystemContext) *types.SystemContext {
	sys.AuthFilePath, sys.DockerCertPath = c.authFile, c.certDir
	if f.Changed("tls-verify") {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!c.tlsVerify)
	}
	return sys
}
