package alarms

import (
	"fmt"

	"github.com/opsctl/opsctl/internal/logpattern"
)

// patternChecker validates a CloudWatch Logs filter pattern with the shared
// parser (internal/logpattern): opsctl has exactly one, and the local
// endpoint's Logs emulation matches with the same code.
var patternChecker = func(p string) error {
	_, err := logpattern.Parse(p)
	return err
}

// insightsQuery turns filter patterns into the Logs Insights query of a log
// alarm: the matching events, newest first, so the notification can include
// them. Several patterns are alternatives (an event matching any counts).
func insightsQuery(patterns []string) (string, error) {
	var alts []string
	for _, s := range patterns {
		p, err := logpattern.Parse(s)
		if err != nil {
			return "", fmt.Errorf("pattern %q: %w", s, err)
		}
		f, err := p.InsightsFilter()
		if err != nil {
			return "", fmt.Errorf("pattern %q: %w", s, err)
		}
		if f == "" {
			alts = nil // one pattern matches everything
			break
		}
		alts = append(alts, f)
	}
	q := "fields @timestamp, @message, @logStream"
	switch len(alts) {
	case 0:
	case 1:
		q += "\n| filter " + alts[0]
	default:
		q += "\n| filter "
		for i, a := range alts {
			if i > 0 {
				q += " or "
			}
			q += "(" + a + ")"
		}
	}
	return q + "\n| sort @timestamp desc", nil
}

func regexCount(s string) int {
	p, err := logpattern.Parse(s)
	if err != nil {
		return 0
	}
	return p.RegexCount()
}
