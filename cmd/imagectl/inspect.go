package main

import (
	"context"
	stderrors "errors"
	"io"
	"regexp"
	"strings"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
	"github.com/spf13/cobra"
)

// inspectOptions are the flags of `inspect`.
type inspectOptions struct {
	format string
}

func newInspectCommand(g *globalOptions) *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [flags] IMAGE [IMAGE...]",
		Short: "Print what the store knows about images, as JSON or through a template",
		Long: "Print a JSON array with podman's inspect data of each image, in the order given.\n" +
			"--format takes a Go template over the Go field names of that data: {{.ID}} (also\n" +
			"written {{.Id}}, as podman accepts), {{.Digest}}, {{.RepoTags}}, {{.Config.Env}}, ...;\n" +
			"it is executed once per image. Images that are not found are reported after the\n" +
			"others are printed.",
		Args: minArgs(1, "inspect needs at least one image"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withRuntime(func(rt *image.Runtime) error {
				return o.run(cmd.Context(), rt, cmd.OutOrStdout(), args)
			})
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "json", `"json" or a Go template`)
	return cmd
}

func (o *inspectOptions) run(ctx context.Context, rt *image.Runtime, w io.Writer, names []string) error {
	var tmpl *rowTemplate
	if o.format != "" && !isJSON(o.format) {
		var err error
		if tmpl, err = parseRowTemplate(normalizeInspectFormat(o.format)); err != nil {
			return err
		}
	}
	data := make([]*image.ImageData, 0, len(names))
	var errs []error
	for _, name := range names {
		d, err := inspectImage(ctx, rt, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data = append(data, d)
	}
	if err := writeInspect(w, tmpl, data); err != nil {
		return err
	}
	return stderrors.Join(errs...)
}

// writeInspect prints the data as a JSON array, or through the template once per image.
func writeInspect(w io.Writer, tmpl *rowTemplate, data []*image.ImageData) error {
	if tmpl == nil {
		return writeJSON(w, data, "     ")
	}
	rows := make([]any, len(data))
	for k := range data {
		rows[k] = data[k]
	}
	return tmpl.write(w, nil, rows)
}

func inspectImage(ctx context.Context, rt *image.Runtime, name string) (*image.ImageData, error) {
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		return nil, err
	}
	data, err := img.Inspect(ctx, nil)
	if err != nil {
		return nil, errors.Wrapf(err, "inspecting %q", name)
	}
	return data, nil
}

// idField matches podman's JSON spelling {{.Id}}, which podman's inspect accepts for the Go
// field ID.
var idField = regexp.MustCompile(`{{\s*\.Id\s*}}`)

// normalizeInspectFormat rewrites the template names podman's image inspect accepts besides
// the Go field names, as podman does: {{.Id}} is {{.ID}}, .Config.Healthcheck is .HealthCheck.
func normalizeInspectFormat(format string) string {
	format = idField.ReplaceAllString(format, "{{.ID}}")
	return strings.ReplaceAll(format, ".Config.Healthcheck", ".HealthCheck")
}
