// Package ec2emu is opsctl's stateful in-process emulation of the parts of
// Amazon EC2 (SigV4 name "ec2", EC2 Query protocol) that `opsctl deploy`
// uses: the account's default VPC and its default subnets, security groups
// and their ingress rules, launch templates and their versions, the instance
// type catalogue (DescribeInstanceTypes, DescribeInstanceTypeOfferings) and
// tags.
//
// Like a new AWS account, the emulation starts with a default VPC
// (172.31.0.0/16) holding one default /20 subnet per Availability Zone
// (us-east-1a … us-east-1f in us-east-1, a … c elsewhere) and the VPC's
// "default" security group.
//
// Test control — starting without a default VPC, as in an account whose
// default VPC was deleted — is done the way a user does it in AWS: delete the
// default subnets (DeleteSubnet) and then the VPC (DeleteVpc). In-process
// tests may call Server.RemoveDefaultVPC, which does the same in one step.
//
// Error codes and texts follow the EC2 API reference's "Error codes" page
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html):
// InvalidVpcID.NotFound, InvalidSubnetID.NotFound, InvalidGroup.Duplicate,
// InvalidGroup.NotFound, InvalidGroup.Reserved, CannotDelete,
// DependencyViolation, InvalidPermission.Duplicate, InvalidPermission.Malformed,
// InvalidLaunchTemplateName.AlreadyExistsException,
// InvalidLaunchTemplateName.NotFoundException,
// InvalidLaunchTemplateName.MalformedException,
// InvalidLaunchTemplateId.NotFound, InvalidLaunchTemplateId.Malformed,
// InvalidLaunchTemplateId.VersionNotFound, InvalidInstanceType,
// MissingParameter, InvalidParameterValue, InvalidParameterCombination,
// VPCIdNotSpecified, DryRunOperation.
package ec2emu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Server is the EC2 emulation. It is an http.Handler.
type Server struct {
	region, account string
	clock           clock.Clock
	proto           *awsproto.EC2Service

	mu      sync.Mutex
	seq     int
	vpcs    map[string]*vpc
	subnets map[string]*subnet
	groups  map[string]*securityGroup
	lts     map[string]*launchTemplate // by id
	ruleSeq int
}

type tags map[string]string

type vpc struct {
	id, cidr  string
	isDefault bool
	tags      tags
}

type subnet struct {
	id, vpcID, cidr, az, azID string
	defaultForAz              bool
	tags                      tags
}

type securityGroup struct {
	id, name, description, vpcID string
	ingress                      []rule
	egress                       []rule
	tags                         tags
}

// rule is one peer of one permission: EC2 stores and numbers rules this way.
type rule struct {
	id          string
	protocol    string
	from, to    int32
	hasPorts    bool
	cidr        string
	groupID     string
	description string
}

type launchTemplate struct {
	id, name       string
	created        time.Time
	defaultVersion int64
	versions       []*ltVersion // ascending; deleted versions are removed
	latest         int64
	tags           tags
}

type ltVersion struct {
	number      int64
	description string
	created     time.Time
	data        LaunchTemplateData
}

// New returns an EC2 for account in region, with a default VPC. clk may be
// nil (real time).
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{
		region: region, account: account, clock: clock.Or(clk),
		vpcs: map[string]*vpc{}, subnets: map[string]*subnet{}, groups: map[string]*securityGroup{}, lts: map[string]*launchTemplate{},
	}
	s.createDefaultVPC()
	ops := map[string]awsproto.Handler{
		"DescribeVpcs":                   s.describeVpcs,
		"DeleteVpc":                      s.deleteVpc,
		"DescribeSubnets":                s.describeSubnets,
		"DeleteSubnet":                   s.deleteSubnet,
		"DescribeAvailabilityZones":      s.describeAvailabilityZones,
		"CreateSecurityGroup":            s.createSecurityGroup,
		"DescribeSecurityGroups":         s.describeSecurityGroups,
		"AuthorizeSecurityGroupIngress":  s.authorizeIngress,
		"RevokeSecurityGroupIngress":     s.revokeIngress,
		"DeleteSecurityGroup":            s.deleteSecurityGroup,
		"CreateLaunchTemplate":           s.createLaunchTemplate,
		"CreateLaunchTemplateVersion":    s.createLaunchTemplateVersion,
		"DescribeLaunchTemplates":        s.describeLaunchTemplates,
		"DescribeLaunchTemplateVersions": s.describeLaunchTemplateVersions,
		"ModifyLaunchTemplate":           s.modifyLaunchTemplate,
		"DeleteLaunchTemplate":           s.deleteLaunchTemplate,
		"DescribeInstanceTypes":          s.describeInstanceTypes,
		"DescribeInstanceTypeOfferings":  s.describeInstanceTypeOfferings,
		"CreateTags":                     s.createTags,
		"DeleteTags":                     s.deleteTags,
	}
	for name, h := range ops {
		ops[name] = dryRunnable(h)
	}
	s.proto = &awsproto.EC2Service{Version: "2016-11-15", Ops: ops}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.proto.ServeHTTP(w, r) }

