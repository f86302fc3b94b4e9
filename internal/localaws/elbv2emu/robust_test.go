package elbv2emu_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Every operation answers odd input with an AWS error, never a 5xx (a panic
// in a handler would be one).
func TestOddInputNeverFailsTheServer(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	tg := f.tg("api", nil)
	l := f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	ops := []string{"CreateLoadBalancer", "DescribeLoadBalancers", "DeleteLoadBalancer", "ModifyLoadBalancerAttributes",
		"DescribeLoadBalancerAttributes", "SetSecurityGroups", "CreateTargetGroup", "DescribeTargetGroups", "ModifyTargetGroup",
		"DeleteTargetGroup", "ModifyTargetGroupAttributes", "DescribeTargetGroupAttributes", "CreateListener", "DescribeListeners",
		"ModifyListener", "DeleteListener", "CreateRule", "DescribeRules", "ModifyRule", "SetRulePriorities", "DeleteRule",
		"RegisterTargets", "DeregisterTargets", "DescribeTargetHealth", "AddTags", "RemoveTags", "DescribeTags"}
	arns := url.Values{
		"LoadBalancerArn": {aws.ToString(lb.LoadBalancerArn)}, "TargetGroupArn": {aws.ToString(tg.TargetGroupArn)},
		"ListenerArn": {aws.ToString(l.ListenerArn)}, "ResourceArns.member.1": {aws.ToString(l.ListenerArn)},
	}
	forms := []url.Values{
		{},
		{"Name": {""}, "Subnets.member.1": {""}, "Port": {"x"}, "PageSize": {"0"}, "Marker": {"%%%"}},
		arns,
		merge(arns, url.Values{"Attributes.member.1.Key": {""}, "Targets.member.1.Id": {""}, "Targets.member.1.Port": {"-5"},
			"Conditions.member.1.Field": {"host-header"}, "Priority": {"0"}, "Actions.member.1.Type": {"forward"},
			"DefaultActions.member.1.Type": {"redirect"}, "Tags.member.1.Key": {""}, "TagKeys.member.1": {""},
			"RulePriorities.member.1.RuleArn": {"arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/x"}}),
		merge(arns, url.Values{"Actions.member.1.Type": {"forward"}, "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight": {"5000"},
			"Conditions.member.1.Field": {"path-pattern"}, "Conditions.member.1.PathPatternConfig.Values.member.1": {strings.Repeat("/", 200)},
			"Priority": {"70000"}, "Protocol": {"HTTPS"}, "Port": {"443"}, "Certificates.member.1.CertificateArn": {"arn:aws:acm:x"},
			"DefaultActions.member.1.Type": {"fixed-response"}, "Matcher.HttpCode": {"200-"}, "HealthCheckIntervalSeconds": {"2"}}),
	}
	for _, op := range ops {
		for _, form := range forms {
			body := merge(form, url.Values{"Action": {op}, "Version": {"2015-12-01"}}).Encode()
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=x")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", op, body, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%s with %s: HTTP %d %s", op, body, resp.StatusCode, b)
			}
		}
	}
}

func merge(a, b url.Values) url.Values {
	out := url.Values{}
	for _, m := range []url.Values{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
