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
	"net/url"
	"strings"
	"time"
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

// registerProfileOps adds the instance profile operations to s.ops.
func (s *Server) registerProfileOps() {
	s.profiles = map[string]*instanceProfile{}
	for name, op := range map[string]func(url.Values) (any, error){
		"CreateInstanceProfile":         s.createInstanceProfile,
		"GetInstanceProfile":            s.getInstanceProfile,
		"AddRoleToInstanceProfile":      s.addRoleToInstanceProfile,
		"RemoveRoleFromInstanceProfile": s.removeRoleFromInstanceProfile,
		"DeleteInstanceProfile":         s.deleteInstanceProfile,
		"ListInstanceProfilesForRole":   s.listInstanceProfilesForRole,
	} {
		s.ops[name] = op
	}
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
func (s *Server) lookupProfile(f url.Values) (*instanceProfile, error) {
	name, err := required(f, "InstanceProfileName")
	if err != nil {
		return nil, err
	}
	if err := validateName(name, "instanceProfileName", 128); err != nil {
		return nil, err
	}
	p := s.profiles[strings.ToLower(name)]
	if p == nil {
		return nil, noSuchEntity("Instance Profile %s cannot be found.", name)
	}
	return p, nil
}

func (s *Server) createInstanceProfile(f url.Values) (any, error) {
	name, err := required(f, "InstanceProfileName")
	if err != nil {
		return nil, err
	}
	if err := validateName(name, "instanceProfileName", 128); err != nil {
		return nil, err
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if err := validatePath(path, "path"); err != nil {
		return nil, err
	}
	tags := tagMembers(f)
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

func (s *Server) getInstanceProfile(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(f)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfile instanceProfileXML
	}{s.profileXML(p, true)}, nil
}

func (s *Server) addRoleToInstanceProfile(f url.Values) (any, error) {
	roleName, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(f)
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

func (s *Server) removeRoleFromInstanceProfile(f url.Values) (any, error) {
	roleName, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(f)
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

func (s *Server) deleteInstanceProfile(f url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupProfile(f)
	if err != nil {
		return nil, err
	}
	if p.role != "" {
		return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(s.profiles, strings.ToLower(p.name))
	return nil, nil
}

func (s *Server) listInstanceProfilesForRole(f url.Values) (any, error) {
	roleName, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
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
	items, more, marker, err := page(f, all)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfiles []instanceProfileXML `xml:"InstanceProfiles>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{items, more, marker}, nil
}
