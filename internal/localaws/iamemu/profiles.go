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

// registerProfileOps adds the instance profile operations to the Query
// service's table.
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
		s.query.Ops[name] = op
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

// profileInput names a profile.
type profileInput struct {
	InstanceProfileName string `query:",required"`
}

// profileRoleInput names a profile and a role.
type profileRoleInput struct {
	InstanceProfileName string `query:",required"`
	RoleName            string `query:",required"`
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
	var in struct {
		InstanceProfileName string `query:",required"`
		Path                string
		Tags                []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	name, path, tags := in.InstanceProfileName, in.Path, in.Tags
	if err := validateName(name, "instanceProfileName", 128); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	if err := validatePath(path, "path"); err != nil {
		return nil, err
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

// withProfile decodes in (whose profile is named by name) and looks the
// profile up, holding s.mu until the returned unlock.
func (s *Server) withProfile(dec awsproto.Decoder, in any, name *string) (*instanceProfile, func(), error) {
	if err := dec(in); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	p, err := s.lookupProfile(*name)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return p, s.mu.Unlock, nil
}

func (s *Server) getInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in profileInput
	p, unlock, err := s.withProfile(dec, &in, &in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return struct {
		InstanceProfile instanceProfileXML
	}{s.profileXML(p, true)}, nil
}

func (s *Server) addRoleToInstanceProfile(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in profileRoleInput
	p, unlock, err := s.withProfile(dec, &in, &in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := s.lookupRole(in.RoleName)
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
	var in profileRoleInput
	p, unlock, err := s.withProfile(dec, &in, &in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	roleName := in.RoleName
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
	p, unlock, err := s.withProfile(dec, &in, &in.InstanceProfileName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if p.role != "" {
		return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(s.profiles, strings.ToLower(p.name))
	return nil, nil
}

func (s *Server) listInstanceProfilesForRole(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listRoleInput
	r, unlock, err := s.withRole(dec, &in, &in.RoleName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var all []instanceProfileXML
	for _, k := range sortedKeys(s.profiles) {
		if p := s.profiles[k]; p.role == strings.ToLower(r.name) {
			all = append(all, s.profileXML(p, false))
		}
	}
	items, more, marker, err := page(in.Marker, in.MaxItems, all)
	if err != nil {
		return nil, err
	}
	return struct {
		InstanceProfiles []instanceProfileXML `xml:"InstanceProfiles>member"`
		IsTruncated      bool
		Marker           string `xml:",omitempty"`
	}{items, more, marker}, nil
}
