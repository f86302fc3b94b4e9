package ec2emu

import (
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// IPPermission is an IpPermissions.N request member (botocore ec2
// IpPermission: UserIdGroupPairs has locationName "groups").
type IPPermission struct {
	IPProtocol string  `query:"IpProtocol"`
	FromPort   *int32  `query:"FromPort"`
	ToPort     *int32  `query:"ToPort"`
	IPRanges   []IPRng `query:"IpRanges"`
	Groups     []struct {
		GroupID     string `query:"GroupId"`
		GroupName   string
		UserID      string `query:"UserId"`
		Description string
	} `query:"Groups"`
	PrefixListIDs []struct {
		PrefixListID string `query:"PrefixListId"`
	} `query:"PrefixListIds"`
}

// IPRng is an IpRanges.N member.
type IPRng struct {
	CidrIP      string `query:"CidrIp"`
	Description string
}

type ipPermXML struct {
	IPProtocol string `xml:"ipProtocol"`
	FromPort   *int32 `xml:"fromPort,omitempty"`
	ToPort     *int32 `xml:"toPort,omitempty"`
	Groups     []struct {
		GroupID     string `xml:"groupId"`
		UserID      string `xml:"userId"`
		Description string `xml:"description,omitempty"`
	} `xml:"groups>item"`
	IPRanges []struct {
		CidrIP      string `xml:"cidrIp"`
		Description string `xml:"description,omitempty"`
	} `xml:"ipRanges>item"`
}

type sgXML struct {
	OwnerID     string      `xml:"ownerId"`
	GroupID     string      `xml:"groupId"`
	GroupName   string      `xml:"groupName"`
	Description string      `xml:"groupDescription"`
	VpcID       string      `xml:"vpcId"`
	Arn         string      `xml:"securityGroupArn"`
	Ingress     []ipPermXML `xml:"ipPermissions>item"`
	Egress      []ipPermXML `xml:"ipPermissionsEgress>item"`
	Tags        []Tag       `xml:"tagSet>item"`
}

type sgRuleXML struct {
	ID           string `xml:"securityGroupRuleId"`
	GroupID      string `xml:"groupId"`
	GroupOwnerID string `xml:"groupOwnerId"`
	IsEgress     bool   `xml:"isEgress"`
	IPProtocol   string `xml:"ipProtocol"`
	FromPort     int32  `xml:"fromPort"`
	ToPort       int32  `xml:"toPort"`
	CidrIPv4     string `xml:"cidrIpv4,omitempty"`
	Referenced   *struct {
		GroupID string `xml:"groupId"`
		UserID  string `xml:"userId"`
	} `xml:"referencedGroupInfo,omitempty"`
	Description string `xml:"description,omitempty"`
}

func (s *Server) sgArn(id string) string {
	return "arn:aws:ec2:" + s.region + ":" + s.account + ":security-group/" + id
}

// permissions groups rules back into IpPermission items, as EC2 shows them.
func (s *Server) permissions(rules []rule) []ipPermXML {
	var out []ipPermXML
	index := map[string]int{}
	for _, r := range rules {
		key := fmt.Sprintf("%s/%v/%d/%d", r.protocol, r.hasPorts, r.from, r.to)
		i, ok := index[key]
		if !ok {
			p := ipPermXML{IPProtocol: r.protocol}
			if r.hasPorts {
				f, t := r.from, r.to
				p.FromPort, p.ToPort = &f, &t
			}
			out = append(out, p)
			i = len(out) - 1
			index[key] = i
		}
		if r.cidr != "" {
			out[i].IPRanges = append(out[i].IPRanges, struct {
				CidrIP      string `xml:"cidrIp"`
				Description string `xml:"description,omitempty"`
			}{r.cidr, r.description})
		} else {
			out[i].Groups = append(out[i].Groups, struct {
				GroupID     string `xml:"groupId"`
				UserID      string `xml:"userId"`
				Description string `xml:"description,omitempty"`
			}{r.groupID, s.account, r.description})
		}
	}
	return out
}

func (s *Server) sgXML(g *securityGroup) sgXML {
	return sgXML{OwnerID: s.account, GroupID: g.id, GroupName: g.name, Description: g.description, VpcID: g.vpcID, Arn: s.sgArn(g.id),
		Ingress: s.permissions(g.ingress), Egress: s.permissions(g.egress), Tags: tagList(g.tags)}
}

// sgNameOK: up to 255 characters; in a VPC a-z, A-Z, 0-9, spaces and
// ._-:/()#,@[]+=&;{}!$* (CreateSecurityGroup, GroupName constraints).
func sgNameOK(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", c) {
			continue
		}
		return false
	}
	return true
}

