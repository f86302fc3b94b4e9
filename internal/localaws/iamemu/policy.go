package iamemu

import (
	"encoding/json"
	"strings"
	"unicode"
)

// policyKind selects the grammar a document must follow.
type policyKind int

const (
	identityPolicy policyKind = iota // inline and managed permission policies
	trustPolicy                      // a role's AssumeRolePolicyDocument
)

var statementKeys = map[string]bool{"Sid": true, "Effect": true, "Action": true, "NotAction": true, "Resource": true,
	"NotResource": true, "Principal": true, "NotPrincipal": true, "Condition": true}

// policySize is a document's size as IAM counts it: without whitespace.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// validatePolicy checks a policy document's grammar and returns
// MalformedPolicyDocument with IAM's messages.
func validatePolicy(doc string, kind policyKind, member string) error {
	if n := len(doc); n < 1 || n > 131072 {
		return model.Violation(doc, member, "Member must have length between 1 and 131072")
	}
	var top map[string]any
	if err := json.Unmarshal([]byte(doc), &top); err != nil || top == nil {
		return malformed("This policy contains invalid Json")
	}
	v, _ := top["Version"].(string)
	if v != "2012-10-17" && v != "2008-10-17" {
		return malformed("The policy must contain a valid version string")
	}
	for k := range top {
		if k != "Version" && k != "Statement" && k != "Id" {
			return malformed("Syntax errors in policy.")
		}
	}
	var stmts []any
	switch st := top["Statement"].(type) {
	case []any:
		stmts = st
	case map[string]any:
		stmts = []any{st}
	default:
		return malformed("Syntax errors in policy.")
	}
	if len(stmts) == 0 {
		return malformed("Syntax errors in policy.")
	}
	for _, x := range stmts {
		st, ok := x.(map[string]any)
		if !ok {
			return malformed("Syntax errors in policy.")
		}
		if err := validateStatement(st, kind); err != nil {
			return err
		}
	}
	return nil
}

func validateStatement(st map[string]any, kind policyKind) error {
	for k := range st {
		if !statementKeys[k] {
			return malformed("Syntax errors in policy.")
		}
	}
	if e, _ := st["Effect"].(string); e != "Allow" && e != "Deny" {
		return malformed("Syntax errors in policy.")
	}
	_, hasAction := st["Action"]
	_, hasNotAction := st["NotAction"]
	if hasAction == hasNotAction {
		return malformed("Policy statement must contain actions.")
	}
	actions, ok := stringsOf(st["Action"])
	if hasNotAction {
		actions, ok = stringsOf(st["NotAction"])
	}
	if !ok || len(actions) == 0 {
		return malformed("Policy statement must contain actions.")
	}
	for _, a := range actions {
		if a != "*" && (!strings.Contains(a, ":") || strings.HasPrefix(a, ":")) {
			return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	_, hasPrincipal := st["Principal"]
	_, hasNotPrincipal := st["NotPrincipal"]
	_, hasResource := st["Resource"]
	_, hasNotResource := st["NotResource"]
	if c, ok := st["Condition"]; ok {
		if _, isMap := c.(map[string]any); !isMap {
			return malformed("Syntax errors in policy.")
		}
	}
	if kind == trustPolicy {
		if !hasPrincipal && !hasNotPrincipal {
			return malformed("Missing required field Principal")
		}
		if hasResource || hasNotResource {
			return malformed("Has prohibited field Resource")
		}
		for _, a := range actions {
			if !strings.HasPrefix(strings.ToLower(a), "sts:") && a != "*" {
				return malformed("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
		if p, ok := st["Principal"]; ok {
			switch pv := p.(type) {
			case string:
				if pv != "*" {
					return malformed("Invalid principal in policy: %q", pv)
				}
			case map[string]any:
				for k := range pv {
					if k != "AWS" && k != "Service" && k != "Federated" && k != "CanonicalUser" {
						return malformed("Invalid principal in policy: %q", k)
					}
				}
			default:
				return malformed("Syntax errors in policy.")
			}
		}
		return nil
	}
	if hasPrincipal || hasNotPrincipal {
		return malformed("Policy document should not specify a principal.")
	}
	if hasResource == hasNotResource {
		return malformed("Policy statement must contain resources.")
	}
	res, ok := stringsOf(st["Resource"])
	if hasNotResource {
		res, ok = stringsOf(st["NotResource"])
	}
	if !ok || len(res) == 0 {
		return malformed("Policy statement must contain resources.")
	}
	for _, r := range res {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return malformed("Resource %s must be in ARN format or \"*\".", r)
		}
	}
	return nil
}

// stringsOf accepts a JSON string or a list of strings.
func stringsOf(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
