package iamemu

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type roleXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string  `xml:",omitempty"`
	Description              *string `xml:",omitempty"`
	MaxSessionDuration       int     `xml:",omitempty"`
	Tags                     []tag   `xml:"Tags>member,omitempty"`
}

// xml renders a role; withTags is false for ListRoles, which (like AWS)
// omits tags.
func (r *role) xml(withTags bool) roleXML {
	out := roleXML{Path: r.path, RoleName: r.name, RoleId: r.id, Arn: r.arn, CreateDate: isoTime(r.created),
		AssumeRolePolicyDocument: urlEncode(r.trust), Description: r.description, MaxSessionDuration: r.maxSession}
	if withTags {
		out.Tags = r.tags
	}
	return out
}

// lookupRole finds a role by name (case-insensitive). s.mu is held.
func (s *Server) lookupRole(name string) (*role, error) {
	if err := validateName(name, "roleName", 64); err != nil {
		return nil, err
	}
	r := s.roles[strings.ToLower(name)]
	if r == nil {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, nil
}

func validateTrust(doc string) error {
	if err := validatePolicy(doc, trustPolicy, "assumeRolePolicyDocument"); err != nil {
		return err
	}
	if policySize(doc) > maxTrustPolicyBytes {
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicyBytes)
	}
	return nil
}

// checkMaxSession: botocore iam roleMaxSessionDurationType 3600-43200.
func checkMaxSession(n *int) error {
	if n == nil {
		return nil
	}
	return model.Range("maxSessionDuration", int64(*n), 3600, 43200)
}

// roleInput is the RoleName every role operation carries.
type roleInput struct {
	RoleName string `query:",required"`
}

type createRoleInput struct {
	RoleName                 string `query:",required"`
	AssumeRolePolicyDocument string `query:",required"`
	Path                     string
	Description              *string
	MaxSessionDuration       *int
	Tags                     []tag
}

func (s *Server) createRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in createRoleInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateName(in.RoleName, "roleName", 64); err != nil {
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
	if err := checkMaxSession(in.MaxSessionDuration); err != nil {
		return nil, err
	}
	maxSession := 3600
	if in.MaxSessionDuration != nil {
		maxSession = *in.MaxSessionDuration
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	if err := validateTrust(in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := in.RoleName
	if s.roles[strings.ToLower(name)] != nil {
		return nil, alreadyExists("Role with name %s already exists.", name)
	}
	r := &role{name: name, path: path, id: newID("AROA"), arn: "arn:aws:iam::" + s.account + ":role" + path + name,
		created: time.Now(), trust: in.AssumeRolePolicyDocument, description: in.Description, maxSession: maxSession, tags: in.Tags, inline: map[string]string{}}
	s.roles[strings.ToLower(name)] = r
	return struct{ Role roleXML }{r.xml(true)}, nil
}

// withRole decodes in (whose RoleName is given by name) and looks the role
// up, holding s.mu until the returned unlock.
func (s *Server) withRole(dec awsproto.Decoder, in any, name *string) (*role, func(), error) {
	if err := dec(in); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	r, err := s.lookupRole(*name)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return r, s.mu.Unlock, nil
}

func (s *Server) getRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in roleInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (s *Server) listRoles(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		PathPrefix string
		Marker     string
		MaxItems   *int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validatePathPrefix(in.PathPrefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []*role
	for _, r := range s.roles {
		if in.PathPrefix == "" || strings.HasPrefix(r.path, in.PathPrefix) {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].name) < strings.ToLower(list[j].name) })
	out := struct {
		Roles       []roleXML `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{Roles: []roleXML{}}
	pg, more, marker, err := page(in.Marker, in.MaxItems, list)
	for _, r := range pg {
		out.Roles = append(out.Roles, r.xml(false))
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out.IsTruncated, out.Marker = more, marker
	return out, nil
}

func (s *Server) deleteRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in roleInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if len(r.inline) > 0 {
		return nil, deleteConflict("Cannot delete entity, must delete policies first.")
	}
	if len(r.attached) > 0 {
		return nil, deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if err := s.roleInProfile(r); err != nil {
		return nil, err
	}
	delete(s.roles, strings.ToLower(r.name))
	return nil, nil
}

func (s *Server) updateRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName           string `query:",required"`
		Description        *string
		MaxSessionDuration *int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := validateDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	if err := checkMaxSession(in.MaxSessionDuration); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		r.description = in.Description
	}
	if in.MaxSessionDuration != nil {
		r.maxSession = *in.MaxSessionDuration
	}
	return struct{}{}, nil
}

func (s *Server) updateRoleDescription(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName    string `query:",required"`
		Description string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateDescription(in.Description); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	d := in.Description
	r.description = &d
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (s *Server) updateAssumeRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName       string `query:",required"`
		PolicyDocument string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateTrust(in.PolicyDocument); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	r.trust = in.PolicyDocument
	return nil, nil
}

func (s *Server) tagRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName string `query:",required"`
		Tags     []tag
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
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(r.tags, in.Tags)
	if err != nil {
		return nil, err
	}
	r.tags = merged
	return nil, nil
}

func (s *Server) untagRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName string `query:",required"`
		TagKeys  []string
	}
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r.tags = dropTags(r.tags, in.TagKeys)
	return nil, nil
}

type tagsPage struct {
	Tags        []tag `xml:"Tags>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func tagPage(marker string, maxItems *int, tags []tag) (any, error) {
	pg, more, next, err := page(marker, maxItems, tags)
	if err != nil {
		return nil, err
	}
	return tagsPage{Tags: append([]tag{}, pg...), IsTruncated: more, Marker: next}, nil
}

// listRoleInput is the input of the List operations on one role.
type listRoleInput struct {
	RoleName   string `query:",required"`
	PathPrefix string
	Marker     string
	MaxItems   *int
}

func (s *Server) listRoleTags(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listRoleInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return tagPage(in.Marker, in.MaxItems, r.tags)
}

// Inline role policies.

type rolePolicyInput struct {
	RoleName       string `query:",required"`
	PolicyName     string `query:",required"`
	PolicyDocument string `query:",required"`
}

func (s *Server) putRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in rolePolicyInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateName(in.PolicyName, "policyName", 128); err != nil {
		return nil, err
	}
	if err := validatePolicy(in.PolicyDocument, identityPolicy, "policyDocument"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	total := policySize(in.PolicyDocument)
	for n, d := range r.inline {
		if n != in.PolicyName {
			total += policySize(d)
		}
	}
	if total > maxInlineRoleBytes {
		return nil, limitExceeded("Maximum policy size of %d bytes exceeded for role %s", maxInlineRoleBytes, r.name)
	}
	r.inline[in.PolicyName] = in.PolicyDocument
	return nil, nil
}

// inlinePolicy decodes RoleName and PolicyName and finds the role's inline
// policy. s.mu is held.
func (s *Server) inlinePolicy(dec awsproto.Decoder) (*role, string, error) {
	var in struct {
		RoleName   string `query:",required"`
		PolicyName string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, "", err
	}
	if err := validateName(in.PolicyName, "policyName", 128); err != nil {
		return nil, "", err
	}
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, "", err
	}
	if _, ok := r.inline[in.PolicyName]; !ok {
		return nil, "", noSuchEntity("The role policy with name %s cannot be found.", in.PolicyName)
	}
	return r, in.PolicyName, nil
}

func (s *Server) getRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, pname, err := s.inlinePolicy(dec)
	if err != nil {
		return nil, err
	}
	return struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}{r.name, pname, urlEncode(r.inline[pname])}, nil
}

