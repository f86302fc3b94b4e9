package logpattern

import (
	"regexp"
	"strings"
)

// regexSymbols are the characters AWS allows in a %regex% besides letters and
// digits: the documented symbols (_ # = @ / ; , - and, in newer docs, :) and
// operators (^ $ ? [ ] { } | \ * + .).
const regexSymbols = "_#=@/;,-:^$?[]{}|\\*+."

// parseRegexBody validates and compiles the text between the percent signs
// of a %regex% that starts at src[open] == '%' and whose closing '%' is at
// src[close].
func parseRegexBody(src string, open, close int) (*regexp.Regexp, error) {
	body := src[open+1 : close]
	if body == "" {
		return nil, errAt(src, open, "empty regular expression %%%%")
	}
	for i := open + 1; i < close; i++ {
		c := src[i]
		switch {
		case c >= 0x80:
			return nil, errAt(src, i, "multi-byte character %q is not supported in a regular expression", runeAt(src, i))
		case c == '(' || c == ')':
			return nil, errAt(src, i, "%q is not supported in a regular expression: AWS allows no parentheses or subpatterns", c)
		case isWordChar(c) || strings.IndexByte(regexSymbols, c) >= 0:
		default:
			return nil, errAt(src, i, "character %q is not allowed in a regular expression (allowed: letters, digits, the symbols _ # = @ / ; , - : and the operators ^ $ ? [ ] { } | \\ * + .; use \\s for whitespace)", c)
		}
	}
	re, err := regexp.Compile(body)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		return nil, errAt(src, open+1, "bad regular expression: %s", msg)
	}
	return re, nil
}

// regexEnd finds the '%' closing a regex that opens at src[open].
func regexEnd(src string, open, end int) (int, error) {
	for i := open + 1; i < end; i++ {
		if src[i] == '\\' && i+1 < end {
			i++
			continue
		}
		if src[i] == '%' {
			return i, nil
		}
	}
	return 0, errAt(src, open, "unterminated regular expression (a '%%' without its closing '%%')")
}

func parseStandaloneRegex(src string, start, end int) (*regexp.Regexp, error) {
	close, err := regexEnd(src, start, end)
	if err != nil {
		return nil, err
	}
	if close != end-1 {
		return nil, errAt(src, close+1, "unexpected text after the regular expression; a %%regex%% pattern must stand alone")
	}
	return parseRegexBody(src, start, close)
}
