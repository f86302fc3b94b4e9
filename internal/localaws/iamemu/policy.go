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
		if err := validateCondition(c); err != nil {
			return err
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
		for _, key := range []string{"Principal", "NotPrincipal"} {
			if p, ok := st[key]; ok {
				if err := validatePrincipal(p); err != nil {
					return err
				}
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

// conditionOperators are IAM's condition operators ("IAM JSON policy
// elements: Condition operators"); each may carry the IfExists suffix
// (except Null) and the ForAllValues:/ForAnyValue: set qualifiers.
var conditionOperators = map[string]bool{
	"stringequals": true, "stringnotequals": true, "stringequalsignorecase": true, "stringnotequalsignorecase": true,
	"stringlike": true, "stringnotlike": true,
	"numericequals": true, "numericnotequals": true, "numericlessthan": true, "numericlessthanequals": true,
	"numericgreaterthan": true, "numericgreaterthanequals": true,
	"dateequals": true, "datenotequals": true, "datelessthan": true, "datelessthanequals": true,
	"dategreaterthan": true, "dategreaterthanequals": true,
	"bool": true, "binaryequals": true, "ipaddress": true, "notipaddress": true,
	"arnequals": true, "arnlike": true, "arnnotequals": true, "arnnotlike": true, "null": true,
}

func validConditionOperator(op string) bool {
	o := strings.ToLower(op)
	for _, q := range []string{"forallvalues:", "foranyvalue:"} {
		if strings.HasPrefix(o, q) {
			o = o[len(q):]
			break
		}
	}
	if strings.HasSuffix(o, "ifexists") && o != "nullifexists" {
		o = strings.TrimSuffix(o, "ifexists")
	}
	return conditionOperators[o]
}

// validateCondition checks a Condition block: an object of operators, each
// an object of vendor-prefixed condition keys whose values are strings,
// numbers, booleans or lists of them. IAM answers a condition that is not
// an object or an unknown operator (such as a condition key written where
// the operator belongs) with "Syntax errors in policy." (reported in
// aws-cloudformation/cfn-lint#3751), and a key without a vendor prefix with
// the "Actions/Conditions must be prefaced by a vendor" message.
func validateCondition(c any) error {
	block, ok := c.(map[string]any)
	if !ok {
		return malformed("Syntax errors in policy.")
	}
	for op, v := range block {
		if !validConditionOperator(op) {
			return malformed("Syntax errors in policy.")
		}
		keys, ok := v.(map[string]any)
		if !ok {
			return malformed("Syntax errors in policy.")
		}
		for k, val := range keys {
			if i := strings.Index(k, ":"); i <= 0 || i == len(k)-1 {
				return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
			if !conditionValue(val) {
				return malformed("Syntax errors in policy.")
			}
		}
	}
	return nil
}

func conditionValue(v any) bool {
	switch x := v.(type) {
	case string, float64, bool:
		return true
	case []any:
		for _, e := range x {
			switch e.(type) {
			case string, float64, bool:
			default:
				return false
			}
		}
		return true
	}
	return false
}

// validatePrincipal checks a trust policy's Principal: "*" or an object of
// AWS (account IDs, IAM/STS ARNs or "*"), Service (service principals such
// as ec2.amazonaws.com), Federated and CanonicalUser entries, each a string
// or a list of strings. IAM reports a bad one as
// `Invalid principal in policy: "AWS":"bad"` (`"SERVICE":"…"` for services).
func validatePrincipal(p any) error {
	switch pv := p.(type) {
	case string:
		if pv != "*" {
			return malformed("Invalid principal in policy: %q", pv)
		}
		return nil
	case map[string]any:
		if len(pv) == 0 {
			return malformed("Syntax errors in policy.")
		}
		for k, v := range pv {
			vals, ok := stringsOf(v)
			if !ok || len(vals) == 0 {
				return malformed("Syntax errors in policy.")
			}
			for _, val := range vals {
				var good bool
				switch k {
				case "AWS":
					good = validAWSPrincipal(val)
				case "Service":
					good = validServicePrincipal(val)
				case "Federated", "CanonicalUser":
					good = strings.TrimSpace(val) != "" && val == strings.TrimSpace(val)
				default:
					return malformed("Invalid principal in policy: %q", k)
				}
				if !good {
					return malformed("Invalid principal in policy: %q:%q", principalLabel(k), val)
				}
			}
		}
		return nil
	}
	return malformed("Syntax errors in policy.")
}

func principalLabel(k string) string {
	if k == "AWS" {
		return k
	}
	return strings.ToUpper(k)
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validAWSPrincipal: "*", a 12-digit account ID, or
// arn:PARTITION:iam::ACCOUNT:root|user/...|role/... or
// arn:PARTITION:sts::ACCOUNT:assumed-role/... and federated-user/....
func validAWSPrincipal(v string) bool {
	if v == "*" || isAccountID(v) {
		return true
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[3] != "" || !isAccountID(parts[4]) {
		return false
	}
	res := parts[5]
	switch parts[2] {
	case "iam":
		return res == "root" || strings.HasPrefix(res, "user/") && len(res) > 5 || strings.HasPrefix(res, "role/") && len(res) > 5
	case "sts":
		return strings.HasPrefix(res, "assumed-role/") && len(res) > 13 || strings.HasPrefix(res, "federated-user/") && len(res) > 15
	}
	return false
}

// validServicePrincipal: a service's DNS-style name, NAME.amazonaws.com
// (or .amazonaws.com.cn in China).
func validServicePrincipal(v string) bool {
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn"} {
		if name, ok := strings.CutSuffix(v, suffix); ok && name != "" && !strings.ContainsAny(name, " \t/:*") {
			return true
		}
	}
	return false
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
