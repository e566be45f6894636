package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"

	units "github.com/docker/go-units"

	"github.com/pkg/errors"
)

// rowTemplate is a user's --format Go template, prepared as podman prepares it: a "table "
// prefix asks for a header line, a literal `\t` or `\n` in the text is a tab or a newline,
// and every row ends with a newline. Columns separated by tabs are aligned.
type rowTemplate struct {
	tmpl  *template.Template
	table bool
}

// templateFuncs are the functions podman's templates offer that are worth having here.
var templateFuncs = template.FuncMap{
	"json":  jsonString,
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"split": strings.Split,
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// parseRowTemplate parses format (without surrounding quotes) as a row template.
func parseRowTemplate(format string) (*rowTemplate, error) {
	text, table := strings.CutPrefix(format, "table ")
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, errors.Wrapf(err, "parsing --format %q", format)
	}
	return &rowTemplate{tmpl: tmpl, table: table}, nil
}

// newTabWriter returns the column writer podman uses for its tables.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)
}

// write executes the template for each row, after a header line (the template executed over
// headers, a map from field name to column title) when the format began with "table " and
// headers is not nil.
// Nothing is written when a row fails.
func (t *rowTemplate) write(w io.Writer, headers map[string]string, rows []any) error {
	var buf bytes.Buffer
	tw := newTabWriter(&buf)
	if t.table && headers != nil {
		hdr, err := t.tmpl.Clone()
		if err != nil {
			return err
		}
		if err := hdr.Option("missingkey=zero").Execute(tw, headers); err != nil {
			return errors.Wrap(err, "writing the header line of --format")
		}
	}
	for _, row := range rows {
		if err := t.tmpl.Execute(tw, row); err != nil {
			return errors.Wrap(err, "executing --format")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeJSON writes v as podman does: indented (podman's inspect uses five spaces, its
// images four), with <, > and & unescaped.
func writeJSON(w io.Writer, v any, indent string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	return enc.Encode(v)
}

// jsonString is the template function "json": v as compact JSON.
func jsonString(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// humanSize prints a size as podman does: three significant digits, decimal units, a space
// before the unit ("2.13 MB", "0 B").
func humanSize(size int64) string {
	s := units.HumanSizeWithPrecision(float64(size), 3)
	j := strings.LastIndexFunc(s, unicode.IsNumber)
	return s[:j+1] + " " + s[j+1:]
}