// dryRunnable answers DryRun=true requests as EC2 does for a caller with
// permission: DryRunOperation (HTTP 412), nothing changed.
func dryRunnable(h awsproto.Handler) awsproto.Handler {
	return func(r *http.Request, dec awsproto.Decoder) (any, error) {
		var form url.Values
		if err := dec(&form); err != nil {
			return nil, err
		}
		if strings.EqualFold(form.Get("DryRun"), "true") {
			e := awsproto.Errf("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
			e.Status = http.StatusPreconditionFailed
			return nil, e
		}
		return h(r, dec)
	}
}

// zones are the Availability Zones of the region (name, zone id).
func (s *Server) zones() [][2]string {
	letters := "abc"
	if s.region == "us-east-1" {
		letters = "abcdef"
	}
	short := regionShort(s.region)
	var out [][2]string
	for i, l := range letters {
		out = append(out, [2]string{s.region + string(l), fmt.Sprintf("%s-az%d", short, i+1)})
	}
	return out
}

// regionShort is the zone-id prefix of a region (us-east-1 → use1).
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := map[string]string{"east": "e", "west": "w", "north": "n", "south": "s", "central": "c", "northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}[parts[1]]
	if dir == "" {
		dir = parts[1][:1]
	}
	return parts[0] + dir + parts[2]
}

// newID returns a resource id with prefix and 17 hex digits, deterministic
// for a given account, region and creation order.
func (s *Server) newID(prefix string) string {
	s.seq++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", s.account, s.region, prefix, s.seq)))
	return prefix + "-" + hex.EncodeToString(h[:])[:17]
}

func (s *Server) createDefaultVPC() {
	v := &vpc{id: s.newID("vpc"), cidr: "172.31.0.0/16", isDefault: true, tags: tags{}}
	s.vpcs[v.id] = v
	for i, z := range s.zones() {
		sn := &subnet{id: s.newID("subnet"), vpcID: v.id, cidr: fmt.Sprintf("172.31.%d.0/20", 16*i), az: z[0], azID: z[1], defaultForAz: true, tags: tags{}}
		s.subnets[sn.id] = sn
	}
	s.addDefaultGroup(v.id)
}

// addDefaultGroup creates a VPC's "default" security group: all traffic from
// itself in, everything out.
func (s *Server) addDefaultGroup(vpcID string) {
	g := &securityGroup{id: s.newID("sg"), name: "default", description: "default VPC security group", vpcID: vpcID, tags: tags{}}
	g.ingress = []rule{{id: s.newRuleID(), protocol: "-1", groupID: g.id}}
	g.egress = []rule{{id: s.newRuleID(), protocol: "-1", cidr: "0.0.0.0/0"}}
	s.groups[g.id] = g
}

func (s *Server) newRuleID() string { return s.newID("sgr") }

// DefaultVPC returns the id of the default VPC, or "".
func (s *Server) DefaultVPC() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultVPCLocked()
}

func (s *Server) defaultVPCLocked() string {
	for _, v := range s.vpcs {
		if v.isDefault {
			return v.id
		}
	}
	return ""
}

// RemoveDefaultVPC deletes the default VPC with its subnets and security
// groups (test control: an account without a default VPC).
func (s *Server) RemoveDefaultVPC() {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.defaultVPCLocked()
	if id == "" {
		return
	}
	for k, sn := range s.subnets {
		if sn.vpcID == id {
			delete(s.subnets, k)
		}
	}
	for k, g := range s.groups {
		if g.vpcID == id {
			delete(s.groups, k)
		}
	}
	delete(s.vpcs, id)
}

// Shared shapes.

