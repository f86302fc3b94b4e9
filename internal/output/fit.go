package output

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// MinWidth is the narrowest table opsctl fits to; a terminal narrower than
// this wraps rather than losing every column to "…".
const MinWidth = 80

// fitWriter carries the width tables must fit to from Printer.Emit to
// WriteTable, so every command's table fits without each caller knowing.
type fitWriter struct {
	io.Writer
	width int
}

// TerminalWidth returns the width of w when it is a terminal, else 0 (piped
// output is never truncated: scripts grep it, or use --output json).
func TerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !IsTerminal(f) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return 0
	}
	return max(cols, MinWidth)
}

// fitWidth returns the width a table written to w must fit, 0 for none.
func fitWidth(w io.Writer) int {
	if fw, ok := w.(*fitWriter); ok {
		return fw.width
	}
	return 0
}

// cellPad is what the table renderer adds around each cell (one space on
// each side).
const cellPad = 2

// fitRows shortens the widest columns, cutting cells with "…", until a row
// fits width. Short columns (names, states, counts) are kept whole as long
// as the long ones (diffs, hints, ARNs) can give way.
func fitRows(width int, headers []string, rows [][]string) [][]string {
	n := len(headers)
	widths := make([]int, n)
	measure := func(i int, s string) {
		for _, line := range strings.Split(s, "\n") {
			widths[i] = max(widths[i], utf8.RuneCountInString(line))
		}
	}
	for i, h := range headers {
		measure(i, h)
	}
	for _, r := range rows {
		for i := 0; i < n && i < len(r); i++ {
			measure(i, r[i])
		}
	}
	total := func() int {
		t := 0
		for _, w := range widths {
			t += w + cellPad
		}
		return t
	}
	const minCol = 8
	for total() > width {
		widest := -1
		for i, w := range widths {
			if w > minCol && (widest < 0 || w > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break // every column is already narrow: let the terminal wrap
		}
		widths[widest] = max(minCol, widths[widest]-(total()-width))
	}
	out := make([][]string, len(rows))
	for j, r := range rows {
		out[j] = make([]string, len(r))
		for i, c := range r {
			if i < n {
				c = truncateLines(c, widths[i])
			}
			out[j][i] = c
		}
	}
	return out
}

func truncateLines(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if utf8.RuneCountInString(l) > w {
			r := []rune(l)
			lines[i] = string(r[:w-1]) + "…"
		}
	}
	return strings.Join(lines, "\n")
}
