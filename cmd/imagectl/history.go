package main

import (
	"context"
	"fmt"
	"io"
	"time"

	units "github.com/docker/go-units"
	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// historyOptions are the flags of `imagectl history`.
type historyOptions struct {
	noTrunc bool
	human   bool
	quiet   bool
	format  string
}

func newHistoryCommand(g *globalOptions) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history [flags] IMAGE",
		Short: "Show the steps an image was built by",
		Long: "Show the steps of IMAGE's history, newest first, as podman does. A step's ID is the image\n" +
			"that is exactly that point of the history, <missing> when there is none in the store.\n" +
			"--format takes \"json\" (one line, as podman prints it) or a Go template over {{.ID}}\n" +
			"{{.Created}} {{.CreatedAt}} {{.CreatedSince}} {{.CreatedBy}} {{.Size}} {{.Comment}} {{.Tags}}.",
		Args: exactArgs(1, "history needs one image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, args[0], cmd.OutOrStdout())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate IDs and commands")
	f.BoolVarP(&o.human, "human", "H", true, "print sizes and times in a human-readable form")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print the IDs only")
	f.StringVar(&o.format, "format", "", `"json" or a Go template`)
	return cmd
}

func (o *historyOptions) run(ctx context.Context, rt *image.Runtime, name string, w io.Writer) error {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return err
	}
	entries, err := img.History(ctx)
	if err != nil {
		return errors.Wrapf(err, "history of %q", name)
	}
	if isJSON(o.format) {
		return writeCompactJSON(w, historyJSON(entries))
	}
	format := "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	switch {
	case o.quiet:
		format = "{{.ID}}"
	case o.format != "":
		format = o.format
	}
	tmpl, err := parseRowTemplate(format)
	if err != nil {
		return err
	}
	rows := make([]any, len(entries))
	for k := range entries {
		rows[k] = historyRow{entry: entries[k], opts: o}
	}
	return tmpl.write(w, historyHeaders, rows)
}

// historyHeaders are podman's column titles.
var historyHeaders = map[string]string{
	"ID": "ID", "Created": "CREATED", "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT", "Tags": "TAGS",
	"CreatedAt": "CREATED AT", "CreatedSince": "CREATED SINCE",
}

// historyRow is one row of the table, with podman's field names for templates.
type historyRow struct {
	entry image.HistoryEntry
	opts  *historyOptions
}

// ID is the step's image ID (12 characters unless --no-trunc) or <missing>.
func (r historyRow) ID() string {
	switch {
	case r.entry.ID == "":
		return "<missing>"
	case r.opts.noTrunc:
		return r.entry.ID
	}
	return r.entry.ID[:12]
}

// Created is "2 hours ago", or with --human=false the time in RFC 3339 (UTC, seconds).
func (r historyRow) Created() string {
	if r.entry.Created == nil {
		return ""
	}
	if r.opts.human {
		return units.HumanDuration(time.Since(*r.entry.Created)) + " ago"
	}
	return r.entry.Created.UTC().Format(time.RFC3339)
}

// CreatedAt is the creation time in whole seconds, UTC, in Go's default format, as podman
// prints it.
func (r historyRow) CreatedAt() string {
	if r.entry.Created == nil {
		return ""
	}
	return time.Unix(r.entry.Created.Unix(), 0).UTC().String()
}

// CreatedSince is Created.
func (r historyRow) CreatedSince() string { return r.Created() }

// CreatedBy is the step's command, cut to 45 characters unless --no-trunc, as podman cuts it.
func (r historyRow) CreatedBy() string {
	s := r.entry.CreatedBy
	if !r.opts.noTrunc && len(s) > 45 {
		return s[:42] + "..."
	}
	return s
}

// Size is the layer size in podman's units ("3.07 kB", "0 B").
func (r historyRow) Size() string { return humanSize(r.entry.Size) }

// Comment is the step's comment.
func (r historyRow) Comment() string { return r.entry.Comment }

// Tags are the names of the step's image.
func (r historyRow) Tags() []string { return r.entry.Tags }

// historyJSONRow is podman's `history --format json` row, keys omitted when empty as podman
// omits them. It has no "tags": podman 4.3 fills them from the layer's names, which are none
// for layers that podman, buildah or we write, so it never prints the key; a template's
// {{.Tags}} has the names of the step's image.
type historyJSONRow struct {
	ID        string     `json:"id"`
	Created   *time.Time `json:"created"`
	CreatedBy string     `json:"CreatedBy,omitempty"`
	Size      int64      `json:"size"`
	Comment   string     `json:"comment,omitempty"`
	CreatedAt string     `json:"Created"`
}

func historyJSON(entries []image.HistoryEntry) []historyJSONRow {
	rows := make([]historyJSONRow, len(entries))
	for k, e := range entries {
		id := e.ID
		if id == "" {
			id = "<missing>"
		}
		rows[k] = historyJSONRow{ID: id, Created: e.Created, CreatedBy: e.CreatedBy, Size: e.Size,
			Comment: e.Comment}
		if e.Created != nil {
			rows[k].CreatedAt = e.Created.UTC().Format(time.RFC3339)
		}
	}
	return rows
}

// exactArgs accepts exactly n arguments; otherwise the error is usage.
func exactArgs(n int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s (got %d arguments)", usage, len(args))
		}
		return nil
	}
}

// rangeArgs accepts from min to max arguments; otherwise the error is usage.
func rangeArgs(min, max int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("%s (got %d arguments)", usage, len(args))
		}
		return nil
	}
}
