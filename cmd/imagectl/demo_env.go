//go:build imagectl_demo

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"
)

// cleanup removes the demo's temp dir. Layers may hold read-only directories, so a failed
// removal is retried after making every directory writable.
func (d *demo) cleanup() error {
	if err := os.RemoveAll(d.dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(d.dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			_ = os.Chmod(path, 0o700) // best effort: the RemoveAll below reports what is left
		}
		return nil
	})
	if err := os.RemoveAll(d.dir); err != nil {
		return errors.Wrapf(err, "demo: removing its temp dir %q", d.dir)
	}
	return nil
}

// shellJoin returns args as a shell would need them typed, single-quoting the ones that
// hold anything but plain characters.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for k, a := range args {
		quoted[k] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
