//go:build !imagectl_demo

package main

import (
	"github.com/pkg/errors"
	"github.com/spf13/cobra"
)

// newDemoCommand is the demo's place in an imagectl built without it: the demo starts a
// registry in its process, and linking that server (with its metrics and tracing libraries)
// into every imagectl would make each start of the command, and each layer c/storage applies
// in a re-executed child of it, slower. `make demo` builds bin/imagectl-demo with the
// imagectl_demo tag.
func newDemoCommand(*globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "demo",
		Short:  "Not in this build: run `make demo`",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("this imagectl was built without the demo: run `make demo` (it builds bin/imagectl-demo with the imagectl_demo build tag)")
		},
	}
}