func (s *Server) deleteRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, pname, err := s.inlinePolicy(dec)
	if err != nil {
		return nil, err
	}
	delete(r.inline, pname)
	return nil, nil
}

func (s *Server) listRolePolicies(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listRoleInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	pg, more, marker, err := page(in.Marker, in.MaxItems, sortedKeys(r.inline))
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{append([]string{}, pg...), more, marker}, nil
}

// Managed policy attachment.

// policyByARN resolves an attachable policy: a customer managed policy of
// this account, or any AWS managed policy (arn:aws:iam::aws:policy/...),
// which the emulation cannot enumerate and so accepts. s.mu is held.
func (s *Server) policyByARN(arn string, member string) (name, path string, err error) {
	const awsPrefix = "arn:aws:iam::aws:policy/"
	own := "arn:aws:iam::" + s.account + ":policy/"
	switch {
	case len(arn) < 20 || len(arn) > 2048:
		return "", "", model.Violation(arn, member, "Member must have length between 20 and 2048")
	case strings.HasPrefix(arn, awsPrefix):
		rest := strings.TrimPrefix(arn, awsPrefix)
		i := strings.LastIndexByte(rest, '/')
		return rest[i+1:], "/" + rest[:i+1], nil
	case strings.HasPrefix(arn, own):
		p := s.policies[arn]
		if p == nil {
			return "", "", noSuchEntity("Policy %s does not exist or is not attachable.", arn)
		}
		return p.name, p.path, nil
	case strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":policy/"):
		return "", "", noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	}
	return "", "", invalidInput("ARN %s is not valid.", arn)
}

type attachInput struct {
	RoleName  string `query:",required"`
	PolicyArn string `query:",required"`
}

func (s *Server) attachRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in attachInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, _, err := s.policyByARN(in.PolicyArn, "policyArn"); err != nil {
		return nil, err
	}
	for _, a := range r.attached {
		if a == in.PolicyArn {
			return nil, nil // attaching twice is a no-op
		}
	}
	if len(r.attached) >= maxManagedPerRole {
		return nil, limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", maxManagedPerRole)
	}
	r.attached = append(r.attached, in.PolicyArn)
	return nil, nil
}

func (s *Server) detachRolePolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in attachInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for i, a := range r.attached {
		if a == in.PolicyArn {
			r.attached = append(r.attached[:i:i], r.attached[i+1:]...)
			return nil, nil
		}
	}
	return nil, noSuchEntity("Policy %s was not found.", in.PolicyArn)
}

type attachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

func (s *Server) listAttachedRolePolicies(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listRoleInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validatePathPrefix(in.PathPrefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(in.RoleName)
	if err != nil {
		return nil, err
	}
	var list []attachedPolicy
	for _, arn := range r.attached {
		pname, path, err := s.policyByARN(arn, "policyArn")
		if err != nil {
			continue
		}
		if in.PathPrefix == "" || strings.HasPrefix(path, in.PathPrefix) {
			list = append(list, attachedPolicy{PolicyName: pname, PolicyArn: arn})
		}
	}
	pg, more, marker, err := page(in.Marker, in.MaxItems, list)
	if err != nil {
		return nil, err
	}
	return struct {
		AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{append([]attachedPolicy{}, pg...), more, marker}, nil
}
