package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/docker/reference"
)

// imagesOptions are the flags of `images`.
type imagesOptions struct {
	quiet   bool
	noTrunc bool
	all     bool
	format  string
	filters []string
}

// defaultImagesFormat is podman's table.
const defaultImagesFormat = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"

// imagesHeaders are the column titles of the fields a template can use: podman's (the field
// name split at case changes and upper-cased, "IMAGE ID" for ID and "R/O" for ReadOnly).
var imagesHeaders = map[string]string{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"Created": "CREATED", "CreatedSince": "CREATED SINCE", "CreatedAt": "CREATED AT",
	"Size": "SIZE", "SharedSize": "SHARED SIZE", "VirtualSize": "VIRTUAL SIZE",
	"ReadOnly": "R/O", "Dangling": "DANGLING", "Labels": "LABELS", "Names": "NAMES", "History": "HISTORY",
	"Containers": "CONTAINERS", "ParentId": "PARENT ID", "RepoTags": "REPO TAGS",
	"RepoDigests": "REPO DIGESTS",
}

func newImagesCommand(g *globalOptions) *cobra.Command {
	o := &imagesOptions{}
	cmd := &cobra.Command{
		Use:     "images [flags] [NAME]",
		Aliases: []string{"ls"},
		Short:   "List the images of the store",
		Long: "List the images of the store, newest first, one row per tag (<none> for an untagged image).\n" +
			"--format takes \"json\", \"table\" or a Go template over podman's field names:\n" +
			"{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}} {{.Created}} {{.CreatedSince}} {{.CreatedAt}}\n" +
			"{{.Size}} {{.ReadOnly}} {{.Dangling}} {{.Labels}} {{.Names}} {{.History}} {{.Containers}}; a \"table \"\n" +
			"prefix prints a header line and aligns the columns.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 { // as podman: `images NAME` lists the images matching NAME
				o.filters = append(o.filters, "reference="+args[0])
			}
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, cmd.OutOrStdout())
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print the image IDs only, one per image")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "print full image IDs (sha256:<64 hex>)")
	f.StringVar(&o.format, "format", "", `"json", "table" or a Go template`)
	f.BoolVarP(&o.all, "all", "a", false, "show intermediate images too (no names, other images built on them)")
	f.StringArrayVarP(&o.filters, "filter", "f", nil, "keep the images that pass KEY=VALUE or KEY!=VALUE (repeatable; keys: "+
		"before, since, after, until, dangling, intermediate, readonly, containers, label, reference, id, digest)")
	return cmd
}

func (o *imagesOptions) run(ctx context.Context, rt *image.Runtime, w io.Writer) error {
	// the default table and -q print nothing that needs a config: reading one per image
	// would dominate the time on a large store
	depth := summaryFull
	if o.quiet || o.format == "" || o.format == "table" {
		depth = summaryRecord
	}
	summaries, err := listSummaries(ctx, rt, o.filters, o.all, depth)
	if err != nil {
		return err
	}
	rows, err := imageRows(summaries, o.noTrunc)
	if err != nil {
		return err
	}
	switch {
	case o.quiet:
		return writeIDs(w, rows)
	case isJSON(o.format):
		return writeEscapedJSON(w, summaries, "    ")
	}
	format := o.format
	if format == "" || format == "table" {
		format = defaultImagesFormat
	}
	if format == defaultImagesFormat {
		return writeImagesTable(w, rows)
	}
	tmpl, err := parseRowTemplate(format)
	if err != nil {
		return err
	}
	data := make([]any, len(rows))
	for k := range rows {
		data[k] = rows[k]
	}
	return tmpl.write(w, imagesHeaders, data)
}

// writeImagesTable writes rows as defaultImagesFormat does, without a template: executing one
// per row by reflection took longer than listing the store.
func writeImagesTable(w io.Writer, rows []imageRow) error {
	var buf bytes.Buffer
	tw := newTabWriter(&buf)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", imagesHeaders["Repository"], imagesHeaders["Tag"], imagesHeaders["ID"],
		imagesHeaders["Created"], imagesHeaders["Size"])
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID(), r.Created(), r.Size())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeIDs prints each image's ID once, in the order of the rows.
func writeIDs(w io.Writer, rows []imageRow) error {
	seen := map[string]bool{}
	for _, r := range rows {
		if id := r.ID(); !seen[id] {
			seen[id] = true
			if _, err := fmt.Fprintln(w, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// imageRow is one line of the table: an image under one of its names. Its fields and methods
// are the names a --format template can use; they are podman's.
type imageRow struct {
	*imageSummary
	// Repository is the name's repository, or "<none>".
	Repository string
	// Tag is the name's tag, or "<none>".
	Tag string

	noTrunc bool
}

// ID returns the image ID as podman prints it: 12 hex digits, or "sha256:<64 hex>" with
// --no-trunc.
func (r imageRow) ID() string {
	id := r.imageSummary.ID
	if r.noTrunc || len(id) < 12 {
		return "sha256:" + id
	}
	return id[:12]
}

// Created returns how long ago the image was created, as podman prints it ("2 hours ago").
func (r imageRow) Created() string {
	return units.HumanDuration(time.Since(r.created())) + " ago"
}

// CreatedSince is Created.
func (r imageRow) CreatedSince() string { return r.Created() }

// CreatedAt returns the creation time (whole seconds, UTC) in Go's default format.
func (r imageRow) CreatedAt() string { return r.created().String() }

func (r imageRow) created() time.Time { return time.Unix(r.imageSummary.Created, 0).UTC() }

// History returns the image's names history, most recent first, joined by ", ", as podman
// prints {{.History}} in a template (its JSON has the list).
func (r imageRow) History() string { return strings.Join(r.imageSummary.History, ", ") }

// Size returns the image's size as podman prints it: three significant digits, decimal
// units, a space before the unit ("2.13 MB").
func (r imageRow) Size() string { return humanSize(r.imageSummary.Size) }

// imageRows expands each image into one row per tagged name, in the images' order. An image
// without tagged names gets one row: the repository of its first (digested) name and tag
// "<none>", or "<none>" twice when it has no names at all.
func imageRows(summaries []*imageSummary, noTrunc bool) ([]imageRow, error) {
	rows := make([]imageRow, 0, len(summaries))
	for _, s := range summaries {
		var tagged, untagged []imageRow
		for _, name := range s.Names {
			repo, tag, err := splitName(name)
			if err != nil {
				return nil, err
			}
			row := imageRow{imageSummary: s, Repository: repo, Tag: tag, noTrunc: noTrunc}
			if tag == "<none>" {
				untagged = append(untagged, row)
			} else {
				tagged = append(tagged, row)
			}
		}
		switch {
		case len(tagged) > 0:
			rows = append(rows, tagged...)
		case len(untagged) > 0:
			rows = append(rows, untagged[0])
		default:
			rows = append(rows, imageRow{imageSummary: s, Repository: "<none>", Tag: "<none>", noTrunc: noTrunc})
		}
	}
	return rows, nil
}

// splitName returns a stored name's repository and tag ("<none>" for a digested name).
func splitName(name string) (string, string, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", "", errors.Wrapf(err, "parsing stored name %q", name)
	}
	if tagged, ok := named.(reference.Tagged); ok {
		return named.Name(), tagged.Tag(), nil
	}
	return named.Name(), "<none>", nil
}
