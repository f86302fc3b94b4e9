package iamemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const (
	trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	perms = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::bucket/cdc/*"}]}`
)

func setup(t *testing.T) (*localaws.Server, *iam.Client) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	return srv, iam.NewFromConfig(localawstest.Config(srv, 0))
}

func createRole(t *testing.T, c *iam.Client, name string) *types.Role {
	t.Helper()
	out, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Role
}

func TestRoleLifecycle(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	before := time.Now().Add(-2 * time.Second)
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("opsctl-firehose-orders"), Path: aws.String("/opsctl/"), AssumeRolePolicyDocument: aws.String(trust),
		Description: aws.String("Firehose delivery for orders"), MaxSessionDuration: aws.Int32(7200),
		Tags: []types.Tag{{Key: aws.String("opsctl:managed"), Value: aws.String("true")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::000000000000:role/opsctl/opsctl-firehose-orders" || aws.ToString(r.Path) != "/opsctl/" ||
		!regexp.MustCompile(`^AROA[A-Z2-7]{17}$`).MatchString(aws.ToString(r.RoleId)) || aws.ToInt32(r.MaxSessionDuration) != 7200 ||
		r.CreateDate == nil || r.CreateDate.Before(before) || len(r.Tags) != 1 {
		t.Fatalf("created role: %+v", r)
	}
	// Like IAM, the trust policy comes back URL-encoded.
	if doc, _ := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument)); doc != trust || aws.ToString(r.AssumeRolePolicyDocument) == trust {
		t.Fatalf("AssumeRolePolicyDocument %q", aws.ToString(r.AssumeRolePolicyDocument))
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("OPSCTL-FIREHOSE-ORDERS"), AssumeRolePolicyDocument: aws.String(trust)}); err == nil {
		t.Fatal("role names must be unique case-insensitively")
	} else {
		var ex *types.EntityAlreadyExistsException
		if !errors.As(err, &ex) || !strings.Contains(ex.ErrorMessage(), "already exists") {
			t.Fatalf("duplicate: %v", err)
		}
	}

	if _, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("opsctl-firehose-orders"), Description: aws.String("changed")}); err != nil {
		t.Fatal(err)
	}
	newTrust := strings.Replace(trust, "firehose", "logs", 1)
	if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("opsctl-firehose-orders"), PolicyDocument: aws.String(newTrust)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-firehose-orders")})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if aws.ToString(got.Role.Description) != "changed" || doc != newTrust {
		t.Fatalf("after update: %q %q", aws.ToString(got.Role.Description), doc)
	}

	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("opsctl-firehose-orders"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("opsctl-firehose-orders"), TagKeys: []string{"opsctl:managed"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("opsctl-firehose-orders")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags: %v %+v", err, tags)
	}

	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("opsctl-firehose-orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-firehose-orders")})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) || nse.ErrorMessage() != "The role with name opsctl-firehose-orders cannot be found." {
		t.Fatalf("deleted role: %v", err)
	}
}

func TestRoleValidation(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	tests := []struct {
		name string
		in   *iam.CreateRoleInput
		code string
	}{
		{"name too long", &iam.CreateRoleInput{RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(trust)}, "ValidationError"},
		{"name with slash", &iam.CreateRoleInput{RoleName: aws.String("a/b"), AssumeRolePolicyDocument: aws.String(trust)}, "ValidationError"},
		{"path without trailing slash", &iam.CreateRoleInput{RoleName: aws.String("r"), Path: aws.String("/opsctl"), AssumeRolePolicyDocument: aws.String(trust)}, "ValidationError"},
		{"session too short", &iam.CreateRoleInput{RoleName: aws.String("r"), MaxSessionDuration: aws.Int32(60), AssumeRolePolicyDocument: aws.String(trust)}, "ValidationError"},
		{"trust without principal", &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)}, "MalformedPolicyDocument"},
		{"trust with resource", &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"x.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}`)}, "MalformedPolicyDocument"},
		{"trust not JSON", &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{`)}, "MalformedPolicyDocument"},
		{"trust too large", &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(strings.Replace(trust, `"sts:AssumeRole"`, `["sts:AssumeRole"`+strings.Repeat(`,"sts:TagSession"`, 130)+`]`, 1))}, "LimitExceeded"},
		{"aws: tag", &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trust), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}, "InvalidInput"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateRole(ctx, tc.in)
			if got := awsx.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("nothing must have been created: %v", err)
	}
}

func TestInlinePoliciesAreURLEncodedAndBlockDelete(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	createRole(t, c, "r")
	pretty := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kinesis:GetRecords\", \"Resource\": \"*\"}\n}"
	for _, doc := range []string{perms, pretty} { // the second put replaces the first
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("delivery"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("delivery")})
	if err != nil {
		t.Fatal(err)
	}
	enc := aws.ToString(got.PolicyDocument)
	if strings.ContainsAny(enc, " \n{\"") || !strings.Contains(enc, "%20") {
		t.Fatalf("document must be URL-encoded with %%20 for spaces: %q", enc)
	}
	if dec, _ := url.QueryUnescape(enc); dec != pretty {
		t.Fatalf("decoded %q", dec)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); awsx.ErrorCode(err) != "DeleteConflict" {
		t.Fatalf("delete with inline policy: %v", err)
	}
	if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("delivery")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("delivery")}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("deleted policy: %v", err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
}

func TestPutRolePolicyRejectsMalformedDocuments(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	createRole(t, c, "r")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[` +
		strings.TrimSuffix(strings.Repeat(`"arn:aws:s3:::bucket-with-a-long-name/some/prefix/*",`, 250), ",") + `]}]}`
	tests := []struct {
		name, doc, code, msg string
	}{
		{"invalid JSON", `{"Version":`, "MalformedPolicyDocument", "This policy contains invalid Json"},
		{"missing Version", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "MalformedPolicyDocument", "The policy must contain a valid version string"},
		{"missing Statement", `{"Version":"2012-10-17"}`, "MalformedPolicyDocument", "Syntax errors in policy."},
		{"bad Effect", `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}`, "MalformedPolicyDocument", "Syntax errors in policy."},
		{"principal in identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, "MalformedPolicyDocument", "Policy document should not specify a principal."},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, "MalformedPolicyDocument", "Policy statement must contain resources."},
		{"action without vendor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`, "MalformedPolicyDocument", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"resource not an ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}`, "MalformedPolicyDocument", `Resource bucket must be in ARN format or "*".`},
		{"over 10240 bytes per role", big, "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String(tc.doc)})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code || ae.ErrorMessage() != tc.msg {
				t.Fatalf("got %v, want %s: %s", err, tc.code, tc.msg)
			}
		})
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(strings.Repeat("p", 129)), PolicyDocument: aws.String(perms)}); awsx.ErrorCode(err) != "ValidationError" {
		t.Fatalf("long policy name: %v", err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("nobody"), PolicyName: aws.String("p"), PolicyDocument: aws.String(perms)}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("missing role: %v", err)
	}
}

func TestListsPaginateWithMarkers(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	for i := 0; i < 12; i++ {
		path := "/"
		if i%2 == 0 {
			path = "/opsctl/"
		}
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("role-%02d", i)), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trust),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
			if len(r.Tags) != 0 {
				t.Fatal("ListRoles must not return tags")
			}
		}
	}
	if len(names) != 12 || pages != 3 || names[0] != "role-00" || names[11] != "role-11" {
		t.Fatalf("%d roles in %d pages: %v", len(names), pages, names)
	}
	out, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/opsctl/"), MaxItems: aws.Int32(2)})
	if err != nil || len(out.Roles) != 2 || !out.IsTruncated || out.Marker == nil {
		t.Fatalf("MaxItems 2: %v %+v", err, out)
	}
	n := 0
	pp := iam.NewListRolesPaginator(c, &iam.ListRolesInput{PathPrefix: aws.String("/opsctl/")})
	for pp.HasMorePages() {
		o, err := pp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(o.Roles)
	}
	if n != 6 {
		t.Fatalf("PathPrefix: %d", n)
	}
	if _, err := c.ListRoles(ctx, &iam.ListRolesInput{Marker: aws.String("garbage")}); awsx.ErrorCode(err) != "InvalidInput" {
		t.Fatalf("bad marker: %v", err)
	}

	for i := 0; i < 7; i++ {
		c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("role-00"), PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(perms)})
	}
	var pols []string
	lp := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String("role-00")})
	for lp.HasMorePages() {
		o, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pols = append(pols, o.PolicyNames...)
	}
	if len(pols) != 7 {
		t.Fatalf("inline policies: %v", pols)
	}
}

func TestManagedPoliciesAttachDetachAndLimits(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	createRole(t, c, "r")
	cp, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("opsctl-s3-write"), Path: aws.String("/opsctl/"), PolicyDocument: aws.String(perms), Description: aws.String("write cdc prefix")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(cp.Policy.Arn)
	if arn != "arn:aws:iam::000000000000:policy/opsctl/opsctl-s3-write" || aws.ToString(cp.Policy.DefaultVersionId) != "v1" || !cp.Policy.IsAttachable {
		t.Fatalf("policy: %+v", cp.Policy)
	}
	if _, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("opsctl-s3-write"), PolicyDocument: aws.String(perms)}); awsx.ErrorCode(err) != "EntityAlreadyExists" {
		t.Fatalf("duplicate policy: %v", err)
	}
	for _, a := range []string{arn, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"} {
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(a)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::000000000000:policy/nope")}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("attach missing policy: %v", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("not-an-arn-at-all-really")}); awsx.ErrorCode(err) != "InvalidInput" {
		t.Fatalf("attach bad ARN: %v", err)
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || len(att.AttachedPolicies) != 2 || aws.ToString(att.AttachedPolicies[1].PolicyName) != "AWSLambdaBasicExecutionRole" {
		t.Fatalf("attached: %v %+v", err, att)
	}
	att, _ = c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r"), PathPrefix: aws.String("/opsctl/")})
	if len(att.AttachedPolicies) != 1 {
		t.Fatalf("PathPrefix: %+v", att.AttachedPolicies)
	}
	gp, _ := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if aws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Fatalf("attachment count %d", aws.ToInt32(gp.Policy.AttachmentCount))
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); awsx.ErrorCode(err) != "DeleteConflict" {
		t.Fatalf("delete role with attached policies: %v", err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); awsx.ErrorCode(err) != "DeleteConflict" {
		t.Fatalf("delete attached policy: %v", err)
	}

	// Versions: the document comes back URL-encoded; the default cannot be deleted.
	v2 := strings.Replace(perms, "PutObject", "PutObjectTagging", 1)
	if _, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(v2), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	pv, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document)); d != v2 || !pv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("version 2: %+v", pv.PolicyVersion)
	}
	if _, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")}); awsx.ErrorCode(err) != "DeleteConflict" {
		t.Fatalf("delete default version: %v", err)
	}
	vs, _ := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if len(vs.Versions) != 2 || aws.ToString(vs.Versions[0].VersionId) != "v2" {
		t.Fatalf("versions: %+v", vs.Versions)
	}

	for _, a := range []string{arn, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"} {
		if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(a)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("detach twice: %v", err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); awsx.ErrorCode(err) != "DeleteConflict" {
		t.Fatalf("delete policy with two versions: %v", err)
	}
	c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)}); awsx.ErrorCode(err) != "NoSuchEntity" {
		t.Fatalf("deleted policy: %v", err)
	}

	// At most 10 managed policies per role.
	for i := 0; i < 11; i++ {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 && awsx.ErrorCode(err) != "LimitExceeded" {
			t.Fatalf("11th policy: %v", err)
		}
	}
}

func TestFaultsAreRetriedAndInjectedCodesSurfaceThroughQuery(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t)
	emutest.Throttle(srv, "iam", "CreateRole", 1)
	emutest.ServerError(srv, "iam", "CreateRole", 1)
	createRole(t, c, "retried")
	emutest.WantCalls(t, srv, "iam", "CreateRole", emutest.Calls{Faulted: 2, OK: 1})
	emutest.Fail(srv, "iam", "PutRolePolicy", 1, "UnmodifiableEntity", 0, "")
	_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("retried"), PolicyName: aws.String("p"), PolicyDocument: aws.String(perms)})
	var ue *types.UnmodifiableEntityException
	if !errors.As(err, &ue) || ue.ErrorMessage() != "injected fault" {
		t.Fatalf("injected UnmodifiableEntity: %T %v", err, err)
	}
	emutest.Fail(srv, "iam", "GetRole", 1, "SomethingOdd", 0, "")
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("retried")}); awsx.ErrorCode(err) != "SomethingOdd" {
		t.Fatalf("unmodeled code: %v", err)
	}
}

// botocore iam service-2.json: the instance profile operations' errors and
// their codes/statuses (EntityAlreadyExists 409, LimitExceeded 409,
// DeleteConflict 409, NoSuchEntity 404); a profile holds one role.
func TestInstanceProfilesHoldOneRoleThatCannotBeDeletedWhileInside(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	createRole(t, c, "ec2-node")
	createRole(t, c, "other")
	p, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("nodes"), Path: aws.String("/opsctl/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil || aws.ToString(p.InstanceProfile.Arn) != "arn:aws:iam::000000000000:instance-profile/opsctl/nodes" || len(p.InstanceProfile.Tags) != 1 {
		t.Fatalf("create: %+v %v", p, err)
	}
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("NODES")})
	emutest.WantHTTP(t, err, "EntityAlreadyExists", 409)

	add := func(role string) error {
		_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("nodes"), RoleName: aws.String(role)})
		return err
	}
	if err := add("ec2-node"); err != nil {
		t.Fatal(err)
	}
	emutest.WantHTTP(t, add("ec2-node"), "EntityAlreadyExists", 409)
	emutest.WantHTTP(t, add("other"), "LimitExceeded", 409)
	emutest.WantHTTP(t, add("ghost"), "NoSuchEntity", 404)

	g, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("nodes")})
	if err != nil || len(g.InstanceProfile.Roles) != 1 || aws.ToString(g.InstanceProfile.Roles[0].RoleName) != "ec2-node" {
		t.Fatalf("get: %+v %v", g, err)
	}
	l, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("ec2-node")})
	if err != nil || len(l.InstanceProfiles) != 1 || aws.ToString(l.InstanceProfiles[0].InstanceProfileName) != "nodes" {
		t.Fatalf("list for role: %+v %v", l, err)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("ec2-node")})
	emutest.WantCode(t, err, "DeleteConflict", "must remove roles from instance profile first")
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("nodes")})
	emutest.WantHTTP(t, err, "DeleteConflict", 409)

	_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("nodes"), RoleName: aws.String("other")})
	emutest.WantHTTP(t, err, "NoSuchEntity", 404)
	if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("nodes"), RoleName: aws.String("ec2-node")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("nodes")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("nodes")})
	emutest.WantCode(t, err, "NoSuchEntity", "Instance Profile nodes cannot be found.")
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("ec2-node")}); err != nil {
		t.Fatalf("delete role after leaving the profile: %v", err)
	}
}

func TestCreateDatesReadTheEndpointClock(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	c := iam.NewFromConfig(localawstest.Config(srv, 1))
	if r := createRole(t, c, "clocked"); !aws.ToTime(r.CreateDate).Equal(t0) {
		t.Fatalf("role CreateDate %v, want %v", r.CreateDate, t0)
	}
	clk.Advance(time.Hour)
	p, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(perms)})
	if err != nil || !aws.ToTime(p.Policy.CreateDate).Equal(t0.Add(time.Hour)) {
		t.Fatalf("policy CreateDate %v %v", p.Policy.CreateDate, err)
	}
	clk.Advance(time.Hour)
	if _, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(perms), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.Policy.Arn})
	if err != nil || !aws.ToTime(g.Policy.UpdateDate).Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("policy UpdateDate %v %v", g.Policy.UpdateDate, err)
	}
	ip, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ip")})
	if err != nil || !aws.ToTime(ip.InstanceProfile.CreateDate).Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("instance profile CreateDate %v %v", ip.InstanceProfile.CreateDate, err)
	}
}

// Condition blocks and trust principals are validated as IAM does, through
// the SDK: a condition that is not an object, an unknown operator (the
// condition key written where the operator belongs, as in
// aws-cloudformation/cfn-lint#3751) and non-scalar values are "Syntax errors
// in policy."; condition keys need a vendor prefix; a malformed principal is
// "Invalid principal in policy".
func TestPolicyConditionsAndPrincipalsAreValidated(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	createRole(t, c, "r")
	stmt := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":` + cond + `}]}`
	}
	trustOf := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}]}`
	}
	syntax := "Syntax errors in policy."
	tests := []struct {
		name, doc string
		trust     bool
		msg       string // "" = accepted
	}{
		{"known operators", stmt(`{"StringEquals":{"aws:SourceAccount":"000000000000"},"ArnLike":{"aws:SourceArn":["arn:aws:cloudwatch:*"]},"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}`), false, ""},
		{"IfExists and set qualifiers", stmt(`{"StringLikeIfExists":{"aws:userid":"A*"},"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]},"ForAnyValue:StringLike":{"aws:TagKeys":"x*"},"Null":{"aws:TokenIssueTime":"true"}}`), false, ""},
		{"condition is a list", stmt(`[{"StringEquals":{"aws:SourceAccount":"1"}}]`), false, syntax},
		{"condition is a string", stmt(`"StringEquals"`), false, syntax},
		{"unknown operator", stmt(`{"StringEqualz":{"aws:SourceAccount":"1"}}`), false, syntax},
		{"key where the operator belongs", stmt(`{"servicecatalog:accountLevel":"self"}`), false, syntax},
		{"NullIfExists is not an operator", stmt(`{"NullIfExists":{"aws:userid":"true"}}`), false, syntax},
		{"operator value not an object", stmt(`{"StringEquals":"aws:SourceAccount"}`), false, syntax},
		{"condition value an object", stmt(`{"StringEquals":{"aws:SourceAccount":{"a":"b"}}}`), false, syntax},
		{"condition key without vendor", stmt(`{"StringEquals":{"SourceAccount":"1"}}`), false, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"service principal", trustOf(`{"Service":["ec2.amazonaws.com","events.amazonaws.com"]}`), true, ""},
		{"account principals", trustOf(`{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/r","arn:aws:sts::123456789012:assumed-role/r/s"]}`), true, ""},
		{"service without domain", trustOf(`{"Service":"lambda"}`), true, `Invalid principal in policy: "SERVICE":"lambda"`},
		{"short account id", trustOf(`{"AWS":"12345"}`), true, `Invalid principal in policy: "AWS":"12345"`},
		{"ARN of a non-principal", trustOf(`{"AWS":"arn:aws:s3:::bucket"}`), true, `Invalid principal in policy: "AWS":"arn:aws:s3:::bucket"`},
		{"unknown principal type", trustOf(`{"Users":"x"}`), true, `Invalid principal in policy: "Users"`},
		{"principal value an object", trustOf(`{"AWS":{"id":"123456789012"}}`), true, syntax},
		{"empty principal object", trustOf(`{}`), true, syntax},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.trust {
				_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("t%d", i)), AssumeRolePolicyDocument: aws.String(tc.doc)})
			} else {
				_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String(tc.doc)})
			}
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("valid document rejected: %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "MalformedPolicyDocument" || ae.ErrorMessage() != tc.msg {
				t.Fatalf("got %v, want MalformedPolicyDocument: %s", err, tc.msg)
			}
		})
	}
}
