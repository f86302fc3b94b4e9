package iamemu

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
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

func (s *Server) createPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		PolicyName     string `query:",required"`
		PolicyDocument string `query:",required"`
		Path           string
		Description    *string
		Tags           []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := in.PolicyName
	if err := validateName(name, "policyName", 128); err != nil {
		return nil, err
	}
	if err := validatePath(in.Path, "path"); err != nil {
		return nil, err
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	if in.Description != nil {
		if err := validateDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	if err := validateManaged(in.PolicyDocument); err != nil {
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
		description: in.Description, created: now, updated: now, tags: in.Tags, nextVersion: 2, defaultVersion: "v1",
		versions: []*policyVersion{{id: "v1", document: in.PolicyDocument, created: now}}}
	s.policies[p.arn] = p
	return struct{ Policy policyXML }{s.policyXML(p, true)}, nil
}

// policyInput is the PolicyArn of the operations on one managed policy, with
// the members some of them add.
type policyInput struct {
	PolicyArn string `query:",required"`
	VersionId *string
	TagKeys   []string
	Marker    string
	MaxItems  *int
}

// lookupPolicy finds a customer managed policy by ARN. s.mu is held.
func (s *Server) lookupPolicy(arn string) (*policy, error) {
	if !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":policy/") {
		return nil, invalidInput("ARN %s is not valid.", arn)
	}
	p := s.policies[arn]
	if p == nil {
		return nil, noSuchEntity("Policy %s was not found.", arn)
	}
	return p, nil
}

// withPolicy decodes a policyInput and looks its policy up, holding s.mu
// until the returned unlock.
func (s *Server) withPolicy(dec awsproto.Decoder) (*policy, *policyInput, func(), error) {
	var in policyInput
	if err := dec(&in); err != nil {
		return nil, nil, nil, err
	}
	s.mu.Lock()
	p, err := s.lookupPolicy(in.PolicyArn)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, nil, err
	}
	return p, &in, s.mu.Unlock, nil
}

func (s *Server) getPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, _, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return struct{ Policy policyXML }{s.policyXML(p, true)}, nil
}

func (s *Server) listPolicies(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Scope        string
		PathPrefix   string
		OnlyAttached bool
		Marker       string
		MaxItems     *int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore iam policyScopeType.enum.
	if in.Scope != "" {
		if err := model.Enum("scope", in.Scope, "All", "AWS", "Local"); err != nil {
			return nil, err
		}
	}
	if err := validatePathPrefix(in.PathPrefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*policy
	if in.Scope != "AWS" {
		for _, p := range s.policies {
			if (in.PathPrefix == "" || strings.HasPrefix(p.path, in.PathPrefix)) && (!in.OnlyAttached || s.attachments(p.arn) > 0) {
				list = append(list, p)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	pg, more, marker, err := page(in.Marker, in.MaxItems, list)
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

func (s *Server) deletePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, _, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.attachments(p.arn) > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	if len(p.versions) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	delete(s.policies, p.arn)
	return nil, nil
}

func (s *Server) createPolicyVersion(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		PolicyArn      string `query:",required"`
		PolicyDocument string `query:",required"`
		SetAsDefault   bool
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateManaged(in.PolicyDocument); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if len(p.versions) >= maxPolicyVersions {
		return nil, limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
	}
	now := time.Now()
	v := &policyVersion{id: "v" + strconv.Itoa(p.nextVersion), document: in.PolicyDocument, created: now}
	p.nextVersion++
	p.versions = append(p.versions, v)
	if in.SetAsDefault {
		p.defaultVersion = v.id
	}
	p.updated = now
	return struct{ PolicyVersion policyVersionXML }{policyVersionXML{VersionId: v.id, IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)}}, nil
}

// version decodes PolicyArn and VersionId and finds the version, holding s.mu
// until the returned unlock.
func (s *Server) version(dec awsproto.Decoder) (*policy, *policyVersion, func(), error) {
	p, in, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := model.Required("versionId", in.VersionId != nil); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	for _, v := range p.versions {
		if v.id == *in.VersionId {
			return p, v, unlock, nil
		}
	}
	unlock()
	return nil, nil, nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", p.arn, *in.VersionId)
}

func (s *Server) getPolicyVersion(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, v, unlock, err := s.version(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return struct{ PolicyVersion policyVersionXML }{policyVersionXML{Document: urlEncode(v.document), VersionId: v.id,
		IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)}}, nil
}

func (s *Server) listPolicyVersions(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, in, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var list []policyVersionXML
	for i := len(p.versions) - 1; i >= 0; i-- { // newest first, as IAM lists them
		v := p.versions[i]
		list = append(list, policyVersionXML{VersionId: v.id, IsDefaultVersion: p.defaultVersion == v.id, CreateDate: isoTime(v.created)})
	}
	pg, more, marker, err := page(in.Marker, in.MaxItems, list)
	if err != nil {
		return nil, err
	}
	return struct {
		Versions    []policyVersionXML `xml:"Versions>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{append([]policyVersionXML{}, pg...), more, marker}, nil
}

func (s *Server) deletePolicyVersion(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, v, unlock, err := s.version(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
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

func (s *Server) tagPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		PolicyArn string `query:",required"`
		Tags      []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := model.Required("tags", len(in.Tags) > 0); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupPolicy(in.PolicyArn)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(p.tags, in.Tags)
	if err != nil {
		return nil, err
	}
	p.tags = merged
	return nil, nil
}

func (s *Server) untagPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, in, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p.tags = dropTags(p.tags, in.TagKeys)
	return nil, nil
}

func (s *Server) listPolicyTags(_ *http.Request, dec awsproto.Decoder) (any, error) {
	p, in, unlock, err := s.withPolicy(dec)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return tagPage(in.Marker, in.MaxItems, p.tags)
}
