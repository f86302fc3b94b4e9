package kmsemu_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/opsctl/opsctl/internal/localaws/emutest"
)

// Key policies (AWS KMS Developer Guide, "Key policies in AWS KMS"): every
// key has exactly one policy, named "default"; a key created without one
// gets the default key policy, whose one statement lets the account's root
// principal (and so its IAM policies) use the key ("Default key policy").
func TestKeyPolicyDefaultGetPut(t *testing.T) {
	srv, c := start(t)
	k := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	got := emutest.Must(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId}))
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Principal map[string]string
			Action    string
			Resource  string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(got.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.PolicyName) != "default" || len(doc.Statement) != 1 || doc.Statement[0].Sid != "Enable IAM User Permissions" ||
		doc.Statement[0].Principal["AWS"] != "arn:aws:iam::"+srv.Account+":root" || doc.Statement[0].Action != "kms:*" {
		t.Fatalf("default key policy %s", aws.ToString(got.Policy))
	}
	names := emutest.Must(c.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: k.Arn}))
	if len(names.PolicyNames) != 1 || names.PolicyNames[0] != "default" {
		t.Fatalf("ListKeyPolicies %v", names.PolicyNames)
	}
	mine := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + srv.Account + `:role/r"},"Action":"kms:Decrypt","Resource":"*"}]}`
	emutest.Must(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default"), Policy: aws.String(mine)}))
	if p := aws.ToString(emutest.Must(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.Arn})).Policy); p != mine {
		t.Fatalf("policy after Put: %s", p)
	}
	// CreateKey takes the policy too.
	k2 := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(mine)})).KeyMetadata
	if p := aws.ToString(emutest.Must(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k2.KeyId})).Policy); p != mine {
		t.Fatalf("CreateKey policy: %s", p)
	}
}

func TestKeyPolicyErrors(t *testing.T) {
	_, c := start(t)
	k := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	managed := emutest.Must(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/s3")})).KeyMetadata
	ok := `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`
	cases := []struct {
		name string
		in   kms.PutKeyPolicyInput
		code string
	}{
		// botocore kms: MalformedPolicyDocumentException "The request was
		// rejected because the specified policy is not syntactically or
		// semantically correct."
		{"not JSON", kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String("{")}, "MalformedPolicyDocumentException"},
		{"bad effect", kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(`{"Statement":{"Effect":"Perhaps","Principal":"*","Action":"kms:*","Resource":"*"}}`)}, "MalformedPolicyDocumentException"},
		// botocore kms PolicyType: pattern [\u0009\u000A\u000D\u0020-\u00FF]+.
		{"character outside the pattern", kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(strings.Replace(ok, "kms:*", "kms:*\u2603", 1))}, "ValidationException"},
		// botocore kms PolicyNameType: 1-128; only "default" exists.
		{"other policy name", kms.PutKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("mine"), Policy: aws.String(ok)}, "NotFoundException"},
		{"unknown key", kms.PutKeyPolicyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab"), Policy: aws.String(ok)}, "NotFoundException"},
		{"AWS managed key", kms.PutKeyPolicyInput{KeyId: managed.KeyId, Policy: aws.String(ok)}, "UnsupportedOperationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := c.PutKeyPolicy(ctx, &in)
			emutest.WantCode(t, err, tc.code, "")
		})
	}
	// The AWS managed key's policy allows use only through its service.
	p := aws.ToString(emutest.Must(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: managed.KeyId})).Policy)
	if !strings.Contains(p, `"kms:ViaService":"s3.`) || !strings.Contains(p, `"kms:CallerAccount"`) {
		t.Fatalf("AWS managed key policy %s", p)
	}
}
