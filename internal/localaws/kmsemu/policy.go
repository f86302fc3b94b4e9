package kmsemu

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/localaws/iampolicy"
)

// Key policies. Every key has exactly one, named "default" (AWS KMS
// Developer Guide, "Key policies in AWS KMS"). A customer managed key
// created without one gets the default key policy, which lets the account
// (its root principal) delegate access to IAM policies ("Default key
// policy"); an AWS managed key's policy lets any principal of the account
// use it through the one service it belongs to (kms:ViaService and
// kms:CallerAccount), as AWS writes it.

// maxKeyPolicy is botocore kms PolicyType's max length.
const maxKeyPolicy = 131072

// policyChars is botocore kms PolicyType's pattern.
var policyChars = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)

func (s *Server) defaultPolicy() string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions",`+
		`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"}]}`, s.account)
}

// awsManagedPolicy is the policy of the AWS managed key of service (the
// part after alias/aws/), e.g. "s3".
func (s *Server) awsManagedPolicy(service string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Id":"auto-%[2]s-2","Statement":[`+
		`{"Sid":"Allow access through %[2]s for all principals in the account that are authorized to use %[2]s",`+
		`"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],`+
		`"Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"%[1]s","kms:ViaService":"%[2]s.%[3]s.amazonaws.com"}}},`+
		`{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%[1]s:root"},`+
		`"Action":["kms:Describe*","kms:Get*","kms:List*"],"Resource":"*"}]}`, s.account, service, s.region)
}

// policyOf returns k's policy (the default one until one is put).
func (s *Server) policyOf(k *key) string {
	if k.policy != "" {
		return k.policy
	}
	if k.manager == "AWS" {
		for name, a := range s.aliases {
			if a.target == k.id {
				return s.awsManagedPolicy(strings.TrimPrefix(name, "alias/aws/"))
			}
		}
	}
	return s.defaultPolicy()
}

// validatePolicy checks a key policy as PutKeyPolicy and CreateKey do:
// botocore kms PolicyType (1-131072 characters of tab, newline, carriage
// return and U+0020-U+00FF) and a document KMS can read
// (MalformedPolicyDocumentException, worded as the model documents it).
func validatePolicy(doc string) error {
	if err := model.Length("policy", doc, 1, maxKeyPolicy); err != nil {
		return err
	}
	if err := model.Pattern("policy", doc, policyChars); err != nil {
		return err
	}
	if _, err := iampolicy.Parse(doc); err != nil {
		return awsproto.Errf("MalformedPolicyDocumentException", "The request was rejected because the specified policy is not syntactically or semantically correct.")
	}
	return nil
}

type keyPolicyInput struct {
	KeyId      *string `json:"KeyId"`
	PolicyName *string `json:"PolicyName"`
	Policy     *string `json:"Policy"`
}

// policyName checks PolicyName: optional on GetKeyPolicy and PutKeyPolicy
// (default "default"), botocore PolicyNameType (1-128 word characters), and
// "default" is the only policy a key has.
func policyName(p *string) error {
	if p == nil {
		return nil
	}
	if err := model.Length("policyName", *p, 1, 128); err != nil {
		return err
	}
	if *p != "default" {
		return awsproto.Errf("NotFoundException", "No such policy exists")
	}
	return nil
}

func (s *Server) getKeyPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in keyPolicyInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := model.Required("keyId", in.KeyId != nil); err != nil {
		return nil, err
	}
	if err := policyName(in.PolicyName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.resolveKeyOnly(*in.KeyId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Policy": s.policyOf(k), "PolicyName": "default"}, nil
}

func (s *Server) putKeyPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in keyPolicyInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := model.Required("keyId", in.KeyId != nil); err != nil {
		return nil, err
	}
	if err := model.Required("policy", in.Policy != nil); err != nil {
		return nil, err
	}
	if err := policyName(in.PolicyName); err != nil {
		return nil, err
	}
	if err := validatePolicy(*in.Policy); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.resolveKeyOnly(*in.KeyId)
	if err != nil {
		return nil, err
	}
	if k.manager == "AWS" {
		// AWS managed keys' policies cannot be changed (Developer Guide,
		// "AWS managed keys"); UnsupportedOperationException is among
		// PutKeyPolicy's errors in botocore kms.
		return nil, awsproto.Errf("UnsupportedOperationException", "You cannot change the key policy of an AWS managed key.")
	}
	k.policy = *in.Policy
	return nil, nil
}

func (s *Server) listKeyPolicies(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in keyIDInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := model.Required("keyId", in.KeyId != nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.resolveKeyOnly(*in.KeyId); err != nil {
		return nil, err
	}
	return map[string]any{"PolicyNames": []string{"default"}, "Truncated": false}, nil
}

// resolveKeyOnly resolves a key ID or key ARN (the key policy operations
// do not take aliases: botocore kms GetKeyPolicyRequest.KeyId).
func (s *Server) resolveKeyOnly(id string) (*key, error) {
	if strings.Contains(id, "alias/") {
		return nil, awsproto.Errf("NotFoundException", "Invalid keyId '%s'", id)
	}
	return s.resolve(id)
}

// KeyPolicy returns the policy of the key a key ARN, key ID, alias name or
// alias ARN names (the endpoint's policy evaluator reads it); ok is false
// when there is no such key.
func (s *Server) KeyPolicy(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.resolve(id)
	if err != nil || k == nil {
		return "", false
	}
	return s.policyOf(k), true
}
