package logpattern

import "strings"

type textTerm struct {
	s       string
	exclude bool
}

// textGroup is one alternative: every included term must appear and no
// excluded term may.
type textGroup struct {
	terms []textTerm
}

func parseText(src string, start, end int) ([]textGroup, error) {
	groups := []textGroup{{}}
	sawAlt := false
	i := start
	for {
		for i < end && isSpace(src[i]) {
			i++
		}
		if i >= end {
			break
		}
		alt, exclude := false, false
		if src[i] == '?' {
			alt = true
			i++
			if i >= end || isSpace(src[i]) {
				return nil, errAt(src, i-1, "'?' must be followed directly by a term or a quoted phrase")
			}
		}
		if src[i] == '-' {
			exclude = true
			i++
			for i < end && isSpace(src[i]) {
				i++
			}
			if i >= end {
				return nil, errAt(src, i, "'-' must be followed by a term or a quoted phrase to exclude")
			}
			if src[i] == '?' {
				return nil, errAt(src, i, "'?' must come before '-' (write ?-term, not -?term)")
			}
		}
		var term string
		if src[i] == '"' {
			s, next, err := quoted(src, i, end)
			if err != nil {
				return nil, err
			}
			if next < end && !isSpace(src[next]) {
				return nil, errAt(src, next, "expected a space after the quoted phrase, found %q", src[next])
			}
			term, i = s, next
		} else {
			j := i
			for j < end && !isSpace(src[j]) {
				if !isWordChar(src[j]) {
					k := j
					for k < end && !isSpace(src[k]) {
						k++
					}
					return nil, errAt(src, j, "character %q in term %q: a term with characters other than letters, digits and '_' must be in double quotes, e.g. %q",
						runeAt(src, j), src[i:k], `"`+src[i:k]+`"`)
				}
				j++
			}
			term, i = src[i:j], j
		}
		if alt {
			if sawAlt || len(groups[len(groups)-1].terms) > 0 {
				groups = append(groups, textGroup{})
			}
			sawAlt = true
		}
		g := &groups[len(groups)-1]
		g.terms = append(g.terms, textTerm{s: term, exclude: exclude})
	}
	return groups, nil
}

func runeAt(s string, i int) string {
	for j := i + 1; j <= len(s); j++ {
		if j == len(s) || s[j]&0xC0 != 0x80 {
			return s[i:j]
		}
	}
	return s[i:]
}

// matchesEverything reports a pattern made only of blank phrases (`" "`),
// which AWS documents as matching every event.
func matchesEverything(groups []textGroup) bool {
	for _, g := range groups {
		for _, t := range g.terms {
			if t.exclude || strings.TrimSpace(t.s) != "" {
				return false
			}
		}
	}
	return true
}

func matchText(groups []textGroup, msg string) bool {
	for _, g := range groups {
		if matchGroup(g, msg) {
			return true
		}
	}
	return false
}

func matchGroup(g textGroup, msg string) bool {
	for _, t := range g.terms {
		in := t.s == "" || strings.TrimSpace(t.s) == "" || strings.Contains(msg, t.s)
		if in == t.exclude {
			return false
		}
	}
	return true
}
