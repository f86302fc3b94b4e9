package logpattern

import "strings"

type textTerm struct {
	s       string
	exclude bool
}

// textPattern is an unstructured pattern. Every required term must hold
// (an included term appears, an excluded term does not) and, when the
// pattern has '?' terms, at least one of them must hold: AWS documents plain
// terms as "all terms must appear" and "?term" as OR, so `ERROR ?WARN ?INFO`
// is ERROR and (WARN or INFO), and an exclusion such as `-DEBUG` applies
// whichever optional term matched.
type textPattern struct {
	required []textTerm
	optional []textTerm
}

func parseText(src string, start, end int) (textPattern, error) {
	var tp textPattern
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
				return textPattern{}, errAt(src, i-1, "'?' must be followed directly by a term or a quoted phrase")
			}
		}
		if src[i] == '-' {
			exclude = true
			i++
			for i < end && isSpace(src[i]) {
				i++
			}
			if i >= end {
				return textPattern{}, errAt(src, i, "'-' must be followed by a term or a quoted phrase to exclude")
			}
			if src[i] == '?' {
				return textPattern{}, errAt(src, i, "'?' must come before '-' (write ?-term, not -?term)")
			}
		}
		var term string
		if src[i] == '"' {
			s, next, err := quoted(src, i, end)
			if err != nil {
				return textPattern{}, err
			}
			if next < end && !isSpace(src[next]) {
				return textPattern{}, errAt(src, next, "expected a space after the quoted phrase, found %q", src[next])
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
					return textPattern{}, errAt(src, j, "character %q in term %q: a term with characters other than letters, digits and '_' must be in double quotes, e.g. %q",
						runeAt(src, j), src[i:k], `"`+src[i:k]+`"`)
				}
				j++
			}
			term, i = src[i:j], j
		}
		t := textTerm{s: term, exclude: exclude}
		if alt {
			tp.optional = append(tp.optional, t)
		} else {
			tp.required = append(tp.required, t)
		}
	}
	return tp, nil
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
func matchesEverything(tp textPattern) bool {
	for _, t := range append(append([]textTerm(nil), tp.required...), tp.optional...) {
		if t.exclude || strings.TrimSpace(t.s) != "" {
			return false
		}
	}
	return true
}

func (t textTerm) holds(msg string) bool {
	in := strings.TrimSpace(t.s) == "" || strings.Contains(msg, t.s)
	return in != t.exclude
}

func matchText(tp textPattern, msg string) bool {
	for _, t := range tp.required {
		if !t.holds(msg) {
			return false
		}
	}
	if len(tp.optional) == 0 {
		return true
	}
	for _, t := range tp.optional {
		if t.holds(msg) {
			return true
		}
	}
	return false
}
