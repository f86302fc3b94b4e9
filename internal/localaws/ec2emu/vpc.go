package ec2emu

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Output shapes (botocore ec2 Vpc, Subnet, AvailabilityZone: locationNames).

type vpcXML struct {
	VpcID           string `xml:"vpcId"`
	OwnerID         string `xml:"ownerId"`
	State           string `xml:"state"`
	CidrBlock       string `xml:"cidrBlock"`
	DhcpOptionsID   string `xml:"dhcpOptionsId"`
	InstanceTenancy string `xml:"instanceTenancy"`
	IsDefault       bool   `xml:"isDefault"`
	CidrAssoc       []struct {
		AssociationID string `xml:"associationId"`
		CidrBlock     string `xml:"cidrBlock"`
		State         string `xml:"cidrBlockState>state"`
	} `xml:"cidrBlockAssociationSet>item"`
	Tags []Tag `xml:"tagSet>item"`
}

type subnetXML struct {
	SubnetID                string `xml:"subnetId"`
	SubnetArn               string `xml:"subnetArn"`
	State                   string `xml:"state"`
	VpcID                   string `xml:"vpcId"`
	OwnerID                 string `xml:"ownerId"`
	CidrBlock               string `xml:"cidrBlock"`
	AvailableIPAddressCount int32  `xml:"availableIpAddressCount"`
	AvailabilityZone        string `xml:"availabilityZone"`
	AvailabilityZoneID      string `xml:"availabilityZoneId"`
	DefaultForAz            bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool   `xml:"mapPublicIpOnLaunch"`
	Tags                    []Tag  `xml:"tagSet>item"`
}

func (s *Server) vpcXML(v *vpc) vpcXML {
	x := vpcXML{VpcID: v.id, OwnerID: s.account, State: "available", CidrBlock: v.cidr, DhcpOptionsID: "dopt-" + v.id[4:12],
		InstanceTenancy: "default", IsDefault: v.isDefault, Tags: tagList(v.tags)}
	x.CidrAssoc = append(x.CidrAssoc, struct {
		AssociationID string `xml:"associationId"`
		CidrBlock     string `xml:"cidrBlock"`
		State         string `xml:"cidrBlockState>state"`
	}{"vpc-cidr-assoc-" + v.id[4:], v.cidr, "associated"})
	return x
}

func (s *Server) subnetXML(sn *subnet) subnetXML {
	// A /20 has 4096 addresses; AWS reserves 5 in every subnet.
	size := 4096
	if i := strings.IndexByte(sn.cidr, '/'); i >= 0 {
		if bits, err := strconv.Atoi(sn.cidr[i+1:]); err == nil {
			size = 1 << (32 - bits)
		}
	}
	return subnetXML{SubnetID: sn.id, SubnetArn: "arn:aws:ec2:" + s.region + ":" + s.account + ":subnet/" + sn.id, State: "available",
		VpcID: sn.vpcID, OwnerID: s.account, CidrBlock: sn.cidr, AvailableIPAddressCount: int32(size - 5),
		AvailabilityZone: sn.az, AvailabilityZoneID: sn.azID, DefaultForAz: sn.defaultForAz, MapPublicIPOnLaunch: sn.defaultForAz, Tags: tagList(sn.tags)}
}

