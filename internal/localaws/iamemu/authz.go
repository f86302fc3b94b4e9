package iamemu

import (
	"sort"
	"strings"
)

// RolePolicies returns a role's trust policy and its identity policies: the
// inline policies and the default version of each attached managed policy
// the emulation holds. ok is false when no role has that ARN. The endpoint's
// policy evaluator (package iampolicy) uses it to decide the calls the
// emulations make with a role.
func (s *Server) RolePolicies(arn string) (trust string, identity []string, ok bool) {
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.roles[strings.ToLower(name)]
	if !found || r.arn != arn {
		return "", nil, false
	}
	names := make([]string, 0, len(r.inline))
	for n := range r.inline {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		identity = append(identity, r.inline[n])
	}
	for _, pa := range r.attached {
		p, ok := s.policies[pa]
		if !ok {
			continue
		}
		for _, v := range p.versions {
			if v.id == p.defaultVersion {
				identity = append(identity, v.document)
			}
		}
	}
	return r.trust, identity, true
}