func (s *Server) createSecurityGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		GroupName         string             `query:",required"`
		Description       string             `query:"GroupDescription,required"`
		VpcID             string             `query:"VpcId"`
		TagSpecifications []TagSpecification `query:"TagSpecification"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if !sgNameOK(in.GroupName) {
		return nil, awsproto.Errf("InvalidParameterValue", "Value (%s) for parameter GroupName is invalid. Character sets beyond ASCII are not supported.", in.GroupName)
	}
	if strings.HasPrefix(strings.ToLower(in.GroupName), "sg-") {
		return nil, awsproto.Errf("InvalidParameterValue", "Group names may not be in the format sg-*.")
	}
	if !sgNameOK(in.Description) {
		return nil, awsproto.Errf("InvalidParameterValue", "Value (%s) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.", in.Description)
	}
	if in.GroupName == "default" {
		return nil, awsproto.Errf("InvalidGroup.Reserved", "The security group 'default' is reserved")
	}
	t, err := tagsFor(in.TagSpecifications, "security-group")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vpcID := in.VpcID
	if vpcID == "" {
		vpcID = s.defaultVPCLocked()
		if vpcID == "" {
			return nil, awsproto.Errf("VPCIdNotSpecified", "No default VPC for this user")
		}
	} else if s.vpcs[vpcID] == nil {
		return nil, awsproto.Errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	for _, g := range s.groups {
		if g.vpcID == vpcID && g.name == in.GroupName {
			return nil, awsproto.Errf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", in.GroupName, vpcID)
		}
	}
	g := &securityGroup{id: s.newID("sg"), name: in.GroupName, description: in.Description, vpcID: vpcID, tags: t}
	g.egress = []rule{{id: s.newRuleID(), protocol: "-1", cidr: "0.0.0.0/0"}}
	s.groups[g.id] = g
	return struct {
		GroupID string `xml:"groupId"`
		Arn     string `xml:"securityGroupArn"`
		Tags    []Tag  `xml:"tagSet>item"`
	}{g.id, s.sgArn(g.id), tagList(t)}, nil
}

func (s *Server) describeSecurityGroups(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		GroupIDs   []string `query:"GroupId"`
		GroupNames []string `query:"GroupName"`
		Filters    []Filter `query:"Filter"`
		MaxResults int32
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.GroupIDs {
		if !strings.HasPrefix(id, "sg-") {
			return nil, awsproto.Errf("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", id)
		}
		if s.groups[id] == nil {
			return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	// GroupName without a VPC filter names groups of the default VPC.
	def := s.defaultVPCLocked()
	for _, n := range in.GroupNames {
		found := false
		for _, g := range s.groups {
			found = found || g.name == n && g.vpcID == def
		}
		if !found {
			return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, def)
		}
	}
	out, err := filtered(s.sortedGroups(), func(g *securityGroup) bool {
		return (len(in.GroupIDs) == 0 || contains(in.GroupIDs, g.id)) && (len(in.GroupNames) == 0 || contains(in.GroupNames, g.name) && g.vpcID == def)
	}, in.Filters, s.sgField, func(g *securityGroup) tags { return g.tags }, s.sgXML)
	if err != nil {
		return nil, err
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return struct {
		Groups    []sgXML `xml:"securityGroupInfo>item"`
		NextToken string  `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func ruleValues(rules []rule, field string) []string {
	var out []string
	for _, r := range rules {
		switch field {
		case "protocol":
			out = append(out, r.protocol)
		case "from-port":
			out = append(out, strconv.Itoa(int(r.from)))
		case "to-port":
			out = append(out, strconv.Itoa(int(r.to)))
		case "cidr":
			out = append(out, r.cidr)
		case "group-id":
			out = append(out, r.groupID)
		}
	}
	return out
}

