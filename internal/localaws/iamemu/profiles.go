package iamemu

// Instance profiles: the container EC2 instances assume a role through
// (CreateInstanceProfile, AddRoleToInstanceProfile, GetInstanceProfile,
// ListInstanceProfilesForRole, RemoveRoleFromInstanceProfile,
// DeleteInstanceProfile). An instance profile holds at most one role
// (quota InstanceSessionsPerInstanceProfile = 1), and a role that is in a
// profile cannot be deleted. Error codes from botocore iam service-2.json:
// EntityAlreadyExists, NoSuchEntity, LimitExceeded, DeleteConflict,
// ValidationError.

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type instanceProfile struct {
	name, path, id, arn string
	created             time.Time
	role                string // lower-case role name, "" when empty
	tags                []tag
}

type instanceProfileXML struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          string
	Roles               []roleXML `xml:"Roles>member"`
	Tags                []tag     `xml:"Tags>member,omitempty"`
}

// The handlers have the awsproto.Handler signature and decode typed inputs
// through the Query codec, so they move with iamemu onto
// awsproto.QueryService unchanged: registering them there is
// s.query.Ops[name] = op.

// registerProfileOps adds the instance profile operations to s.ops.
func (s *Server) registerProfileOps() {
	s.profiles = map[string]*instanceProfile{}
	for name, op := range map[string]awsproto.Handler{
		"CreateInstanceProfile":         s.createInstanceProfile,
		"GetInstanceProfile":            s.getInstanceProfile,
		"AddRoleToInstanceProfile":      s.addRoleToInstanceProfile,
		"RemoveRoleFromInstanceProfile": s.removeRoleFromInstanceProfile,
		"DeleteInstanceProfile":         s.deleteInstanceProfile,
		"ListInstanceProfilesForRole":   s.listInstanceProfilesForRole,
	} {
		op := op
		s.ops[name] = func(f url.Values) (any, error) {
			return op(nil, func(v any) error { return awsproto.DecodeQueryForm(f, v) })
		}
	}
}

// profileInput is what the instance profile operations take.
type profileInput struct {
	InstanceProfileName string `query:",required"`
	Path                string
	Tags                []struct{ Key, Value string }
}

// roleInProfile is DeleteRole's check. s.mu is held.
func (s *Server) roleInProfile(r *role) error {
	for _, p := range s.profiles {
		if p.role == strings.ToLower(r.name) {
			return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
	}
	return nil
}

func (s *Server) profileXML(p *instanceProfile, withTags bool) instanceProfileXML {
	out := instanceProfileXML{Path: p.path, InstanceProfileName: p.name, InstanceProfileId: p.id, Arn: p.arn, CreateDate: isoTime(p.created), Roles: []roleXML{}}
	if r := s.roles[p.role]; r != nil {
		out.Roles = append(out.Roles, r.xml(false))
	}
	if withTags {
		out.Tags = p.tags
	}
	return out
}

// lookupProfile finds a profile by name (case-insensitive). s.mu is held.
func (s *Server) lookupProfile(name string) (*instanceProfile, error) {
	if err := validateName(name, "instanceProfileName", 128); err != nil {
		return nil, err
	}
	p := s.profiles[strings.ToLower(name)]
	if p == nil {
		return nil, noSuchEntity("Instance Profile %s cannot be found.", name)
	}
	return p, nil
}

func (s *Server) createInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in profileInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := in.InstanceProfileName
	if err := validateName(name, "instanceProfileName", 128); err != nil {
		return nil, err
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	if err := validatePath(path, "path"); err != nil {
		return nil, err
	}
	var tags []tag
	for _, t := range in.Tags {
		tags = append(tags, tag{Key: t.Key, Value: t.Value})
	}
	if err := validateTags(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.profiles[strings.ToLower(name)]; ok {
		return nil, alreadyExists("Instance Profile %s already exists.", name)
	}
	p := &instanceProfile{name: name, path: path, id: newID("AIPA"), created: time.Now().UTC(), tags: tags,
		arn: "arn:aws:iam::" + s.account + ":instance-profile" + path + name}
	s.profiles[strings.ToLower(name)] = p
	return struct {
		InstanceProfile instanceProfileXML
	}{s.profileXML(p, true)}, nil
}

func (s *Server) getInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in profileInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfile instanceProfileXML
	}{s.profileXML(p, true)}, nil
}

func (s *Server) addRoleToInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		InstanceProfileName string `query:",required"`
		RoleName            string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	roleName := in.RoleName
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	r, err := s.lookupRole(roleName)
	if err != nil {
		return nil, err
	}
	if p.role == strings.ToLower(r.name) {
		return nil, alreadyExists("Instance Profile %s already contains role %s.", p.name, r.name)
	}
	if p.role != "" {
		return nil, limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
	}
	p.role = strings.ToLower(r.name)
	return nil, nil
}

func (s *Server) removeRoleFromInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		InstanceProfileName string `query:",required"`
		RoleName            string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	roleName := in.RoleName
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	if err := validateName(roleName, "roleName", 64); err != nil {
		return nil, err
	}
	if p.role != strings.ToLower(roleName) {
		return nil, noSuchEntity("The role with name %s cannot be found.", roleName)
	}
	p.role = ""
	return nil, nil
}

func (s *Server) deleteInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in profileInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	if p.role != "" {
		return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(s.profiles, strings.ToLower(p.name))
	return nil, nil
}

func (s *Server) listInstanceProfilesForRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RoleName string `query:",required"`
		Marker   string
		MaxItems string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	roleName := in.RoleName
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRole(roleName)
	if err != nil {
		return nil, err
	}
	var all []instanceProfileXML
	for _, k := range sortedKeys(s.profiles) {
		if p := s.profiles[k]; p.role == strings.ToLower(r.name) {
			all = append(all, s.profileXML(p, false))
		}
	}
	items, more, marker, err := page(url.Values{"Marker": {in.Marker}, "MaxItems": {in.MaxItems}}, all)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfiles []instanceProfileXML `xml:"InstanceProfiles>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{items, more, marker}, nil
}
