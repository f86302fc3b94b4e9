package iampolicy

import (
	"fmt"
	"strings"
)

// Store answers, from the endpoint's IAM and resource policies, whether an
// emulated service acting through a role may make a call: the assume-role
// step (the role's trust policy) and the call itself (the role's policies
// with the resource's policy). The endpoint wires it from the IAM and S3
// emulations; emulations call it on the paths README lists as enforced.
type Store struct {
	// Role returns a role's trust policy and its identity policies (inline
	// ones and the default versions of attached managed ones); ok false when
	// the role does not exist.
	Role func(roleARN string) (trust string, identity []string, ok bool)
	// ResourcePolicy returns the policy attached to a resource (a bucket
	// policy for an S3 bucket or object ARN); ok false when it has none.
	ResourcePolicy func(resourceARN string) (doc string, ok bool)
	// KeyPolicy returns a KMS key's key policy; ok false when the key does
	// not exist. With it set, kms: actions need the key policy to allow
	// the role or to delegate to the account's IAM policies.
	KeyPolicy func(keyARN string) (doc string, ok bool)
}

// AssumeRole checks that service (e.g. "firehose.amazonaws.com") may
// assume roleARN, with the request context AWS sends (aws:SourceAccount,
// aws:SourceArn: the confused-deputy keys).
func (s Store) AssumeRole(service, roleARN string, ctx map[string][]string) error {
	trust, _, ok := s.role(roleARN)
	if !ok {
		return fmt.Errorf("assume role %s: the role does not exist", roleARN)
	}
	p, err := Parse(trust)
	if err != nil {
		return fmt.Errorf("assume role %s: trust policy: %w", roleARN, err)
	}
	return Check(Set{Resource: p}, Request{Principal: Principal{Type: "Service", ID: service}, Action: "sts:AssumeRole",
		Resource: roleARN, Context: ctx})
}

// RoleMay checks that a session of roleARN may perform action on resource:
// the role's policies together with the resource's policy, in the role's
// account. aws:PrincipalArn and aws:PrincipalAccount are added to ctx.
func (s Store) RoleMay(roleARN, action, resource string, ctx map[string][]string) error {
	_, identity, ok := s.role(roleARN)
	if !ok {
		return fmt.Errorf("%s on %s: role %s does not exist", action, resource, roleARN)
	}
	ids, err := ParseAll(identity...)
	if err != nil {
		return fmt.Errorf("policies of %s: %w", roleARN, err)
	}
	set := Set{Identity: ids}
	full := map[string][]string{"aws:PrincipalArn": {roleARN}, "aws:PrincipalAccount": {accountOf(roleARN)}}
	if strings.HasPrefix(strings.ToLower(action), "kms:") && s.KeyPolicy != nil {
		doc, ok := s.KeyPolicy(resource)
		if !ok {
			return fmt.Errorf("%s on %s: the key does not exist", action, resource)
		}
		kp, err := Parse(doc)
		if err != nil {
			return fmt.Errorf("key policy of %s: %w", resource, err)
		}
		set.Resource, set.KeyPolicy = kp, true
		full["kms:CallerAccount"] = []string{accountOf(roleARN)}
	} else if s.ResourcePolicy != nil {
		if doc, ok := s.ResourcePolicy(resource); ok {
			rp, err := Parse(doc)
			if err != nil {
				return fmt.Errorf("resource policy of %s: %w", resource, err)
			}
			set.Resource = rp
		}
	}
	for k, v := range ctx {
		full[k] = v
	}
	return Check(set, Request{Principal: Principal{Type: "AWS", ID: roleARN}, Action: action, Resource: resource, Context: full})
}

func (s Store) role(arn string) (string, []string, bool) {
	if s.Role == nil {
		return "", nil, false
	}
	return s.Role(arn)
}

// BucketOf returns the bucket an S3 bucket or object ARN names ("" for
// anything else).
func BucketOf(arn string) string {
	for _, p := range []string{"arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::"} {
		if strings.HasPrefix(arn, p) {
			b := strings.TrimPrefix(arn, p)
			if i := strings.IndexByte(b, '/'); i >= 0 {
				b = b[:i]
			}
			return b
		}
	}
	return ""
}
