package output

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress draws a single self-overwriting status line on a terminal. On
// anything else it is silent, so cron mail and pipes stay clean.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	label   string
	last    time.Time
	width   int
}

// NewProgress returns a progress line on w, drawn only when enabled (a TTY).
func NewProgress(w io.Writer, enabled bool, label string) *Progress {
	return &Progress{w: w, enabled: enabled, label: label}
}

// Update redraws the line with done/total (total <= 0 means unknown), at most
// ten times a second.
func (p *Progress) Update(done, total int64, unit string) {
	if p == nil || !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	var line string
	if total > 0 {
		pct := float64(done) / float64(total) * 100
		const barW = 24
		n := int(float64(barW) * float64(done) / float64(total))
		if n > barW {
			n = barW
		}
		bar := make([]byte, barW)
		for i := range bar {
			if i < n {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		line = fmt.Sprintf("%s [%s] %d/%d %s (%.0f%%)", p.label, bar, done, total, unit, pct)
	} else {
		line = fmt.Sprintf("%s %d %s", p.label, done, unit)
	}
	pad := p.width - len(line)
	if pad < 0 {
		pad = 0
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%*s", line, pad, "")
}

// Done clears the line.
func (p *Progress) Done() {
	if p == nil || !p.enabled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%*s\r", p.width, "")
	}
	p.width = 0
}
