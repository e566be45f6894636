//go:build imagectl_demo && !linux

package main

import (
	"context"

	"github.com/pkg/errors"
)

func needsUserNamespace() bool { return false }

func runInUserNamespace(context.Context) error {
	return errors.New("demo: user namespaces exist on Linux only")
}
