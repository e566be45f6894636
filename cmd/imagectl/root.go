package main

import (
	"io"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// globalOptions are the flags every subcommand shares; they say which store to open and
// which configuration files to read.
type globalOptions struct {
	root, runroot, driver string
	storageOpts           []string
	registriesConf        string
	registriesD           string
	signaturePolicy       string
	logLevel              string
}

// newRootCommand returns a fresh imagectl command tree writing to stdout and stderr. Each
// call has its own flag values, so the tree can be run several times in one process (the
// demo and the tests do).
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{}
	cmd := &cobra.Command{
		Use:   "imagectl",
		Short: "Manage the container images of a containers/storage store",
		Long: "imagectl manages the images of a containers/storage store with podman's subcommands,\n" +
			"flags and output formats. Without --root, --runroot and --storage-driver it opens the\n" +
			"store of the user's storage.conf, as podman does.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.setLogLevel() },
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	g.addFlags(cmd)
	cmd.AddCommand(
		newImagesCommand(g),
		newInspectCommand(g),
		newTagCommand(g),
		newUntagCommand(g),
		newHistoryCommand(g),
		newRmCommand(g),
		newPruneCommand(g),
		newDfCommand(g),
		newTreeCommand(g),
		newLoadCommand(g),
		newSaveCommand(g),
		newImportCommand(g),
		newPullCommand(g),
		newPushCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
		newDemoCommand(g),
	)
	return cmd
}

func (g *globalOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&g.root, "root", "", "path of the store's graph root (default: from storage.conf)")
	f.StringVar(&g.runroot, "runroot", "", "path of the store's run root (default: from storage.conf)")
	f.StringVar(&g.driver, "storage-driver", "", "storage driver, e.g. vfs or overlay (default: from storage.conf)")
	f.StringArrayVar(&g.storageOpts, "storage-opt", nil, "storage driver option, e.g. vfs.ignore_chown_errors=true (repeatable; replaces storage.conf's)")
	f.StringVar(&g.registriesConf, "registries-conf", "", "path of registries.conf (default: the system's)")
	f.StringVar(&g.registriesD, "registries-d", "", "directory of registries.d files: where signatures are stored and read, e.g. use-sigstore-attachments (default: the system's)")
	f.StringVar(&g.signaturePolicy, "signature-policy", "", "path of the signature policy (default: /etc/containers/policy.json)")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: trace, debug, info, warn, error, fatal or panic")
}

// setLogLevel applies --log-level to logrus, which the libraries below log through.
func (g *globalOptions) setLogLevel() error {
	level, err := logrus.ParseLevel(g.logLevel)
	if err != nil {
		return errors.Errorf("invalid --log-level %q: use trace, debug, info, warn, error, fatal or panic", g.logLevel)
	}
	logrus.SetLevel(level)
	return nil
}

// storeOptions returns the options of the store to open. Without any storage flag it returns
// the zero value, which the library reads as "the user's storage.conf"; otherwise the flags
// override storage.conf's values, as podman's do (a new driver drops storage.conf's driver
// options). When --root, --runroot and --storage-driver are all given, storage.conf is not read.
func (g *globalOptions) storeOptions() (storage.StoreOptions, error) {
	var opts storage.StoreOptions
	if g.root == "" && g.runroot == "" && g.driver == "" && len(g.storageOpts) == 0 {
		return opts, nil
	}
	if g.root == "" || g.runroot == "" || g.driver == "" {
		defaults, err := storage.DefaultStoreOptions()
		if err != nil {
			return opts, errors.Wrap(err, "reading the default storage options (storage.conf)")
		}
		opts = defaults
	}
	if g.root != "" {
		opts.GraphRoot = g.root
	}
	if g.runroot != "" {
		opts.RunRoot = g.runroot
	}
	if g.driver != "" {
		opts.GraphDriverName, opts.GraphDriverOptions = g.driver, nil
	}
	if len(g.storageOpts) > 0 {
		opts.GraphDriverOptions = append([]string(nil), g.storageOpts...)
	}
	return opts, nil
}

// systemContext returns the c/image settings the flags ask for; empty fields mean c/image's
// defaults.
func (g *globalOptions) systemContext() *types.SystemContext {
	return &types.SystemContext{
		SystemRegistriesConfPath: g.registriesConf,
		RegistriesDirPath:        g.registriesD,
		SignaturePolicyPath:      g.signaturePolicy,
	}
}

// withRuntime opens the store, runs fn with a Runtime over it and shuts the store down, also
// when fn fails. A failed shutdown is reported only when fn succeeded.
func (g *globalOptions) withRuntime(fn func(*image.Runtime) error) (err error) {
	storeOpts, err := g.storeOptions()
	if err != nil {
		return err
	}
	rt, err := image.NewRuntimeFromStoreOptions(storeOpts, &image.RuntimeOptions{SystemContext: g.systemContext()})
	if err != nil {
		return err
	}
	defer func() {
		if serr := rt.Shutdown(false); serr != nil && err == nil {
			err = serr
		}
	}()
	return fn(rt)
}

// minArgs accepts at least n arguments; with fewer, the error is usage, which says what the
// command needs.
func minArgs(n int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return errors.New(usage)
		}
		return nil
	}
}
