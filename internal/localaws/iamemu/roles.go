package iamemu

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
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

func parseMaxSession(f url.Values) (int, bool, error) {
	v := f.Get("MaxSessionDuration")
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 3600 || n > 43200 {
		return 0, false, validation(v, "maxSessionDuration", "Member must have value between 3600 and 43200")
	}
	return n, true, nil
}

func (s *Server) createRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	if err := validateName(name, "roleName", 64); err != nil {
		return nil, err
	}
	trust, err := required(f, "AssumeRolePolicyDocument")
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
	maxSession, set, err := parseMaxSession(f)
	if err != nil {
		return nil, err
	}
	if !set {
		maxSession = 3600
	}
	tags := tagMembers(f)
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	if len(tags) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	if err := validateTrust(trust); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles[strings.ToLower(name)] != nil {
		return nil, alreadyExists("Role with name %s already exists.", name)
	}
	r := &role{name: name, path: path, id: newID("AROA"), arn: "arn:aws:iam::" + s.account + ":role" + path + name,
		created: time.Now(), trust: trust, description: desc, maxSession: maxSession, tags: tags, inline: map[string]string{}}
	s.roles[strings.ToLower(name)] = r
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (s *Server) getRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (s *Server) listRoles(f url.Values) (any, error) {
	prefix := f.Get("PathPrefix")
	if err := validatePathPrefix(prefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []*role
	for _, r := range s.roles {
		if prefix == "" || strings.HasPrefix(r.path, prefix) {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].name) < strings.ToLower(list[j].name) })
	out := struct {
		Roles       []roleXML `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}{Roles: []roleXML{}}
	pg, more, marker, err := page(f, list)
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

func (s *Server) deleteRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
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

func (s *Server) updateRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	var desc *string
	if _, ok := f["Description"]; ok {
		d := f.Get("Description")
		if err := validateDescription(d); err != nil {
			return nil, err
		}
		desc = &d
	}
	maxSession, set, err := parseMaxSession(f)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	if desc != nil {
		r.description = desc
	}
	if set {
		r.maxSession = maxSession
	}
	return struct{}{}, nil
}

func (s *Server) updateRoleDescription(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	d, err := required(f, "Description")
	if err != nil {
		return nil, err
	}
	if err := validateDescription(d); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	r.description = &d
	return struct{ Role roleXML }{r.xml(true)}, nil
}

func (s *Server) updateAssumeRolePolicy(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := validateTrust(doc); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	r.trust = doc
	return nil, nil
}

func (s *Server) tagRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	tags := tagMembers(f)
	if len(tags) == 0 {
		return nil, validation("null", "tags", "Member must not be null")
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(r.tags, tags)
	if err != nil {
		return nil, err
	}
	r.tags = merged
	return nil, nil
}

func (s *Server) untagRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	keys := members(f, "TagKeys")
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	r.tags = dropTags(r.tags, keys)
	return nil, nil
}

type tagsPage struct {
	Tags        []tag `xml:"Tags>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func tagPage(f url.Values, tags []tag) (any, error) {
	pg, more, marker, err := page(f, tags)
	if err != nil {
		return nil, err
	}
	return tagsPage{Tags: append([]tag{}, pg...), IsTruncated: more, Marker: marker}, nil
}

func (s *Server) listRoleTags(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	return tagPage(f, r.tags)
}

// Inline role policies.

func (s *Server) putRolePolicy(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	pname, err := required(f, "PolicyName")
	if err != nil {
		return nil, err
	}
	if err := validateName(pname, "policyName", 128); err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := validatePolicy(doc, identityPolicy, "policyDocument"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	total := policySize(doc)
	for n, d := range r.inline {
		if n != pname {
			total += policySize(d)
		}
	}
	if total > maxInlineRoleBytes {
		return nil, limitExceeded("Maximum policy size of %d bytes exceeded for role %s", maxInlineRoleBytes, r.name)
	}
	r.inline[pname] = doc
	return nil, nil
}

func (s *Server) inlinePolicy(f url.Values) (*role, string, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, "", err
	}
	pname, err := required(f, "PolicyName")
	if err != nil {
		return nil, "", err
	}
	if err := validateName(pname, "policyName", 128); err != nil {
		return nil, "", err
	}
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, "", err
	}
	if _, ok := r.inline[pname]; !ok {
		return nil, "", noSuchEntity("The role policy with name %s cannot be found.", pname)
	}
	return r, pname, nil
}

func (s *Server) getRolePolicy(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, pname, err := s.inlinePolicy(f)
	if err != nil {
		return nil, err
	}
	return struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}{r.name, pname, urlEncode(r.inline[pname])}, nil
}

func (s *Server) deleteRolePolicy(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, pname, err := s.inlinePolicy(f)
	if err != nil {
		return nil, err
	}
	delete(r.inline, pname)
	return nil, nil
}

func (s *Server) listRolePolicies(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	pg, more, marker, err := page(f, sortedKeys(r.inline))
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
		return "", "", validation(arn, member, "Member must have length between 20 and 2048")
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

func (s *Server) attachRolePolicy(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	arn, err := required(f, "PolicyArn")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.policyByARN(arn, "policyArn"); err != nil {
		return nil, err
	}
	for _, a := range r.attached {
		if a == arn {
			return nil, nil // attaching twice is a no-op
		}
	}
	if len(r.attached) >= maxManagedPerRole {
		return nil, limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", maxManagedPerRole)
	}
	r.attached = append(r.attached, arn)
	return nil, nil
}

func (s *Server) detachRolePolicy(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	arn, err := required(f, "PolicyArn")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	for i, a := range r.attached {
		if a == arn {
			r.attached = append(r.attached[:i:i], r.attached[i+1:]...)
			return nil, nil
		}
	}
	return nil, noSuchEntity("Policy %s was not found.", arn)
}

type attachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

func (s *Server) listAttachedRolePolicies(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	prefix := f.Get("PathPrefix")
	if err := validatePathPrefix(prefix); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(name)
	if err != nil {
		return nil, err
	}
	var list []attachedPolicy
	for _, arn := range r.attached {
		pname, path, err := s.policyByARN(arn, "policyArn")
		if err != nil {
			continue
		}
		if prefix == "" || strings.HasPrefix(path, prefix) {
			list = append(list, attachedPolicy{PolicyName: pname, PolicyArn: arn})
		}
	}
	pg, more, marker, err := page(f, list)
	if err != nil {
		return nil, err
	}
	return struct {
		AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{append([]attachedPolicy{}, pg...), more, marker}, nil
}
