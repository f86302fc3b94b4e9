// Package output renders command results: a table for people or exactly one
// JSON document for scripts, always on stdout. Logs and progress go to stderr
// (see NewLogger and Progress); colour and progress bars only on a terminal.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"
)

// Format is the result format chosen with --output.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
)

// ParseFormat validates an --output value.
func ParseFormat(s string) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case Table, "":
		return Table, nil
	case JSON:
		return JSON, nil
	}
	return "", fmt.Errorf("invalid --output %q: want table or json", s)
}

// Printer writes results to stdout in the chosen format.
type Printer struct {
	Out    io.Writer
	Format Format
	// Width is the width tables are fitted to by cutting their longest
	// cells with "…" (0: no limit). Set from the terminal's width; piped
	// output and --wide leave it 0. JSON always holds every field whole.
	Width int
}

// Emit writes v as one JSON document, or calls table to render it for people.
func (p *Printer) Emit(v any, table func(w io.Writer) error) error {
	if p.Format == JSON {
		return WriteJSON(p.Out, v)
	}
	if p.Width > 0 {
		return table(&fitWriter{Writer: p.Out, width: p.Width})
	}
	return table(p.Out)
}

// WriteJSON writes v as one indented JSON document followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteTable renders a plain, grep-friendly table: a header row and one line
// per row, columns separated by spaces, no borders.
func WriteTable(w io.Writer, headers []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.On),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.On),
	)
	if width := fitWidth(w); width > 0 {
		rows = fitRows(width, headers, rows)
	}
	hs := make([]any, len(headers))
	for i, h := range headers {
		hs[i] = h
	}
	t.Header(hs...)
	for _, r := range rows {
		cells := make([]any, len(r))
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			cells[i] = c
		}
		if err := t.Append(cells...); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	return nil
}

// WriteKV renders key/value pairs as a two-column list (for single objects).
func WriteKV(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		if len(p[0]) > width {
			width = len(p[0])
		}
	}
	for _, p := range pairs {
		v := p[1]
		if v == "" {
			v = "-"
		}
		if _, err := fmt.Fprintf(w, "%-*s  %s\n", width+1, p[0]+":", v); err != nil {
			return err
		}
	}
	return nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return f != nil && term.IsTerminal(int(f.Fd())) }

// ParseLevel maps --log-level to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", s)
}

// NewLogger returns the stderr logger: JSON lines when results are JSON (so a
// script can parse both streams), text otherwise.
func NewLogger(w io.Writer, level slog.Level, format Format) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
