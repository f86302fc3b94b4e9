package iamemu

import (
	"strings"
	"testing"
)

func TestValidatePolicyAcceptsRealDocuments(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		kind policyKind
	}{
		{"statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:iam::*:role/x"]}}`, identityPolicy},
		{"condition", `{"Version":"2012-10-17","Statement":[{"Sid":"TLS","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, identityPolicy},
		{"trust with external id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`, trustPolicy},
		{"2008 version", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, identityPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validatePolicy(tc.doc, tc.kind, "policyDocument"); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := validatePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"x"},"Action":"s3:GetObject"}]}`, trustPolicy, "d"); err == nil || !strings.Contains(err.Error(), "STS") {
		t.Fatalf("trust with non-STS action: %v", err)
	}
}

func TestPolicySizeIgnoresWhitespace(t *testing.T) {
	if n := policySize("{ \"a\" :\n\t1 }"); n != 7 {
		t.Fatalf("size %d", n)
	}
}

func FuzzValidatePolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`,
		`{"Version":1}`, `[]`, `null`, `{"Statement":[null]}`, `{`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a",1,true]}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:sts::123456789012:assumed-role/r/s"],"Service":"x.amazonaws.com.cn"},"Action":"sts:AssumeRole"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		validatePolicy(doc, identityPolicy, "policyDocument") // must not panic
		validatePolicy(doc, trustPolicy, "assumeRolePolicyDocument")
	})
}
