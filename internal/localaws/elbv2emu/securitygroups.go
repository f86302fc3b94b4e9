package elbv2emu

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// securityGroups checks a load balancer's security groups against the EC2
// emulation (when the EC2 given to New also serves the EC2 API): each must
// exist in the load balancer's VPC. None given means the VPC's default
// group, as for an Application Load Balancer created without any.
func (s *Server) securityGroups(ids []string, vpc string) ([]string, error) {
	// API reference CreateLoadBalancer SecurityGroups; an Application Load
	// Balancer takes up to 5 (quotas).
	if len(ids) > 5 {
		return nil, validation("A load balancer can have at most 5 security groups")
	}
	h, ok := s.ec2.(http.Handler)
	if !ok {
		return append([]string{}, ids...), nil
	}
	if len(ids) == 0 {
		groups := describeGroups(h, url.Values{"Filter.1.Name": {"vpc-id"}, "Filter.1.Value.1": {vpc},
			"Filter.2.Name": {"group-name"}, "Filter.2.Value.1": {"default"}})
		out := []string{}
		for _, g := range groups {
			out = append(out, g.GroupID)
		}
		return out, nil
	}
	for _, id := range ids {
		groups := describeGroups(h, url.Values{"GroupId.1": {id}})
		switch {
		case len(groups) == 0:
			return nil, errf("InvalidSecurityGroup", "Security group '%s' does not exist", id)
		case groups[0].VpcID != vpc:
			return nil, errf("InvalidSecurityGroup", "Security group '%s' does not belong to VPC '%s'", id, vpc)
		}
	}
	return append([]string{}, ids...), nil
}

// vpcExists asks the EC2 emulation (when the EC2 given to New serves the
// EC2 API) whether a VPC exists.
func (s *Server) vpcExists(id string) bool {
	h, ok := s.ec2.(http.Handler)
	if !ok {
		return true
	}
	var out struct {
		Vpcs []struct {
			VpcID string `xml:"vpcId"`
		} `xml:"vpcSet>item"`
	}
	return callEC2(h, url.Values{"Action": {"DescribeVpcs"}, "VpcId.1": {id}}, &out) && len(out.Vpcs) == 1
}

type ec2Group struct {
	GroupID string `xml:"groupId"`
	VpcID   string `xml:"vpcId"`
}

// describeGroups calls the EC2 emulation's DescribeSecurityGroups in
// process (no group on any error).
func describeGroups(h http.Handler, form url.Values) []ec2Group {
	form.Set("Action", "DescribeSecurityGroups")
	var out struct {
		Groups []ec2Group `xml:"securityGroupInfo>item"`
	}
	callEC2(h, form, &out)
	return out.Groups
}

// callEC2 calls the EC2 emulation in process and decodes its answer into
// out; false on any error.
func callEC2(h http.Handler, form url.Values, out any) bool {
	form.Set("Version", "2016-11-15")
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK && xml.Unmarshal(rec.Body.Bytes(), out) == nil
}
