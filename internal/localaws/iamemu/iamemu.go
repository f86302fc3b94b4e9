// Package iamemu is opsctl's stateful in-process emulation of AWS IAM (SigV4
// name "iam") for the local test endpoint: roles, inline role policies,
// customer managed policies and their attachment to roles.
//
// IAM speaks the Query protocol: form-encoded POSTs with Action=..., XML
// responses in the 2010-05-08 namespace, errors as ErrorResponse documents
// with IAM's codes (NoSuchEntity, EntityAlreadyExists, MalformedPolicyDocument,
// LimitExceeded, ValidationError, DeleteConflict, InvalidInput) and messages.
// Like real IAM, policy documents come back URL-encoded (GetRolePolicy,
// GetPolicyVersion, a role's AssumeRolePolicyDocument); the SDK does not
// decode them. List operations page with Marker/IsTruncated and return at
// most a few items per page whatever MaxItems asks (IAM may return fewer).
package iamemu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// pageSize caps every list page.
const pageSize = 5

// Quotas (IAM defaults).
const (
	maxManagedPerRole   = 10
	maxInlineRoleBytes  = 10240
	maxTrustPolicyBytes = 2048
	maxManagedPolicy    = 6144
	maxPolicyVersions   = 5
	maxTags             = 50
)

// Server is the IAM emulation. It is an http.Handler.
type Server struct {
	region, account string
	query           awsproto.QueryService

	mu       sync.Mutex
	roles    map[string]*role   // by lower-case name: IAM names are case-insensitive
	policies map[string]*policy // by ARN

	// Instance profiles by lower-case name (profiles.go).
	profiles map[string]*instanceProfile
}

// tag is IAM's Tag shape (Key, Value), the shared one.
type tag = awsproto.Tag

type role struct {
	name, path, id, arn string
	created             time.Time
	trust               string
	description         *string
	maxSession          int
	tags                []tag
	inline              map[string]string
	attached            []string // policy ARNs, in attach order
}

type policyVersion struct {
	id       string
	document string
	created  time.Time
}

type policy struct {
	name, path, id, arn string
	description         *string
	created, updated    time.Time
	versions            []*policyVersion
	defaultVersion      string
	nextVersion         int
	tags                []tag
}

// New returns an empty IAM for account (IAM is global; region is unused but
// kept for the uniform constructor).
func New(region, account string) *Server {
	s := &Server{region: region, account: account, roles: map[string]*role{}, policies: map[string]*policy{}}
	s.query = awsproto.QueryService{
		Version:        "2010-05-08",
		XMLNS:          "https://iam.amazonaws.com/doc/2010-05-08/",
		ValidationCode: "ValidationError",
	}
	s.query.Ops = map[string]awsproto.Handler{
		"CreateRole":               s.createRole,
		"GetRole":                  s.getRole,
		"ListRoles":                s.listRoles,
		"DeleteRole":               s.deleteRole,
		"UpdateRole":               s.updateRole,
		"UpdateRoleDescription":    s.updateRoleDescription,
		"UpdateAssumeRolePolicy":   s.updateAssumeRolePolicy,
		"TagRole":                  s.tagRole,
		"UntagRole":                s.untagRole,
		"ListRoleTags":             s.listRoleTags,
		"PutRolePolicy":            s.putRolePolicy,
		"GetRolePolicy":            s.getRolePolicy,
		"ListRolePolicies":         s.listRolePolicies,
		"DeleteRolePolicy":         s.deleteRolePolicy,
		"AttachRolePolicy":         s.attachRolePolicy,
		"DetachRolePolicy":         s.detachRolePolicy,
		"ListAttachedRolePolicies": s.listAttachedRolePolicies,
		"CreatePolicy":             s.createPolicy,
		"GetPolicy":                s.getPolicy,
		"ListPolicies":             s.listPolicies,
		"DeletePolicy":             s.deletePolicy,
		"CreatePolicyVersion":      s.createPolicyVersion,
		"GetPolicyVersion":         s.getPolicyVersion,
		"ListPolicyVersions":       s.listPolicyVersions,
		"DeletePolicyVersion":      s.deletePolicyVersion,
		"TagPolicy":                s.tagPolicy,
		"UntagPolicy":              s.untagPolicy,
		"ListPolicyTags":           s.listPolicyTags,
	}
	s.registerProfileOps()
	return s
}

