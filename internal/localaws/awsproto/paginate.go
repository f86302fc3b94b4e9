package awsproto

import (
	"encoding/base64"
	"strconv"
)

// Paginate returns one page of items starting at the position encoded in
// token, and the token for the next page ("" on the last page). limit <= 0 or
// above pageSize uses pageSize. Emulations use small page sizes so callers
// must paginate. A token this function did not produce is an error with
// errCode (services differ: InvalidParameterException, InvalidNextToken...).
func Paginate[T any](items []T, token string, limit, pageSize int, errCode string) ([]T, string, error) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(b) < 3 || string(b[:2]) != "p:" {
			return nil, "", Errf(errCode, "The specified nextToken is invalid.")
		}
		n, err := strconv.Atoi(string(b[2:]))
		if err != nil || n < 0 || n > len(items) {
			return nil, "", Errf(errCode, "The specified nextToken is invalid.")
		}
		start = n
	}
	if limit <= 0 || limit > pageSize {
		limit = pageSize
	}
	end := start + limit
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], base64.RawURLEncoding.EncodeToString([]byte("p:" + strconv.Itoa(end))), nil
}
