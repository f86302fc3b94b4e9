package acmemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"
	ec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/acmemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

func start(t *testing.T) (*localaws.Server, *clock.Fake, *acm.Client) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	return srv, clk, acm.NewFromConfig(localawstest.Config(srv, 1))
}

func status(t *testing.T, c *acm.Client, arn *string) types.CertificateStatus {
	t.Helper()
	return emutest.Must(c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn})).Certificate.Status
}

func TestRequestedCertificateIsIssuedAfterDNSValidation(t *testing.T) {
	_, clk, c := start(t)
	arn := emutest.Must(c.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("api.example.com"),
		ValidationMethod: types.ValidationMethodDns, SubjectAlternativeNames: []string{"www.example.com"}})).CertificateArn
	if !strings.HasPrefix(aws.ToString(arn), "arn:aws:acm:us-east-1:") || !strings.Contains(aws.ToString(arn), ":certificate/") {
		t.Errorf("arn %s", aws.ToString(arn))
	}
	d := emutest.Must(c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn})).Certificate
	// botocore acm CertificateStatus: PENDING_VALIDATION until validated.
	if d.Status != types.CertificateStatusPendingValidation || len(d.DomainValidationOptions) != 2 {
		t.Fatalf("new certificate %+v", d)
	}
	// DomainValidation.ResourceRecord: a CNAME for DNS validation.
	if rr := d.DomainValidationOptions[0].ResourceRecord; rr == nil || rr.Type != types.RecordTypeCname || !strings.HasSuffix(aws.ToString(rr.Name), ".api.example.com.") {
		t.Errorf("validation record %+v", rr)
	}
	clk.Advance(acmemu.IssueAfter)
	d = emutest.Must(c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: arn})).Certificate
	if d.Status != types.CertificateStatusIssued || d.IssuedAt == nil || d.NotAfter == nil || d.DomainValidationOptions[0].ValidationStatus != types.DomainStatusSuccess {
		t.Errorf("validated certificate %+v", d)
	}
}

func TestInvalidDomainTimesOutAfter72Hours(t *testing.T) {
	_, clk, c := start(t)
	arn := emutest.Must(c.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("api.example.invalid"), ValidationMethod: types.ValidationMethodDns})).CertificateArn
	clk.Advance(71 * time.Hour)
	if got := status(t, c, arn); got != types.CertificateStatusPendingValidation {
		t.Fatalf("after 71 h: %s", got)
	}
	clk.Advance(time.Hour)
	// ACM user guide: a request not validated within 72 hours times out.
	if got := status(t, c, arn); got != types.CertificateStatusValidationTimedOut {
		t.Fatalf("after 72 h: %s", got)
	}
}

func TestRequestCertificateValidation(t *testing.T) {
	_, _, c := start(t)
	cases := []struct {
		name string
		in   acm.RequestCertificateInput
		code string
		msg  string
	}{
		// botocore acm DomainNameString pattern.
		{"label starting with a hyphen", acm.RequestCertificateInput{DomainName: aws.String("-api.example.com")}, "ValidationException", "regular expression pattern"},
		{"no dot", acm.RequestCertificateInput{DomainName: aws.String("localhost")}, "ValidationException", "regular expression pattern"},
		{"too long", acm.RequestCertificateInput{DomainName: aws.String(strings.Repeat("a.", 127) + "com")}, "ValidationException", "253"},
		// ValidationMethod enum.
		{"validation method", acm.RequestCertificateInput{DomainName: aws.String("a.example.com"), ValidationMethod: "PHONE"}, "ValidationException", "[EMAIL, DNS, HTTP]"},
		// KeyAlgorithm enum.
		{"key algorithm", acm.RequestCertificateInput{DomainName: aws.String("a.example.com"), KeyAlgorithm: "RSA_512"}, "ValidationException", "keyAlgorithm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RequestCertificate(ctx, &tc.in)
			emutest.WantCode(t, err, tc.code, tc.msg)
		})
	}
}

func TestDescribeListAndDeleteCertificates(t *testing.T) {
	srv, _, c := start(t)
	emu := srv.Service("acm").(*acmemu.Server)
	issued := emu.AddCertificate("api.example.com", "ISSUED")
	emu.AddCertificate("old.example.com", "EXPIRED")
	for i := 0; i < 5; i++ {
		emutest.Must(c.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("x.example.com")}))
	}
	n := 0
	for p := acm.NewListCertificatesPaginator(c, &acm.ListCertificatesInput{}); p.HasMorePages(); {
		n += len(emutest.Must(p.NextPage(ctx)).CertificateSummaryList)
	}
	if n != 7 {
		t.Errorf("listed %d certificates, want 7", n)
	}
	only := emutest.Must(c.ListCertificates(ctx, &acm.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{types.CertificateStatusIssued}}))
	if len(only.CertificateSummaryList) != 1 || aws.ToString(only.CertificateSummaryList[0].CertificateArn) != issued {
		t.Errorf("ISSUED filter %+v", only.CertificateSummaryList)
	}
	emutest.Must(c.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(issued)}))
	_, err := c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(issued)})
	// botocore acm DescribeCertificate errors: ResourceNotFoundException.
	var nf *types.ResourceNotFoundException
	if emutest.WantCode(t, err, "ResourceNotFoundException", "Could not find certificate"); !errors.As(err, &nf) {
		t.Errorf("not the typed ResourceNotFoundException: %T", err)
	}
	// Arn pattern: an ARN of another service is InvalidArnException.
	_, err = c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String("arn:aws:iam::000000000000:role/x")})
	emutest.WantCode(t, err, "InvalidArnException", "")
	_, err = c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String("not-an-arn-at-all-really")})
	emutest.WantCode(t, err, "ValidationException", "certificateArn")
}

func TestCertificateUsedByAListenerIsInUse(t *testing.T) {
	srv, _, c := start(t)
	emu := srv.Service("acm").(*acmemu.Server)
	issued := emu.AddCertificate("api.example.com", "ISSUED")
	pending := emu.AddCertificate("new.example.com", "PENDING_VALIDATION")
	lbc := elb.NewFromConfig(localawstest.Config(srv, 1))
	subnets := emutest.Must(ec2.NewFromConfig(localawstest.Config(srv, 1)).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})).Subnets
	lb := emutest.Must(lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"),
		Subnets: []string{aws.ToString(subnets[0].SubnetId), aws.ToString(subnets[1].SubnetId)}})).LoadBalancers[0]
	listen := func(cert string) (*elb.CreateListenerOutput, error) {
		return lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(443),
			Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(cert)}},
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	}
	// botocore elbv2 CreateListener errors: CertificateNotFoundException; a
	// certificate not yet issued cannot serve.
	_, err := listen(pending)
	emutest.WantCode(t, err, "CertificateNotFound", pending)
	emutest.Must(listen(issued))
	d := emutest.Must(c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(issued)})).Certificate
	if len(d.InUseBy) != 1 || d.InUseBy[0] != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("InUseBy %v", d.InUseBy)
	}
	// botocore acm DeleteCertificate errors: ResourceInUseException.
	_, err = c.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(issued)})
	emutest.WantCode(t, err, "ResourceInUseException", "")

	emutest.Fail(srv, "acm", "DescribeCertificate", emutest.Always, "AccessDeniedException", 400, "not authorized")
	_, err = c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(issued)})
	emutest.WantCode(t, err, "AccessDeniedException", "")
}