// ServeHTTP implements http.Handler: the shared awsQuery codec decodes the
// form, dispatches on Action and writes the 2010-05-08 XML envelope or the
// ErrorResponse document.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.query.ServeHTTP(w, r) }

// Errors.

func errf(status int, code, format string, args ...any) *awsproto.Error {
	e := awsproto.Errf(code, format, args...)
	e.Status = status
	return e
}

func noSuchEntity(format string, args ...any) error {
	return errf(404, "NoSuchEntity", format, args...)
}
func alreadyExists(format string, args ...any) error {
	return errf(409, "EntityAlreadyExists", format, args...)
}
func malformed(format string, args ...any) error {
	return errf(400, "MalformedPolicyDocument", format, args...)
}
func limitExceeded(format string, args ...any) error {
	return errf(409, "LimitExceeded", format, args...)
}
func deleteConflict(format string, args ...any) error {
	return errf(409, "DeleteConflict", format, args...)
}
func invalidInput(format string, args ...any) error {
	return errf(400, "InvalidInput", format, args...)
}

// model words violations of the API model's constraints (ValidationError,
// as the awsQuery services answer them).
var model = awsproto.QueryValidation

func validateTags(tags []tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if n := len(t.Key); n < 1 || n > 128 {
			return model.Violation(t.Key, "tags.member.key", "Member must have length between 1 and 128")
		}
		if len(t.Value) > 256 {
			return model.Violation(t.Value, "tags.member.value", "Member must have length less than or equal to 256")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidInput("User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
		}
		if seen[strings.ToLower(t.Key)] {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}

// mergeTags applies add to tags (keys case-insensitive) and enforces the quota.
func mergeTags(tags, add []tag) ([]tag, error) {
	out := append([]tag(nil), tags...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				replaced = true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

func dropTags(tags []tag, keys []string) []tag {
	var out []tag
	for _, t := range tags {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(k, t.Key) {
				drop = true
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// page returns one Marker page of items: at most min(MaxItems, pageSize).
func page[T any](m string, maxItems *int, items []T) ([]T, bool, string, error) {
	start := 0
	if m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "m-"))
		if err != nil || !strings.HasPrefix(m, "m-") || n < 0 || n > len(items) {
			return nil, false, "", invalidInput("Invalid Marker.")
		}
		start = n
	}
	limit := pageSize
	if maxItems != nil {
		// botocore iam maxItemsType: 1-1000.
		if err := model.Range("maxItems", int64(*maxItems), 1, 1000); err != nil {
			return nil, false, "", err
		}
		limit = min(*maxItems, pageSize)
	}
	end := start + limit
	if end >= len(items) {
		return items[start:], false, "", nil
	}
	return items[start:end], true, "m-" + strconv.Itoa(end), nil
}

// Identifiers and encodings.

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func newID(prefix string) string {
	b := make([]byte, 17)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b)
}

// urlEncode encodes a policy document the way IAM returns it (RFC 3986,
// spaces as %20).
func urlEncode(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Name and path validation.

func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return false
		}
	}
	return true
}

func validateName(v, member string, maxLen int) error {
	if n := len(v); n < 1 || n > maxLen {
		return model.Violation(v, member, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	if !validName(v) {
		return model.Violation(v, member, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

func validatePath(p, member string) error {
	if p == "" {
		return nil
	}
	if len(p) > 512 {
		return model.Violation(p, member, "Member must have length less than or equal to 512")
	}
	ok := p == "/" || (len(p) >= 2 && p[0] == '/' && p[len(p)-1] == '/')
	for _, c := range p {
		if c < 0x21 || c > 0x7e {
			ok = false
		}
	}
	if !ok {
		return model.Violation(p, member, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return nil
}

func validatePathPrefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 512 || p[0] != '/' {
		return model.Violation(p, "pathPrefix", `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	return nil
}

func validateDescription(d string) error {
	if len(d) > 1000 {
		return model.Violation(d, "description", "Member must have length less than or equal to 1000")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
