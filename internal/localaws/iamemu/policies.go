package iamemu

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

type policyXML struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   *string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          []tag `xml:"Tags>member,omitempty"`
}

type policyVersionXML struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       string
}

// attachments counts the roles a policy is attached to. s.mu is held.
func (s *Server) attachments(arn string) int {
	n := 0
	for _, r := range s.roles {
		for _, a := range r.attached {
			if a == arn {
				n++
			}
		}
	}
	return n
}

func (s *Server) policyXML(p *policy, withTags bool) policyXML {
	out := policyXML{PolicyName: p.name, PolicyId: p.id, Arn: p.arn, Path: p.path, DefaultVersionId: p.defaultVersion,
		AttachmentCount: s.attachments(p.arn), IsAttachable: true, Description: p.description,
		CreateDate: isoTime(p.created), UpdateDate: isoTime(p.updated)}
	if withTags {
		out.Tags = p.tags
	}
	return out
}

func validateManaged(doc string) error {
	if err := validatePolicy(doc, identityPolicy, "policyDocument"); err != nil {
		return err
	}
	if policySize(doc) > maxManagedPolicy {
		return limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicy)
	}
	return nil
}

func (s *Server) createPolicy(f url.Values) (any, error) {
	name, err := required(f, "PolicyName")
	if err != nil {
		return nil, err
	}
	if err := validateName(name, "policyName", 128); err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	path := f.Get("Path")
	if err := validatePath(path, "path"); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	var desc *string
	if _, ok := f["Description"]; ok {
		d := f.Get("Description")
		if err := validateDescription(d); err != nil {
			return nil, err
		}
		desc = &d
	}
	tags := tagMembers(f)
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	if len(tags) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	if err := validateManaged(doc); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.policies {
		if strings.EqualFold(p.name, name) {
			return nil, alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	now := time.Now()
	p := &policy{name: name, path: path, id: newID("ANPA"), arn: "arn:aws:iam::" + s.account + ":policy" + path + name,
		description: desc, created: now, updated: now, tags: tags, nextVersion: 2, defaultVersion: "v1",
		versions: []*policyVersion{{id: "v1", document: doc, created: now}}}
	s.policies[p.arn] = p
	return struct{ Policy policyXML }{s.policyXML(p, true)}, nil
}

// lookupPolicy finds a customer managed policy by ARN. s.mu is held.
func (s *Server) lookupPolicy(f url.Values) (*policy, error) {
	arn, err := required(f, "PolicyArn")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return nil, invalidInput("ARN %s is not valid.", arn)
	}
	p := s.policies[arn]
	if p == nil {
		return nil, noSuchEntity("Policy %s was not found.", arn)
	}
	return p, nil
}

func (s *Server) getPolicy(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	return struct{ Policy policyXML }{s.policyXML(p, true)}, nil
}

func (s *Server) listPolicies(f url.Values) (any, error) {
	scope := f.Get("Scope")
	if scope != "" && scope != "All" && scope != "AWS" && scope != "Local" {
		return nil, validation(scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]")
	}
	prefix := f.Get("PathPrefix")
	if err := validatePathPrefix(prefix); err != nil {
		return nil, err
	}
	onlyAttached := f.Get("OnlyAttached") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*policy
	if scope != "AWS" {
		for _, p := range s.policies {
			if (prefix == "" || strings.HasPrefix(p.path, prefix)) && (!onlyAttached || s.attachments(p.arn) > 0) {
				list = append(list, p)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	pg, more, marker, err := page(f, list)
	if err != nil {
		return nil, err
	}
	out := struct {
		Policies    []policyXML `xml:"Policies>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{Policies: []policyXML{}, IsTruncated: more, Marker: marker}
	for _, p := range pg {
		out.Policies = append(out.Policies, s.policyXML(p, false))
	}
	return out, nil
}

func (s *Server) deletePolicy(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	if s.attachments(p.arn) > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	if len(p.versions) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	delete(s.policies, p.arn)
	return nil, nil
}

func (s *Server) createPolicyVersion(f url.Values) (any, error) {
	doc, err := required(f, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := validateManaged(doc); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	if len(p.versions) >= maxPolicyVersions {
		return nil, limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
	}
	now := time.Now()
	v := &policyVersion{id: "v" + strconv.Itoa(p.nextVersion), document: doc, created: now}
	p.nextVersion++
	p.versions = append(p.versions, v)
	if f.Get("SetAsDefault") == "true" {
		p.defaultVersion = v.id
	}
	p.updated = now
	return struct{ PolicyVersion policyVersionXML }{policyVersionXML{VersionId: v.id, IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)}}, nil
}

func (s *Server) version(f url.Values) (*policy, *policyVersion, error) {
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, nil, err
	}
	id, err := required(f, "VersionId")
	if err != nil {
		return nil, nil, err
	}
	for _, v := range p.versions {
		if v.id == id {
			return p, v, nil
		}
	}
	return nil, nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", p.arn, id)
}

func (s *Server) getPolicyVersion(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, v, err := s.version(f)
	if err != nil {
		return nil, err
	}
	return struct{ PolicyVersion policyVersionXML }{policyVersionXML{Document: urlEncode(v.document), VersionId: v.id,
		IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)}}, nil
}

func (s *Server) listPolicyVersions(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	var list []policyVersionXML
	for i := len(p.versions) - 1; i >= 0; i-- { // newest first, as IAM lists them
		v := p.versions[i]
		list = append(list, policyVersionXML{VersionId: v.id, IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)})
	}
	pg, more, marker, err := page(f, list)
	if err != nil {
		return nil, err
	}
	return struct {
		Versions    []policyVersionXML `xml:"Versions>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{append([]policyVersionXML{}, pg...), more, marker}, nil
}

func (s *Server) deletePolicyVersion(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, v, err := s.version(f)
	if err != nil {
		return nil, err
	}
	if p.defaultVersion == v.id {
		return nil, deleteConflict("Cannot delete the default version of a policy.")
	}
	for i, x := range p.versions {
		if x == v {
			p.versions = append(p.versions[:i:i], p.versions[i+1:]...)
			break
		}
	}
	return nil, nil
}

func (s *Server) tagPolicy(f url.Values) (any, error) {
	tags := tagMembers(f)
	if len(tags) == 0 {
		return nil, validation("null", "tags", "Member must not be null")
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(p.tags, tags)
	if err != nil {
		return nil, err
	}
	p.tags = merged
	return nil, nil
}

func (s *Server) untagPolicy(f url.Values) (any, error) {
	keys := members(f, "TagKeys")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	p.tags = dropTags(p.tags, keys)
	return nil, nil
}

func (s *Server) listPolicyTags(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(f)
	if err != nil {
		return nil, err
	}
	return tagPage(f, p.tags)
}
