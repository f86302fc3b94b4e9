package ec2emu

import (
	"encoding/base64"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// LaunchTemplateData is the part of botocore ec2 RequestLaunchTemplateData /
// ResponseLaunchTemplateData the emulation keeps: decoded from requests by
// their query names and echoed in responses by their locationNames.
// Members it does not model are not kept.
type LaunchTemplateData struct {
	ImageID            string `query:"ImageId" xml:"imageId,omitempty"`
	InstanceType       string `xml:"instanceType,omitempty"`
	KeyName            string `xml:"keyName,omitempty"`
	UserData           string `xml:"userData,omitempty"`
	EbsOptimized       *bool  `xml:"ebsOptimized,omitempty"`
	IamInstanceProfile *struct {
		Arn  string `xml:"arn,omitempty"`
		Name string `xml:"name,omitempty"`
	} `xml:"iamInstanceProfile,omitempty"`
	SecurityGroupIDs []string `query:"SecurityGroupId" xml:"securityGroupIdSet>item"`
	SecurityGroups   []string `query:"SecurityGroup" xml:"securityGroupSet>item"`
	MetadataOptions  *struct {
		HTTPTokens              string `query:"HttpTokens" xml:"httpTokens,omitempty"`
		HTTPPutResponseHopLimit *int32 `query:"HttpPutResponseHopLimit" xml:"httpPutResponseHopLimit,omitempty"`
		HTTPEndpoint            string `query:"HttpEndpoint" xml:"httpEndpoint,omitempty"`
		InstanceMetadataTags    string `xml:"instanceMetadataTags,omitempty"`
	} `xml:"metadataOptions,omitempty"`
	Monitoring *struct {
		Enabled bool `xml:"enabled"`
	} `xml:"monitoring,omitempty"`
	TagSpecifications []struct {
		ResourceType string `xml:"resourceType"`
		Tags         []Tag  `query:"Tag" xml:"tagSet>item"`
	} `query:"TagSpecification" xml:"tagSpecificationSet>item"`
}

type ltXML struct {
	ID             string           `xml:"launchTemplateId"`
	Name           string           `xml:"launchTemplateName"`
	CreateTime     awsproto.XMLTime `xml:"createTime"`
	CreatedBy      string           `xml:"createdBy"`
	DefaultVersion int64            `xml:"defaultVersionNumber"`
	LatestVersion  int64            `xml:"latestVersionNumber"`
	Tags           []Tag            `xml:"tagSet>item"`
}

type ltVersionXML struct {
	ID          string             `xml:"launchTemplateId"`
	Name        string             `xml:"launchTemplateName"`
	Number      int64              `xml:"versionNumber"`
	Description string             `xml:"versionDescription,omitempty"`
	CreateTime  awsproto.XMLTime   `xml:"createTime"`
	CreatedBy   string             `xml:"createdBy"`
	Default     bool               `xml:"defaultVersion"`
	Data        LaunchTemplateData `xml:"launchTemplateData"`
}

// botocore ec2 LaunchTemplateName: min 3, max 128, pattern [a-zA-Z0-9\(\)\.\-/_]+.
var ltNameRe = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

var ltIDRe = regexp.MustCompile(`^lt-[0-9a-f]{17}$`)

func (s *Server) createdBy() string { return "arn:aws:iam::" + s.account + ":root" }

func (s *Server) ltXML(lt *launchTemplate) ltXML {
	return ltXML{ID: lt.id, Name: lt.name, CreateTime: awsproto.XMLTime(lt.created), CreatedBy: s.createdBy(),
		DefaultVersion: lt.defaultVersion, LatestVersion: lt.latest, Tags: tagList(lt.tags)}
}

func (s *Server) versionXML(lt *launchTemplate, v *ltVersion) ltVersionXML {
	return ltVersionXML{ID: lt.id, Name: lt.name, Number: v.number, Description: v.description, CreateTime: awsproto.XMLTime(v.created),
		CreatedBy: s.createdBy(), Default: v.number == lt.defaultVersion, Data: v.data}
}

func checkData(d LaunchTemplateData) error {
	if d.UserData != "" {
		if _, err := base64.StdEncoding.DecodeString(d.UserData); err != nil {
			return awsproto.Errf("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
		}
	}
	if d.InstanceType != "" && lookupType(d.InstanceType) == nil {
		return awsproto.Errf("InvalidParameterValue", "Invalid value '%s' for InstanceType.", d.InstanceType)
	}
	if d.MetadataOptions != nil {
		if t := d.MetadataOptions.HTTPTokens; t != "" && t != "optional" && t != "required" {
			return awsproto.Errf("InvalidParameterValue", "Value (%s) for parameter httpTokens is invalid. Valid values are optional and required.", t)
		}
		if h := d.MetadataOptions.HTTPPutResponseHopLimit; h != nil && (*h < 1 || *h > 64) {
			return awsproto.Errf("InvalidParameterValue", "Value (%d) for parameter httpPutResponseHopLimit is invalid. Expecting a value between 1 and 64.", *h)
		}
	}
	return nil
}

// findLT resolves the LaunchTemplateId or LaunchTemplateName of a request.
func (s *Server) findLT(id, name string) (*launchTemplate, error) {
	switch {
	case id != "" && name != "":
		return nil, awsproto.Errf("InvalidParameterCombination", "The request can include either a launch template ID or a launch template name, but not both.")
	case id != "":
		if !ltIDRe.MatchString(id) {
			return nil, awsproto.Errf("InvalidLaunchTemplateId.Malformed", "The specified ID for the launch template is not valid. Specify the ID in the form lt-xxxxxxxxxxxxxxxxx.")
		}
		if lt := s.lts[id]; lt != nil {
			return lt, nil
		}
		return nil, awsproto.Errf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	case name != "":
		for _, lt := range s.lts {
			if lt.name == name {
				return lt, nil
			}
		}
		return nil, awsproto.Errf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
	}
	return nil, awsproto.Errf("MissingParameter", "The request must include either the launch template ID or the launch template name.")
}

func (lt *launchTemplate) version(spec string) *ltVersion {
	n := int64(-1)
	switch spec {
	case "$Latest":
		n = lt.latest
	case "$Default", "":
		n = lt.defaultVersion
	default:
		if v, err := strconv.ParseInt(spec, 10, 64); err == nil {
			n = v
		}
	}
	for _, v := range lt.versions {
		if v.number == n {
			return v
		}
	}
	return nil
}

func (s *Server) createLaunchTemplate(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LaunchTemplateName string             `query:",required"`
		LaunchTemplateData LaunchTemplateData `query:",required"`
		VersionDescription string
		TagSpecifications  []TagSpecification `query:"TagSpecification"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if !ltNameRe.MatchString(in.LaunchTemplateName) {
		return nil, awsproto.Errf("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'")
	}
	if len(in.VersionDescription) > 255 {
		return nil, awsproto.Errf("InvalidParameterValue", "Version description must be at most 255 characters.")
	}
	if err := checkData(in.LaunchTemplateData); err != nil {
		return nil, err
	}
	t, err := tagsFor(in.TagSpecifications, "launch-template")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lt := range s.lts {
		if lt.name == in.LaunchTemplateName {
			return nil, awsproto.Errf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
	}
	now := s.clock.Now().UTC()
	lt := &launchTemplate{id: s.newID("lt"), name: in.LaunchTemplateName, created: now, defaultVersion: 1, latest: 1, tags: t,
		versions: []*ltVersion{{number: 1, description: in.VersionDescription, created: now, data: in.LaunchTemplateData}}}
	s.lts[lt.id] = lt
	return struct {
		LT ltXML `xml:"launchTemplate"`
	}{s.ltXML(lt)}, nil
}

// overlay returns base with every member set in over replacing base's
// (a new version inherits its source version's parameters).
func overlay(base, over LaunchTemplateData) LaunchTemplateData {
	out := base
	ov := reflect.ValueOf(over)
	o := reflect.ValueOf(&out).Elem()
	for i := 0; i < ov.NumField(); i++ {
		if !ov.Field(i).IsZero() {
			o.Field(i).Set(ov.Field(i))
		}
	}
	return out
}

func (s *Server) createLaunchTemplateVersion(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LaunchTemplateID   string             `query:"LaunchTemplateId"`
		LaunchTemplateName string             `query:"LaunchTemplateName"`
		LaunchTemplateData LaunchTemplateData `query:",required"`
		SourceVersion      string
		VersionDescription string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkData(in.LaunchTemplateData); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lt, err := s.findLT(in.LaunchTemplateID, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	data := in.LaunchTemplateData
	if in.SourceVersion != "" {
		src := lt.version(in.SourceVersion)
		if src == nil {
			return nil, awsproto.Errf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s.", in.SourceVersion, lt.id)
		}
		data = overlay(src.data, data)
	}
	if len(lt.versions) >= 10000 {
		return nil, awsproto.Errf("LaunchTemplateVersionLimitExceeded", "You've reached the maximum number of versions for this launch template.")
	}
	lt.latest++
	v := &ltVersion{number: lt.latest, description: in.VersionDescription, created: s.clock.Now().UTC(), data: data}
	lt.versions = append(lt.versions, v)
	return struct {
		V ltVersionXML `xml:"launchTemplateVersion"`
	}{s.versionXML(lt, v)}, nil
}

func (s *Server) describeLaunchTemplates(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		IDs        []string `query:"LaunchTemplateId"`
		Names      []string `query:"LaunchTemplateName"`
		Filters    []Filter `query:"Filter"`
		MaxResults int32
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.IDs {
		if _, err := s.findLT(id, ""); err != nil {
			return nil, err
		}
	}
	for _, n := range in.Names {
		if _, err := s.findLT("", n); err != nil {
			return nil, awsproto.Errf("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	out, err := filtered(s.sortedLTs(), func(lt *launchTemplate) bool {
		return (len(in.IDs) == 0 || contains(in.IDs, lt.id)) && (len(in.Names) == 0 || contains(in.Names, lt.name))
	}, in.Filters, s.ltField, func(lt *launchTemplate) tags { return lt.tags }, s.ltXML)
	if err != nil {
		return nil, err
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 1, 200)
	if err != nil {
		return nil, err
	}
	return struct {
		LTs       []ltXML `xml:"launchTemplates>item"`
		NextToken string  `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func (s *Server) describeLaunchTemplateVersions(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LaunchTemplateID   string   `query:"LaunchTemplateId"`
		LaunchTemplateName string   `query:"LaunchTemplateName"`
		Versions           []string `query:"LaunchTemplateVersion"`
		MinVersion         string
		MaxVersion         string
		MaxResults         int32
		NextToken          string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var templates []*launchTemplate
	if in.LaunchTemplateID == "" && in.LaunchTemplateName == "" {
		// Without a template, only $Latest and $Default of every template.
		for _, v := range in.Versions {
			if v != "$Latest" && v != "$Default" {
				return nil, awsproto.Errf("InvalidParameterCombination", "When you do not specify a launch template ID or name, you can only specify $Latest or $Default versions.")
			}
		}
		if len(in.Versions) == 0 {
			return nil, awsproto.Errf("MissingParameter", "The request must include either the launch template ID or the launch template name.")
		}
		templates = s.sortedLTs()
	} else {
		lt, err := s.findLT(in.LaunchTemplateID, in.LaunchTemplateName)
		if err != nil {
			return nil, err
		}
		templates = []*launchTemplate{lt}
	}
	var out []ltVersionXML
	for _, lt := range templates {
		if len(in.Versions) > 0 {
			seen := map[int64]bool{}
			for _, spec := range in.Versions {
				v := lt.version(spec)
				if v == nil {
					return nil, awsproto.Errf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s.", spec, lt.id)
				}
				if !seen[v.number] {
					seen[v.number] = true
					out = append(out, s.versionXML(lt, v))
				}
			}
			continue
		}
		lo, hi := int64(0), int64(1<<62)
		if in.MinVersion != "" {
			if v := lt.version(in.MinVersion); v != nil {
				lo = v.number
			}
		}
		if in.MaxVersion != "" {
			if v := lt.version(in.MaxVersion); v != nil {
				hi = v.number
			}
		}
		// Newest first, as EC2 lists them.
		for i := len(lt.versions) - 1; i >= 0; i-- {
			if v := lt.versions[i]; v.number >= lo && v.number <= hi {
				out = append(out, s.versionXML(lt, v))
			}
		}
	}
	items, next, err := page(out, in.NextToken, in.MaxResults, 1, 200)
	if err != nil {
		return nil, err
	}
	return struct {
		Versions  []ltVersionXML `xml:"launchTemplateVersionSet>item"`
		NextToken string         `xml:"nextToken,omitempty"`
	}{items, next}, nil
}

func (s *Server) modifyLaunchTemplate(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LaunchTemplateID   string `query:"LaunchTemplateId"`
		LaunchTemplateName string
		DefaultVersion     string `query:"SetDefaultVersion"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lt, err := s.findLT(in.LaunchTemplateID, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	if in.DefaultVersion != "" {
		if strings.HasPrefix(in.DefaultVersion, "$") && in.DefaultVersion != "$Latest" {
			return nil, awsproto.Errf("InvalidParameterValue", "Invalid value '%s' for SetDefaultVersion.", in.DefaultVersion)
		}
		v := lt.version(in.DefaultVersion)
		if v == nil {
			return nil, awsproto.Errf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s.", in.DefaultVersion, lt.id)
		}
		lt.defaultVersion = v.number
	}
	return struct {
		LT ltXML `xml:"launchTemplate"`
	}{s.ltXML(lt)}, nil
}

func (s *Server) deleteLaunchTemplate(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LaunchTemplateID   string `query:"LaunchTemplateId"`
		LaunchTemplateName string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lt, err := s.findLT(in.LaunchTemplateID, in.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	delete(s.lts, lt.id)
	return struct {
		LT ltXML `xml:"launchTemplate"`
	}{s.ltXML(lt)}, nil
}

func (s *Server) sortedLTs() []*launchTemplate {
	out := make([]*launchTemplate, 0, len(s.lts))
	for _, lt := range s.lts {
		out = append(out, lt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// LaunchTemplate returns a launch template's version data (spec: a number,
// "$Latest" or "$Default") for other emulations (Auto Scaling), and whether
// it exists. id may be an id or a name.
func (s *Server) LaunchTemplate(idOrName, spec string) (id, name string, data LaunchTemplateData, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lt *launchTemplate
	if strings.HasPrefix(idOrName, "lt-") {
		lt = s.lts[idOrName]
	}
	if lt == nil {
		for _, x := range s.lts {
			if x.name == idOrName {
				lt = x
			}
		}
	}
	if lt == nil {
		return "", "", LaunchTemplateData{}, false
	}
	v := lt.version(spec)
	if v == nil {
		return lt.id, lt.name, LaunchTemplateData{}, false
	}
	return lt.id, lt.name, v.data, true
}

// SubnetAZ returns a subnet's Availability Zone and VPC, for other
// emulations (Auto Scaling's VPCZoneIdentifier).
func (s *Server) SubnetAZ(id string) (az, vpcID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.subnets[id]
	if sn == nil {
		return "", "", false
	}
	return sn.az, sn.vpcID, true
}

// ltField answers a Describe filter name for one launchTemplate.
func (s *Server) ltField(lt *launchTemplate, name string) ([]string, bool) {
	switch name {
	case "launch-template-name":
		return []string{lt.name}, true
	case "create-time":
		return []string{lt.created.Format("2006-01-02T15:04:05.000Z")}, true
	}
	return nil, false
}