func (s *Server) sortedGroups() []*securityGroup {
	out := make([]*securityGroup, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ingressInput is the request of Authorize/RevokeSecurityGroupIngress.
type ingressInput struct {
	GroupID       string `query:"GroupId"`
	GroupName     string
	IPPermissions []IPPermission `query:"IpPermissions"`
	// The older single-rule form.
	IPProtocol string `query:"IpProtocol"`
	FromPort   *int32
	ToPort     *int32
	CidrIP     string   `query:"CidrIp"`
	RuleIDs    []string `query:"SecurityGroupRuleId"`
}

// resolveGroup finds the group a rule request names (GroupId, or GroupName
// in the default VPC).
func (s *Server) resolveGroup(id, name string) (*securityGroup, error) {
	switch {
	case id != "":
		if g := s.groups[id]; g != nil {
			return g, nil
		}
		return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	case name != "":
		def := s.defaultVPCLocked()
		for _, g := range s.groups {
			if g.name == name && g.vpcID == def {
				return g, nil
			}
		}
		return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, def)
	}
	return nil, awsproto.Errf("MissingParameter", "The request must contain the parameter groupName or groupId")
}

// rules expands a request into single-peer rules, validating each.
func (s *Server) rules(in ingressInput) ([]rule, error) {
	perms := in.IPPermissions
	if in.IPProtocol != "" || in.CidrIP != "" {
		p := IPPermission{IPProtocol: in.IPProtocol, FromPort: in.FromPort, ToPort: in.ToPort}
		if in.CidrIP != "" {
			p.IPRanges = []IPRng{{CidrIP: in.CidrIP}}
		}
		perms = append(perms, p)
	}
	var out []rule
	for _, p := range perms {
		proto := strings.ToLower(p.IPProtocol)
		switch proto {
		case "tcp", "udp", "icmp", "-1":
		case "all":
			proto = "-1"
		case "6":
			proto = "tcp"
		case "17":
			proto = "udp"
		case "1":
			proto = "icmp"
		case "":
			return nil, awsproto.Errf("MissingParameter", "The request must contain the parameter ipProtocol")
		default:
			if n, err := strconv.Atoi(proto); err != nil || n < 0 || n > 255 {
				return nil, awsproto.Errf("InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", p.IPProtocol)
			}
		}
		base := rule{protocol: proto}
		if proto == "tcp" || proto == "udp" {
			if p.FromPort == nil || p.ToPort == nil {
				return nil, awsproto.Errf("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
			}
			if *p.FromPort < 0 || *p.ToPort > 65535 || *p.FromPort > *p.ToPort {
				return nil, awsproto.Errf("InvalidParameterValue", "Invalid value '%d-%d' for portRange.", *p.FromPort, *p.ToPort)
			}
			base.from, base.to, base.hasPorts = *p.FromPort, *p.ToPort, true
		} else if proto == "icmp" && p.FromPort != nil && p.ToPort != nil {
			base.from, base.to, base.hasPorts = *p.FromPort, *p.ToPort, true
		}
		if len(p.IPRanges)+len(p.Groups)+len(p.PrefixListIDs) == 0 {
			return nil, awsproto.Errf("InvalidParameterValue", "The request must contain a source: CIDR range, security group or prefix list.")
		}
		for _, rg := range p.IPRanges {
			pfx, err := netip.ParsePrefix(rg.CidrIP)
			if err != nil || !pfx.Addr().Is4() {
				return nil, awsproto.Errf("InvalidParameterValue", "CIDR block %s is malformed", rg.CidrIP)
			}
			rr := base
			rr.cidr, rr.description = pfx.Masked().String(), rg.Description
			out = append(out, rr)
		}
		for _, gp := range p.Groups {
			id := gp.GroupID
			if id == "" {
				g, err := s.resolveGroup("", gp.GroupName)
				if err != nil {
					return nil, err
				}
				id = g.id
			} else if s.groups[id] == nil {
				return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
			}
			rr := base
			rr.groupID, rr.description = id, gp.Description
			out = append(out, rr)
		}
		if len(p.PrefixListIDs) > 0 {
			return nil, awsproto.Errf("InvalidPrefixListId.NotFound", "The prefix list '%s' does not exist.", p.PrefixListIDs[0].PrefixListID)
		}
	}
	return out, nil
}

func sameRule(a, b rule) bool {
	return a.protocol == b.protocol && a.hasPorts == b.hasPorts && a.from == b.from && a.to == b.to && a.cidr == b.cidr && a.groupID == b.groupID
}

func describeRule(r rule) string {
	peer := r.cidr
	if peer == "" {
		peer = r.groupID
	}
	proto := strings.ToUpper(r.protocol)
	if r.protocol == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, r.from, r.to)
}

func (s *Server) ruleXML(g *securityGroup, r rule, egress bool) sgRuleXML {
	x := sgRuleXML{ID: r.id, GroupID: g.id, GroupOwnerID: s.account, IsEgress: egress, IPProtocol: r.protocol, FromPort: -1, ToPort: -1, CidrIPv4: r.cidr, Description: r.description}
	if r.hasPorts {
		x.FromPort, x.ToPort = r.from, r.to
	}
	if r.groupID != "" {
		x.Referenced = &struct {
			GroupID string `xml:"groupId"`
			UserID  string `xml:"userId"`
		}{r.groupID, s.account}
	}
	return x
}

func (s *Server) authorizeIngress(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in ingressInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.GroupID, in.GroupName)
	if err != nil {
		return nil, err
	}
	add, err := s.rules(in)
	if err != nil {
		return nil, err
	}
	if len(add) == 0 {
		return nil, awsproto.Errf("MissingParameter", "The request must contain the parameter ipPermissions")
	}
	for _, a := range add {
		for _, have := range g.ingress {
			if sameRule(a, have) {
				return nil, awsproto.Errf("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", describeRule(a))
			}
		}
	}
	if len(g.ingress)+len(add) > 60 {
		return nil, awsproto.Errf("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
	}
	var out []sgRuleXML
	for _, a := range add {
		a.id = s.newRuleID()
		g.ingress = append(g.ingress, a)
		out = append(out, s.ruleXML(g, a, false))
	}
	return struct {
		Return bool        `xml:"return"`
		Rules  []sgRuleXML `xml:"securityGroupRuleSet>item"`
	}{true, out}, nil
}

// revokeIngress removes the rules that exist. Like EC2 in a VPC, rules that
// do not exist are no error: they come back in unknownIpPermissionSet.
func (s *Server) revokeIngress(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in ingressInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.GroupID, in.GroupName)
	if err != nil {
		return nil, err
	}
	var drop []rule
	for _, id := range in.RuleIDs {
		found := false
		for _, have := range g.ingress {
			if have.id == id {
				drop, found = append(drop, have), true
			}
		}
		if !found {
			return nil, awsproto.Errf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	want, err := s.rules(in)
	if err != nil {
		return nil, err
	}
	var unknown []rule
	for _, w := range want {
		found := false
		for _, have := range g.ingress {
			if sameRule(w, have) {
				drop, found = append(drop, have), true
			}
		}
		if !found {
			unknown = append(unknown, w)
		}
	}
	var keep []rule
	var revoked []sgRuleXML
	for _, have := range g.ingress {
		gone := false
		for _, d := range drop {
			gone = gone || d.id == have.id
		}
		if gone {
			revoked = append(revoked, s.ruleXML(g, have, false))
		} else {
			keep = append(keep, have)
		}
	}
	g.ingress = keep
	return struct {
		Return  bool        `xml:"return"`
		Unknown []ipPermXML `xml:"unknownIpPermissionSet>item"`
		Revoked []sgRuleXML `xml:"revokedSecurityGroupRuleSet>item"`
	}{len(unknown) == 0, s.permissions(unknown), revoked}, nil
}

func (s *Server) deleteSecurityGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		GroupID   string `query:"GroupId"`
		GroupName string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.GroupID != "" && !strings.HasPrefix(in.GroupID, "sg-") {
		return nil, awsproto.Errf("InvalidGroupId.Malformed", "Invalid id: \"%s\" (expecting \"sg-...\")", in.GroupID)
	}
	g, err := s.resolveGroup(in.GroupID, in.GroupName)
	if err != nil {
		return nil, err
	}
	if g.name == "default" {
		return nil, awsproto.Errf("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
	}
	for _, other := range s.groups {
		if other.id == g.id {
			continue
		}
		for _, r := range append(append([]rule(nil), other.ingress...), other.egress...) {
			if r.groupID == g.id {
				return nil, awsproto.Errf("DependencyViolation", "resource %s has a dependent object", g.id)
			}
		}
	}
	delete(s.groups, g.id)
	return struct {
		Return  bool   `xml:"return"`
		GroupID string `xml:"groupId"`
	}{true, g.id}, nil
}

// sgField answers a Describe filter name for one securityGroup.
func (s *Server) sgField(g *securityGroup, name string) ([]string, bool) {
	switch name {
	case "group-id":
		return []string{g.id}, true
	case "group-name":
		return []string{g.name}, true
	case "vpc-id":
		return []string{g.vpcID}, true
	case "description":
		return []string{g.description}, true
	case "owner-id":
		return []string{s.account}, true
	case "ip-permission.protocol", "ip-permission.from-port", "ip-permission.to-port", "ip-permission.cidr", "ip-permission.group-id":
		return ruleValues(g.ingress, strings.TrimPrefix(name, "ip-permission.")), true
	case "egress.ip-permission.protocol", "egress.ip-permission.from-port", "egress.ip-permission.to-port", "egress.ip-permission.cidr", "egress.ip-permission.group-id":
		return ruleValues(g.egress, strings.TrimPrefix(name, "egress.ip-permission.")), true
	}
	return nil, false
}