// Tag is an EC2 tag in requests (Tag.N.Key) and responses (item/key).
type Tag struct {
	Key   string `query:"Key" xml:"key"`
	Value string `query:"Value" xml:"value"`
}

// TagSpecification is a request's TagSpecification.N.
type TagSpecification struct {
	ResourceType string
	Tags         []Tag `query:"Tag"`
}

// Filter is a request's Filter.N.
type Filter struct {
	Name   string
	Values []string `query:"Value"`
}

func tagList(t tags) []Tag {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, Tag{Key: k, Value: t[k]})
	}
	return out
}

// tagsFor collects the tags of specs aimed at resourceType.
func tagsFor(specs []TagSpecification, resourceType string) (tags, error) {
	out := tags{}
	for _, sp := range specs {
		if sp.ResourceType == "" {
			return nil, awsproto.Errf("InvalidParameterValue", "Tag specification resource type must have a value")
		}
		if sp.ResourceType != resourceType {
			return nil, awsproto.Errf("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		}
		for _, t := range sp.Tags {
			if err := checkTag(t); err != nil {
				return nil, err
			}
			out[t.Key] = t.Value
		}
	}
	return out, nil
}

func checkTag(t Tag) error {
	switch {
	case t.Key == "":
		return awsproto.Errf("InvalidParameterValue", "Tag key cannot be null or empty.")
	case len(t.Key) > 128:
		return awsproto.Errf("InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return awsproto.Errf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
	case len(t.Value) > 256:
		return awsproto.Errf("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
	}
	return nil
}

// filterSet matches resources against request filters. get returns the
// values a resource has for a filter name and whether the name is known.
type filterSet []Filter

func (fs filterSet) match(get func(name string) ([]string, bool)) (bool, error) {
	for _, f := range fs {
		have, known := get(f.Name)
		if !known {
			return false, awsproto.Errf("InvalidParameterValue", "The filter '%s' is invalid", f.Name)
		}
		if !anyMatch(f.Values, have) {
			return false, nil
		}
	}
	return true, nil
}

// anyMatch reports whether any of have matches any pattern (EC2 filter
// values accept * and ? wildcards).
func anyMatch(patterns, have []string) bool {
	for _, p := range patterns {
		for _, h := range have {
			if ok, _ := path.Match(p, h); ok || p == h {
				return true
			}
		}
	}
	return false
}

// tagFilter answers the tag:<key> and tag-key filters.
func tagFilter(name string, t tags) ([]string, bool) {
	if k, ok := strings.CutPrefix(name, "tag:"); ok {
		if v, ok := t[k]; ok {
			return []string{v}, true
		}
		return nil, true
	}
	if name == "tag-key" {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		return keys, true
	}
	return nil, false
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

// page applies MaxResults/NextToken (only when the caller asked for pages,
// as EC2 returns everything otherwise), checking MaxResults against the
// operation's range from the API model.
func page[T any](items []T, token string, max, lo, hi int32) ([]T, string, error) {
	if max == 0 && token == "" {
		return items, "", nil
	}
	if max != 0 && (max < lo || max > hi) {
		return nil, "", awsproto.Errf("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", max, lo, hi)
	}
	size := int(max)
	if size == 0 {
		size = int(hi)
	}
	return awsproto.Paginate(items, token, size, size, "InvalidNextToken")
}

// filtered is the loop every Describe* shares: of items, those keep selects
// (the ids or names the request lists) and the request's filters match,
// rendered. field answers a filter name for one item (its values, and
// whether the resource knows the name); tag:<key> and tag-key are answered
// from tagsOf (nil: the resource has no tags, so they are unknown names).
func filtered[T, X any](items []T, keep func(T) bool, filters []Filter, field func(T, string) ([]string, bool), tagsOf func(T) tags, render func(T) X) ([]X, error) {
	var out []X
	for _, it := range items {
		if !keep(it) {
			continue
		}
		ok, err := filterSet(filters).match(func(name string) ([]string, bool) {
			if v, known := field(it, name); known {
				return v, true
			}
			if tagsOf == nil {
				return nil, false
			}
			return tagFilter(name, tagsOf(it))
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, render(it))
		}
	}
	return out, nil
}

// listed is a keep for filtered: everything when the request names no ids,
// else the items whose id it names.
func listed[T any](ids []string, id func(T) string) func(T) bool {
	return func(it T) bool { return len(ids) == 0 || contains(ids, id(it)) }
}
