package logpattern

import (
	"fmt"
	"strings"
)

// InsightsFilter returns a CloudWatch Logs Insights boolean expression over
// @message with the pattern's meaning, for a `filter` command: the alarms
// package uses it to run a user's filter pattern as the scheduled query of a
// log alarm. Terms and phrases become case-sensitive substring tests
// (`@message like "ERROR"`), exclusions their negation, '?' terms an "or"
// group joined to the others with "and", and a %regex% `@message like /regex/`. The empty pattern
// returns "" (no filter). JSON selectors and space-delimited patterns have no
// faithful Insights equivalent and return an error.
//
// (Added by the alarms work in its own file; it only reads the parsed form.)
func (p *Pattern) InsightsFilter() (string, error) {
	switch p.kind {
	case KindAll:
		return "", nil
	case KindText:
		expr := func(t textTerm) string {
			e := "@message like " + insightsString(t.s)
			if t.exclude {
				e = "not (" + e + ")"
			}
			return e
		}
		var parts []string
		for _, t := range p.text.required {
			if strings.TrimSpace(t.s) != "" { // a blank phrase matches every event
				parts = append(parts, expr(t))
			}
		}
		var alts []string
		for _, t := range p.text.optional {
			if strings.TrimSpace(t.s) == "" {
				alts = nil // this optional term holds for every event
				break
			}
			alts = append(alts, expr(t))
		}
		switch {
		case len(alts) == 1:
			parts = append(parts, alts[0])
		case len(alts) > 1:
			for i, a := range alts {
				alts[i] = "(" + a + ")"
			}
			or := strings.Join(alts, " or ")
			if len(parts) > 0 {
				or = "(" + or + ")"
			}
			parts = append(parts, or)
		}
		return strings.Join(parts, " and "), nil
	case KindRegex:
		start, end := trimBounds(p.src)
		body := p.src[start+1 : end-1]
		return "@message like /" + strings.ReplaceAll(body, "/", `\/`) + "/", nil
	case KindJSON:
		return "", fmt.Errorf("JSON selector patterns cannot run as a Logs Insights query; use a metric filter (drop --log-lines)")
	case KindDelimited:
		return "", fmt.Errorf("space-delimited [field] patterns cannot run as a Logs Insights query; use a metric filter (drop --log-lines)")
	}
	return "", fmt.Errorf("unknown pattern kind %v", p.kind)
}

func insightsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
