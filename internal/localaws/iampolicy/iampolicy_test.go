package iampolicy

import (
	"strings"
	"testing"
)

// Sources of the expected outcomes (IAM User Guide):
//   [eval]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
//   [cross] https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
//   [ops]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//   [multi] https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
//   [vars]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
//   [res]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
//   [kms]   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
//   [deputy] https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html

const role = "arn:aws:iam::111122223333:role/opsctl-firehose"

func req(action, resource string, ctx map[string][]string) Request {
	return Request{Principal: Principal{Type: "AWS", ID: role}, Action: action, Resource: resource, Context: ctx}
}

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func TestEvaluateIdentityPolicy(t *testing.T) {
	cases := []struct {
		name   string
		doc    string
		req    Request
		effect Effect
	}{
		// [eval]: "By default, all requests are implicitly denied".
		{"nothing allows: implicit deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
			req("s3:PutObject", "arn:aws:s3:::b/k", nil), ImplicitDeny},
		// [eval]: "An explicit deny in any policy overrides any allows."
		{"explicit deny overrides allow", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}`,
			req("s3:PutObject", "arn:aws:s3:::b/k", nil), ExplicitDeny},
		// IAM action names are case-insensitive ([reference_policies_elements_action]).
		{"action case-insensitive", `{"Statement":{"Effect":"Allow","Action":"S3:putobject","Resource":"*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/k", nil), Allow},
		{"action wildcard", `{"Statement":{"Effect":"Allow","Action":"kinesis:Get*","Resource":"*"}}`,
			req("kinesis:GetRecords", "arn:aws:kinesis:us-east-1:111122223333:stream/s", nil), Allow},
		{"NotAction excludes", `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			req("iam:CreateRole", "*", nil), ImplicitDeny},
		{"NotAction allows the rest", `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			req("s3:GetObject", "arn:aws:s3:::b/k", nil), Allow},
		// [res]: resource ARNs are case-sensitive.
		{"resource case-sensitive", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::B/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/k", nil), ImplicitDeny},
		{"resource prefix wildcard", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/cdc/orders/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/cdc/orders/2026/12/04/x.gz", nil), Allow},
		{"resource outside the prefix", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/cdc/orders/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/cdc/other/x.gz", nil), ImplicitDeny},
		// The bucket ARN does not match its objects' ARN pattern and vice versa.
		{"bucket is not an object", `{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b/*"}}`,
			req("s3:ListBucket", "arn:aws:s3:::b", nil), ImplicitDeny},
		// [res]: a wildcard in one ARN component does not match the next
		// component (ArnLike compares the six components one by one).
		{"wildcard does not cross an ARN colon", `{"Statement":{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:111122223333:log-group:g*"}}`,
			req("logs:PutLogEvents", "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s", nil), Allow},
		{"region wildcard", `{"Statement":{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:111122223333:log-group:g:*"}}`,
			req("logs:PutLogEvents", "arn:aws:logs:eu-west-1:111122223333:log-group:g:log-stream:s", nil), Allow},
		{"NotResource", `{"Statement":{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::other/k", nil), ExplicitDeny},
		// [vars]: ${aws:username}-style variables resolve from the request.
		{"policy variable in resource", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/data/k", map[string][]string{"aws:PrincipalTag/team": {"data"}}), Allow},
		// [vars]: "If the key is not present ... the policy variable does not
		// resolve" and the statement does not match.
		{"unresolved variable matches nothing", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/data/k", nil), ImplicitDeny},
		// [vars]: default values ${key, 'default'}.
		{"variable default value", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/shared/k", nil), Allow},
		// [vars]: ${*} is a literal asterisk.
		{"escaped asterisk is literal", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${*}"}}`,
			req("s3:PutObject", "arn:aws:s3:::b/x", nil), ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustParse(t, c.doc).Evaluate(Identity, c.req).Effect; got != c.effect {
				t.Errorf("Evaluate = %v, want %v", got, c.effect)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	stream := "arn:aws:firehose:us-east-1:111122223333:deliverystream/orders"
	cases := []struct {
		name string
		cond string
		ctx  map[string][]string
		want bool
	}{
		// [deputy]: aws:SourceArn / aws:SourceAccount on a trust policy.
		{"StringEquals matches", `{"StringEquals":{"aws:SourceAccount":"111122223333"}}`, map[string][]string{"aws:SourceAccount": {"111122223333"}}, true},
		{"StringEquals other account", `{"StringEquals":{"aws:SourceAccount":"111122223333"}}`, map[string][]string{"aws:SourceAccount": {"444455556666"}}, false},
		// Context key names are case-insensitive ([reference_policies_condition-keys]).
		{"key name case-insensitive", `{"StringEquals":{"AWS:sourceaccount":"111122223333"}}`, map[string][]string{"aws:SourceAccount": {"111122223333"}}, true},
		// [ops] Important: a key missing from the context makes the condition false...
		{"missing key is false", `{"StringEquals":{"aws:SourceArn":"` + stream + `"}}`, nil, false},
		// ... but true for negated operators.
		{"missing key is true for a negated operator", `{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}`, nil, true},
		// [ops] ...IfExists: "If the policy key is present ... evaluate the condition ... If the key is not present, evaluates to true".
		{"IfExists with missing key", `{"ArnLikeIfExists":{"aws:SourceArn":"` + stream + `"}}`, nil, true},
		{"IfExists with a present, non-matching key", `{"ArnLikeIfExists":{"aws:SourceArn":"` + stream + `"}}`, map[string][]string{"aws:SourceArn": {stream + "-other"}}, false},
		// [multi]: several values for one key are ORed ...
		{"values ORed", `{"StringEquals":{"aws:SourceAccount":["444455556666","111122223333"]}}`, map[string][]string{"aws:SourceAccount": {"111122223333"}}, true},
		// ... and NORed for a negated operator.
		{"negated values NORed", `{"StringNotEquals":{"aws:SourceAccount":["444455556666","111122223333"]}}`, map[string][]string{"aws:SourceAccount": {"111122223333"}}, false},
		// [multi]: several keys / operators are ANDed.
		{"keys ANDed", `{"StringEquals":{"aws:SourceAccount":"111122223333"},"ArnLike":{"aws:SourceArn":"` + stream + `"}}`,
			map[string][]string{"aws:SourceAccount": {"111122223333"}, "aws:SourceArn": {"arn:aws:firehose:us-east-1:111122223333:deliverystream/other"}}, false},
		{"ArnLike wildcard", `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:opsctl-*"}}`,
			map[string][]string{"aws:SourceArn": {"arn:aws:cloudwatch:us-east-1:111122223333:alarm:opsctl-orders"}}, true},
		{"ArnEquals exact", `{"ArnEquals":{"aws:SourceArn":"` + stream + `"}}`, map[string][]string{"aws:SourceArn": {stream}}, true},
		// S3's TLS-only statement ([s3 example bucket policies]): Bool aws:SecureTransport false.
		{"Bool false over TLS", `{"Bool":{"aws:SecureTransport":"false"}}`, map[string][]string{"aws:SecureTransport": {"true"}}, false},
		{"Bool false over HTTP", `{"Bool":{"aws:SecureTransport":"false"}}`, map[string][]string{"aws:SecureTransport": {"false"}}, true},
		{"Bool with a JSON boolean", `{"Bool":{"aws:SecureTransport":false}}`, map[string][]string{"aws:SecureTransport": {"false"}}, true},
		{"StringLike wildcard", `{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::b/cdc/*"}}`,
			map[string][]string{"kms:EncryptionContext:aws:s3:arn": {"arn:aws:s3:::b/cdc/x"}}, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"kms:ViaService":"S3.US-EAST-1.AMAZONAWS.COM"}}`,
			map[string][]string{"kms:ViaService": {"s3.us-east-1.amazonaws.com"}}, true},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, map[string][]string{"s3:max-keys": {"10"}}, true},
		{"NumericGreaterThan not met", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, map[string][]string{"s3:max-keys": {"10"}}, false},
		{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`, map[string][]string{"aws:CurrentTime": {"2026-12-04T10:00:00Z"}}, true},
		{"IpAddress CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, map[string][]string{"aws:SourceIp": {"203.0.113.7"}}, true},
		{"NotIpAddress CIDR", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, map[string][]string{"aws:SourceIp": {"203.0.113.7"}}, false},
		// [ops] Null: true means "the key is absent".
		{"Null true with key absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{"Null true with key present", `{"Null":{"aws:TokenIssueTime":"true"}}`, map[string][]string{"aws:TokenIssueTime": {"x"}}, false},
		{"Null false with key present", `{"Null":{"aws:TokenIssueTime":"false"}}`, map[string][]string{"aws:TokenIssueTime": {"x"}}, true},
		// [multi]: ForAllValues is true when every request value matches,
		// and when the key is absent; ForAnyValue needs one match.
		{"ForAllValues all match", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, map[string][]string{"aws:TagKeys": {"env"}}, true},
		{"ForAllValues one outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, map[string][]string{"aws:TagKeys": {"env", "cost"}}, false},
		{"ForAllValues absent key", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}`, nil, true},
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, map[string][]string{"aws:TagKeys": {"cost", "env"}}, true},
		{"ForAnyValue absent key", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, nil, false},
		{"policy variable in a condition value", `{"StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}`,
			map[string][]string{"aws:ResourceAccount": {"111122223333"}, "aws:PrincipalAccount": {"111122223333"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":` + c.cond + `}}`
			got := mustParse(t, doc).Evaluate(Identity, req("s3:PutObject", "arn:aws:s3:::b/k", c.ctx)).Effect == Allow
			if got != c.want {
				t.Errorf("condition %s with %v: got %v, want %v", c.cond, c.ctx, got, c.want)
			}
		})
	}
}

func TestTrustPolicy(t *testing.T) {
	// [deputy]: a service principal's trust limited to one source ARN and account.
	trust := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"},
		"ArnLike":{"aws:SourceArn":"arn:aws:firehose:us-east-1:111122223333:deliverystream/orders"}}}]}`)
	svc := func(name, src string) Request {
		return Request{Principal: Principal{Type: "Service", ID: name}, Action: "sts:AssumeRole", Resource: role,
			Context: map[string][]string{"aws:SourceAccount": {"111122223333"}, "aws:SourceArn": {src}}}
	}
	cases := []struct {
		name string
		req  Request
		want Effect
	}{
		{"the named stream may assume", svc("firehose.amazonaws.com", "arn:aws:firehose:us-east-1:111122223333:deliverystream/orders"), Allow},
		{"another stream may not (confused deputy)", svc("firehose.amazonaws.com", "arn:aws:firehose:us-east-1:111122223333:deliverystream/other"), ImplicitDeny},
		{"another service may not", svc("logs.amazonaws.com", "arn:aws:firehose:us-east-1:111122223333:deliverystream/orders"), ImplicitDeny},
		{"a role of the account is not named", Request{Principal: Principal{Type: "AWS", ID: "arn:aws:iam::111122223333:role/x"}, Action: "sts:AssumeRole", Resource: role}, ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Authorize(Set{Resource: trust}, c.req).Effect; got != c.want {
				t.Errorf("Authorize = %v, want %v", got, c.want)
			}
		})
	}
	// A resource policy statement with no Principal never applies.
	noPrincipal := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`)
	if got := Authorize(Set{Resource: noPrincipal}, svc("firehose.amazonaws.com", "x")).Effect; got != ImplicitDeny {
		t.Errorf("statement without Principal in a resource policy: %v, want implicit deny", got)
	}
}

func TestAuthorizeCombination(t *testing.T) {
	allowPut := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}}`)
	tlsOnly := mustParse(t, `{"Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
		"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
	bucketAllowsRole := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+role+`"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}}`)
	bucketAllowsAccount := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}}`)
	tls := map[string][]string{"aws:SecureTransport": {"true"}}
	plain := map[string][]string{"aws:SecureTransport": {"false"}}
	cases := []struct {
		name  string
		set   Set
		req   Request
		want  Effect
		where string
	}{
		// [eval]: same account — an allow in either policy type suffices.
		{"identity allows, bucket policy silent", Set{Identity: []*Policy{allowPut}, Resource: tlsOnly}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), Allow, ""},
		{"bucket policy allows, identity silent", Set{Resource: bucketAllowsRole}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), Allow, ""},
		{"bucket policy's deny wins", Set{Identity: []*Policy{allowPut}, Resource: tlsOnly}, req("s3:PutObject", "arn:aws:s3:::b/k", plain), ExplicitDeny, "resource-based policy"},
		{"nothing allows", Set{Resource: tlsOnly}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), ImplicitDeny, "identity-based policy"},
		// [cross]: across accounts both must allow.
		{"cross-account needs the identity policy", Set{Resource: bucketAllowsAccount, CrossAccount: true}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), ImplicitDeny, "identity-based policy"},
		{"cross-account needs the resource policy", Set{Identity: []*Policy{allowPut}, CrossAccount: true}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), ImplicitDeny, "resource-based policy"},
		{"cross-account with both", Set{Identity: []*Policy{allowPut}, Resource: bucketAllowsAccount, CrossAccount: true}, req("s3:PutObject", "arn:aws:s3:::b/k", tls), Allow, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Authorize(c.set, c.req)
			if r.Effect != c.want || r.Where != c.where {
				t.Errorf("Authorize = %v (%q), want %v (%q)", r.Effect, r.Where, c.want, c.where)
			}
		})
	}
}

func TestKeyPolicy(t *testing.T) {
	key := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	// [kms]: the default key policy delegates to IAM through the account root.
	delegating := mustParse(t, `{"Statement":{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}`)
	naming := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"`+role+`"},"Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"*"}}`)
	silent := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/other"},"Action":"kms:*","Resource":"*"}}`)
	iamAllows := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"kms:GenerateDataKey","Resource":"`+key+`"}}`)
	r := req("kms:GenerateDataKey", key, nil)
	cases := []struct {
		name string
		set  Set
		want Effect
	}{
		{"delegated and IAM allows", Set{Identity: []*Policy{iamAllows}, Resource: delegating, KeyPolicy: true}, Allow},
		{"delegated but IAM silent", Set{Resource: delegating, KeyPolicy: true}, ImplicitDeny},
		{"key policy names the role", Set{Resource: naming, KeyPolicy: true}, Allow},
		// [kms]: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access".
		{"IAM allows but the key policy does not", Set{Identity: []*Policy{iamAllows}, Resource: silent, KeyPolicy: true}, ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Authorize(c.set, r).Effect; got != c.want {
				t.Errorf("Authorize = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAccessDeniedMessage(t *testing.T) {
	// The wording of AWS's AccessDenied since 2021 ("Troubleshoot access
	// denied error messages", IAM User Guide).
	err := Check(Set{}, req("s3:PutObject", "arn:aws:s3:::b/k", nil))
	want := "User: " + role + " is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:PutObject action"
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v, want %q", err, want)
	}
	deny := mustParse(t, `{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`)
	err = Check(Set{Resource: deny}, req("s3:PutObject", "arn:aws:s3:::b/k", nil))
	if err == nil || !strings.HasSuffix(err.Error(), "with an explicit deny in a resource-based policy") {
		t.Fatalf("Check = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{}`, `{"Statement":[]}`, `{"Statement":"x"}`,
		`{"Statement":{"Effect":"Maybe","Action":"s3:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"b"}}}`,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"a":"true"}}}}`,
		`{"Statement":{"Effect":"Allow","Action":{"x":1},"Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":"someone","Action":"s3:*","Resource":"*"}}`,
	} {
		if _, err := Parse(doc); err == nil {
			t.Errorf("Parse(%q) accepted", doc)
		}
	}
}

func TestGlobIsLinear(t *testing.T) {
	// A hostile pattern must not take exponential time.
	p := strings.Repeat("*a", 40) + "b"
	s := strings.Repeat("a", 4000)
	if Glob(p, s) {
		t.Fatal("matched")
	}
	if !Glob("a*b?c", "axxxbyc") || Glob("a*b?c", "axxxbc") {
		t.Fatal("Glob basics")
	}
}

func FuzzParseEvaluate(f *testing.F) {
	f.Add(`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:x}*","Condition":{"ForAnyValue:StringLikeIfExists":{"k":["a*"]}}}}`, "s3:PutObject", "arn:aws:s3:::b/k")
	f.Fuzz(func(t *testing.T, doc, action, resource string) {
		p, err := Parse(doc)
		if err != nil {
			return
		}
		_ = p.Evaluate(Identity, Request{Principal: Principal{Type: "AWS", ID: role}, Action: action, Resource: resource,
			Context: map[string][]string{"k": {resource}}})
		_ = Authorize(Set{Identity: []*Policy{p}, Resource: p, KeyPolicy: true}, Request{Action: action, Resource: resource})
	})
}
