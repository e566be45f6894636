package main

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"

	units "github.com/docker/go-units"

	"github.com/pkg/errors"
)

// rowTemplate is a user's --format Go template, prepared as podman 4.3 prepares it
// (containers/common's report.NormalizeFormat): a "table " prefix asks for a header line and
// aligned columns, and in a table every space of the template is a column break; a literal
// `\t` or `\n` in the text is a tab or a newline; every row ends with a newline. Without
// "table " the rows are printed as executed, tabs and all, without alignment.
type rowTemplate struct {
	tmpl  *template.Template
	table bool
}

// templateFuncs are the functions podman's templates offer.
var templateFuncs = template.FuncMap{
	"json":  jsonString,
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"split": strings.Split,
	"title": strings.Title, //nolint:staticcheck // podman's function, for the same output
	"pad": func(s string, prefix, suffix int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// tableReplacer and escapedReplacer rewrite a template as podman 4.3 does, with and without
// the "table " prefix.
var (
	tableReplacer   = strings.NewReplacer("table ", "", `\t`, "\t", " ", "\t", `\n`, "\n")
	escapedReplacer = strings.NewReplacer(`\t`, "\t", `\n`, "\n")
)

// isJSON reports whether a --format value asks for JSON: "json" or "{{json .}}", as podman
// reads it.
func isJSON(format string) bool { return jsonFormat.MatchString(format) }

var jsonFormat = regexp.MustCompile(`^\s*(json|{{\s*json\s*(\.)?\s*}})\s*$`)

// parseRowTemplate parses format (without surrounding quotes) as a row template.
func parseRowTemplate(format string) (*rowTemplate, error) {
	table := strings.HasPrefix(format, "table ")
	text := escapedReplacer.Replace(format)
	if table {
		text = tableReplacer.Replace(format)
	}
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
	return tabwriter.NewWriter(w, 12, 2, 2, ' ', tabwriter.StripEscape)
}

// write executes the template for each row. A table's columns are aligned, after a header
// line (the template executed over headers, a map from field name to column title) when
// headers is not nil. Nothing is written when a row fails.
func (t *rowTemplate) write(w io.Writer, headers map[string]string, rows []any) error {
	var buf bytes.Buffer
	var out io.Writer = &buf
	var tw *tabwriter.Writer
	if t.table {
		tw = newTabWriter(&buf)
		out = tw
	}
	if t.table && headers != nil {
		hdr, err := t.tmpl.Clone()
		if err != nil {
			return err
		}
		if err := hdr.Option("missingkey=zero").Execute(out, headers); err != nil {
			return errors.Wrap(err, "writing the header line of --format")
		}
	}
	for _, row := range rows {
		if err := t.tmpl.Execute(out, row); err != nil {
			return errors.Wrap(err, "executing --format")
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
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

// writeEscapedJSON writes v indented, with <, > and & escaped as \u003c, \u003e and \u0026:
// podman's `images --format json` (json.MarshalIndent).
func writeEscapedJSON(w io.Writer, v any, indent string) error {
	out, err := json.MarshalIndent(v, "", indent)
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// writeCompactJSON writes v on one line, with <, > and & escaped: podman's
// `history --format json` (json.Encoder's defaults).
func writeCompactJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
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
