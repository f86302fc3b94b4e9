package iampolicy

import "fmt"

// Set is the policies that govern one request: the caller's identity-based
// policies and the resource's policy (nil when the resource has none).
type Set struct {
	Identity []*Policy
	Resource *Policy
	// CrossAccount: the caller and the resource are in different accounts,
	// so both an identity-based and the resource-based policy must allow.
	CrossAccount bool
	// KeyPolicy: Resource is a KMS key policy. A key policy is required:
	// identity policies count only when the key policy allows the account
	// (its root principal) to delegate (AWS KMS Developer Guide, "Key
	// policies in AWS KMS": "Unless the key policy explicitly allows it, you
	// cannot use IAM policies to allow access to a KMS key").
	KeyPolicy bool
}

// Result is the decision with the reason AWS's AccessDenied message gives.
type Result struct {
	Decision
	// Where: "identity-based policy", "resource-based policy" or "" when
	// allowed.
	Where string
}

// Authorize applies AWS's policy evaluation logic (IAM User Guide, "Policy
// evaluation logic": deny evaluation, then resource-based, then
// identity-based policies; "Cross-account policy evaluation logic") to one
// request. Service control policies, permissions boundaries and session
// policies are not modelled: opsctl writes none.
func Authorize(set Set, req Request) Result {
	var idAllow *Decision
	for _, p := range set.Identity {
		if p == nil {
			continue
		}
		d := p.Evaluate(Identity, req)
		if d.Effect == ExplicitDeny {
			return Result{Decision: d, Where: "identity-based policy"}
		}
		if d.Effect == Allow && idAllow == nil {
			idAllow = &d
		}
	}
	var resAllow *Decision
	if set.Resource != nil {
		d := set.Resource.Evaluate(Resource, req)
		if d.Effect == ExplicitDeny {
			return Result{Decision: d, Where: "resource-based policy"}
		}
		if d.Effect == Allow {
			resAllow = &d
		}
	}
	switch {
	case set.KeyPolicy:
		direct, viaAccount := keyPolicyAllows(set.Resource, req)
		switch {
		case direct:
			return Result{Decision: *resAllow}
		case viaAccount && idAllow != nil:
			return Result{Decision: *idAllow}
		case viaAccount:
			return Result{Where: "identity-based policy"}
		}
		return Result{Where: "resource-based policy"}
	case set.CrossAccount:
		if idAllow == nil {
			return Result{Where: "identity-based policy"}
		}
		if resAllow == nil {
			return Result{Where: "resource-based policy"}
		}
		return Result{Decision: *idAllow}
	}
	if resAllow != nil {
		return Result{Decision: *resAllow}
	}
	if idAllow != nil {
		return Result{Decision: *idAllow}
	}
	return Result{Where: "identity-based policy"}
}

// keyPolicyAllows reports whether a key policy allows the request by
// naming the principal itself (or "*"), or only by naming its account (the
// account id or root ARN), which delegates the decision to IAM policies.
func keyPolicyAllows(p *Policy, req Request) (direct, viaAccount bool) {
	if p == nil {
		return false, false
	}
	for i := range p.Statements {
		st := &p.Statements[i]
		if st.Deny || !st.matches(Resource, req) {
			continue
		}
		if _, ok := st.Principals["*"]; ok {
			return true, false
		}
		for _, v := range st.Principals[req.Principal.Type] {
			if v == "*" || v == req.Principal.ID {
				return true, false
			}
		}
		viaAccount = true
	}
	return false, viaAccount
}

// Error is AWS's AccessDenied for a refused request, worded as AWS words
// it since 2021 ("... is not authorized to perform: ACTION on resource:
// RESOURCE because no identity-based policy allows the ACTION action", or
// "... with an explicit deny in a resource-based policy").
type Error struct {
	Request Request
	Result  Result
}

func (e *Error) Error() string {
	who := e.Request.Principal.ID
	why := fmt.Sprintf("because no %s allows the %s action", e.Result.Where, e.Request.Action)
	if e.Result.Effect == ExplicitDeny {
		why = "with an explicit deny in a " + e.Result.Where
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", who, e.Request.Action, e.Request.Resource, why)
}

// Check returns nil when the request is allowed and an *Error otherwise.
func Check(set Set, req Request) error {
	r := Authorize(set, req)
	if r.Effect == Allow {
		return nil
	}
	return &Error{Request: req, Result: r}
}

// ParseAll parses documents; the first unparsable one is an error.
func ParseAll(docs ...string) ([]*Policy, error) {
	out := make([]*Policy, 0, len(docs))
	for _, d := range docs {
		p, err := Parse(d)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