func (s *Server) describeVpcs(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		VpcIDs     []string `query:"VpcId"`
		Filters    []Filter `query:"Filter"`
		MaxResults int32
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.VpcIDs {
		if !strings.HasPrefix(id, "vpc-") {
			return nil, awsproto.Errf("InvalidVpcID.Malformed", "Invalid id: \"%s\"", id)
		}
		if s.vpcs[id] == nil {
			return nil, awsproto.Errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	}
	out, err := filtered(sortedVpcs(s.vpcs), listed(in.VpcIDs, func(v *vpc) string { return v.id }), in.Filters, s.vpcField, func(v *vpc) tags { return v.tags }, s.vpcXML)
	if err != nil {
		return nil, err
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return struct {
		Vpcs      []vpcXML `xml:"vpcSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func (s *Server) deleteVpc(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		VpcID string `query:"VpcId,required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vpcs[in.VpcID] == nil {
		return nil, awsproto.Errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", in.VpcID)
	}
	for _, sn := range s.subnets {
		if sn.vpcID == in.VpcID {
			return nil, awsproto.Errf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", in.VpcID)
		}
	}
	for _, g := range s.groups {
		if g.vpcID == in.VpcID && g.name != "default" {
			return nil, awsproto.Errf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", in.VpcID)
		}
	}
	for k, g := range s.groups {
		if g.vpcID == in.VpcID {
			delete(s.groups, k)
		}
	}
	delete(s.vpcs, in.VpcID)
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

func (s *Server) describeSubnets(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		SubnetIDs  []string `query:"SubnetId"`
		Filters    []Filter `query:"Filter"`
		MaxResults int32
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.SubnetIDs {
		if !strings.HasPrefix(id, "subnet-") {
			return nil, awsproto.Errf("InvalidSubnetID.Malformed", "Invalid id: \"%s\"", id)
		}
		if s.subnets[id] == nil {
			return nil, awsproto.Errf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	out, err := filtered(sortedSubnets(s.subnets), listed(in.SubnetIDs, func(sn *subnet) string { return sn.id }), in.Filters, s.subnetField, func(sn *subnet) tags { return sn.tags }, s.subnetXML)
	if err != nil {
		return nil, err
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 5, 1000)
	if err != nil {
		return nil, err
	}
	return struct {
		Subnets   []subnetXML `xml:"subnetSet>item"`
		NextToken string      `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func (s *Server) deleteSubnet(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		SubnetID string `query:"SubnetId,required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subnets[in.SubnetID] == nil {
		return nil, awsproto.Errf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", in.SubnetID)
	}
	delete(s.subnets, in.SubnetID)
	return nil, nil
}

func (s *Server) describeAvailabilityZones(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ZoneNames []string `query:"ZoneName"`
		ZoneIDs   []string `query:"ZoneId"`
		Filters   []Filter `query:"Filter"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	type az struct {
		ZoneName           string `xml:"zoneName"`
		ZoneID             string `xml:"zoneId"`
		State              string `xml:"zoneState"`
		RegionName         string `xml:"regionName"`
		GroupName          string `xml:"groupName"`
		NetworkBorderGroup string `xml:"networkBorderGroup"`
		ZoneType           string `xml:"zoneType"`
		OptInStatus        string `xml:"optInStatus"`
	}
	var out []az
	for _, z := range s.zones() {
		if len(in.ZoneNames) > 0 && !contains(in.ZoneNames, z[0]) || len(in.ZoneIDs) > 0 && !contains(in.ZoneIDs, z[1]) {
			continue
		}
		ok, err := filterSet(in.Filters).match(func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z[0]}, true
			case "zone-id":
				return []string{z[1]}, true
			case "state":
				return []string{"available"}, true
			case "region-name":
				return []string{s.region}, true
			case "zone-type":
				return []string{"availability-zone"}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, az{z[0], z[1], "available", s.region, s.region, s.region, "availability-zone", "opt-in-not-required"})
		}
	}
	for _, n := range in.ZoneNames {
		found := false
		for _, z := range s.zones() {
			found = found || z[0] == n
		}
		if !found {
			return nil, awsproto.Errf("InvalidParameterValue", "The zone '%s' does not exist.", n)
		}
	}
	return struct {
		Zones []az `xml:"availabilityZoneInfo>item"`
	}{out}, nil
}

// resourceTags returns the tag map of a taggable resource, or an error
// naming the resource type's NotFound code.
func (s *Server) resourceTags(id string) (tags, error) {
	switch {
	case strings.HasPrefix(id, "vpc-"):
		if v := s.vpcs[id]; v != nil {
			return v.tags, nil
		}
		return nil, awsproto.Errf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	case strings.HasPrefix(id, "subnet-"):
		if v := s.subnets[id]; v != nil {
			return v.tags, nil
		}
		return nil, awsproto.Errf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	case strings.HasPrefix(id, "sg-"):
		if v := s.groups[id]; v != nil {
			return v.tags, nil
		}
		return nil, awsproto.Errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	case strings.HasPrefix(id, "lt-"):
		if v := s.lts[id]; v != nil {
			return v.tags, nil
		}
		return nil, awsproto.Errf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	}
	return nil, awsproto.Errf("InvalidID", "The ID '%s' is not valid", id)
}

func (s *Server) createTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Resources []string `query:"ResourceId,required"`
		Tags      []Tag    `query:"Tag,required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []tags
	for _, id := range in.Resources {
		t, err := s.resourceTags(id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		if len(t)+len(in.Tags) > 50 {
			return nil, awsproto.Errf("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
	}
	for _, t := range targets {
		for _, tag := range in.Tags {
			t[tag.Key] = tag.Value
		}
	}
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

func (s *Server) deleteTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Resources []string `query:"ResourceId,required"`
		Tags      []struct {
			Key   string
			Value *string
		} `query:"Tag"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.Resources {
		t, err := s.resourceTags(id)
		if err != nil {
			return nil, err
		}
		for _, tag := range in.Tags {
			if tag.Value == nil || t[tag.Key] == *tag.Value {
				delete(t, tag.Key)
			}
		}
	}
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedVpcs(m map[string]*vpc) []*vpc {
	out := make([]*vpc, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func sortedSubnets(m map[string]*subnet) []*subnet {
	out := make([]*subnet, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].az < out[j].az || out[i].az == out[j].az && out[i].id < out[j].id })
	return out
}

// vpcField answers a Describe filter name for one vpc.
func (s *Server) vpcField(v *vpc, name string) ([]string, bool) {
	switch name {
	case "vpc-id":
		return []string{v.id}, true
	case "is-default", "isDefault":
		return []string{boolStr(v.isDefault)}, true
	case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
		return []string{v.cidr}, true
	case "state":
		return []string{"available"}, true
	case "owner-id":
		return []string{s.account}, true
	}
	return nil, false
}

// subnetField answers a Describe filter name for one subnet.
func (s *Server) subnetField(sn *subnet, name string) ([]string, bool) {
	switch name {
	case "vpc-id", "vpcId":
		return []string{sn.vpcID}, true
	case "subnet-id", "subnetId":
		return []string{sn.id}, true
	case "default-for-az", "defaultForAz":
		return []string{boolStr(sn.defaultForAz)}, true
	case "availability-zone", "availabilityZone":
		return []string{sn.az}, true
	case "availability-zone-id", "availabilityZoneId":
		return []string{sn.azID}, true
	case "cidr-block", "cidr", "cidrBlock":
		return []string{sn.cidr}, true
	case "state":
		return []string{"available"}, true
	case "map-public-ip-on-launch":
		return []string{boolStr(sn.defaultForAz)}, true
	case "owner-id":
		return []string{s.account}, true
	}
	return nil, false
}
