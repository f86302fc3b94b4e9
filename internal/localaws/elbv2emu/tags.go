package elbv2emu

import (
	"net/http"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// tagsOf returns the tags of the resource arn (a load balancer, target
// group, listener or rule), or the resource type's not-found error.
func (s *Server) tagsOf(arn string) (map[string]string, error) {
	if lb := s.lbs[arn]; lb != nil {
		return lb.tags, nil
	}
	if tg := s.tgs[arn]; tg != nil {
		return tg.tags, nil
	}
	if l := s.listeners[arn]; l != nil {
		return l.tags, nil
	}
	if r := s.rules[arn]; r != nil {
		return r.tags, nil
	}
	switch kind := arnKind(arn); kind {
	case "targetgroup":
		return nil, tgNotFound()
	case "listener":
		return nil, listenerNotFound()
	case "listener-rule":
		return nil, ruleNotFound()
	case "loadbalancer":
		return nil, lbNotFound()
	}
	return nil, validation("'%s' is not a valid Elastic Load Balancing resource ARN", arn)
}

// arnKind is the resource type of an elasticloadbalancing ARN
// (arn:aws:elasticloadbalancing:REGION:ACCOUNT:KIND/...).
func arnKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "elasticloadbalancing" {
		return ""
	}
	kind, _, _ := strings.Cut(parts[5], "/")
	return kind
}

func (s *Server) addTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArns []string `query:",required"`
		Tags         []Tag    `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	add, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []map[string]string
	for _, a := range in.ResourceArns {
		cur, err := s.tagsOf(a)
		if err != nil {
			return nil, err
		}
		targets = append(targets, cur)
	}
	for _, cur := range targets {
		trial := awsproto.CopyTags(cur)
		if err := tagRules.Apply(trial, add); err != nil {
			return nil, err
		}
	}
	for _, cur := range targets {
		tagRules.Apply(cur, add)
	}
	return &empty{}, nil
}

func (s *Server) removeTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArns []string `query:",required"`
		TagKeys      []string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range in.ResourceArns {
		if _, err := s.tagsOf(a); err != nil {
			return nil, err
		}
	}
	for _, a := range in.ResourceArns {
		cur, _ := s.tagsOf(a)
		awsproto.Untag(cur, in.TagKeys)
	}
	return &empty{}, nil
}

// TagDescription is the wire TagDescription shape.
type TagDescription struct {
	ResourceArn string
	Tags        []Tag `xml:"Tags>member"`
}

func (s *Server) describeTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArns []string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore elbv2 DescribeTagsInput.ResourceArns: the API reference
	// allows up to 20.
	if err := model.Size("resourceArns", in.ResourceArns, len(in.ResourceArns), 1, 20); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &struct {
		TagDescriptions []TagDescription `xml:"TagDescriptions>member"`
	}{TagDescriptions: []TagDescription{}}
	for _, a := range in.ResourceArns {
		cur, err := s.tagsOf(a)
		if err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, TagDescription{ResourceArn: a, Tags: awsproto.TagList(cur)})
	}
	return out, nil
}
