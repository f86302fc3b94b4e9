// Package ssmemu is the local endpoint's Systems Manager Parameter Store
// emulation (awsJson1.1, X-Amz-Target AmazonSSM.*, SigV4 name "ssm"):
// GetParameter, GetParameters, PutParameter and DescribeParameters, with the
// constraints, enums and error codes of botocore's ssm service-2.json.
//
// AWS's public parameters for the ECS-optimized Amazon Linux 2023 AMI
// (/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended and its
// /image_id child) are seeded, as deploy cluster reads them; SeedPublic lets a
// test replace the AMI to exercise a launch template update.
package ssmemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Public parameter paths (ECS developer guide, retrieve-ecs-optimized_AMI).
const (
	AL2023Recommended = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"
	AL2023ImageID     = AL2023Recommended + "/image_id"
	// DefaultAL2023AMI is the image id the endpoint seeds.
	DefaultAL2023AMI = "ami-0a1b2c3d4e5f60718"
)

const describePageSize = 10

// Server is the SSM emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk clock.Clock
	mu  sync.Mutex
	ps  map[string]*param
}

type param struct {
	name, typ, value, desc, keyID, tier, dataType, allowed string
	version                                                int64
	modified                                               time.Time
	public                                                 bool
	tags                                                   map[string]string
}

// New returns an emulation with AWS's public ECS AMI parameters seeded.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), ps: map[string]*param{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"GetParameter":       s.getParameter,
		"GetParameters":      s.getParameters,
		"PutParameter":       s.putParameter,
		"DescribeParameters": s.describeParameters,
	}
	s.SeedPublic(DefaultAL2023AMI)
	return s
}

// SeedPublic sets the public ECS-optimized AL2023 parameters to image id ami
// (a new version each time it changes), as AWS does when it releases an AMI.
func (s *Server) SeedPublic(ami string) {
	rec, _ := json.Marshal(map[string]string{
		"ecs_agent_version":   "1.86.2",
		"ecs_runtime_version": "Docker version 25.0.6",
		"image_id":            ami,
		"image_name":          "al2023-ami-ecs-hvm-2023.0.20241010-kernel-6.1-x86_64",
		"image_version":       "2023.0.20241010",
		"os":                  "Amazon Linux 2023",
		"schema_version":      "1",
		"source_image_name":   "al2023-ami-minimal-2023.6.20241010.0-kernel-6.1-x86_64",
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPublic(AL2023Recommended, string(rec))
	s.setPublic(AL2023ImageID, ami)
}

func (s *Server) setPublic(name, value string) {
	p := s.ps[name]
	if p == nil {
		p = &param{name: name, typ: "String", tier: "Standard", dataType: "text", public: true}
		s.ps[name] = p
	}
	if p.value == value && p.version > 0 {
		return
	}
	p.value = value
	p.version++
	p.modified = s.clk.Now()
}

func (s *Server) arn(name string) string {
	if strings.HasPrefix(name, "/aws/service/") {
		return fmt.Sprintf("arn:aws:ssm:%s::parameter%s", s.Region, name)
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.Region, s.Account, name)
}

// ---- validation (botocore ssm service-2.json) ----

func validation(value any, member, constraint string) error {
	return awsproto.Errf("ValidationException", "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

// parameterNameRe is what AWS accepts as a parameter name: letters, numbers
// and . - _ with / as the hierarchy separator (PutParameter Name docs).
var parameterNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func checkName(name, member string) error {
	if len(name) < 1 {
		return validation(name, member, "Member must have length greater than or equal to 1")
	}
	if len(name) > 2048 {
		return validation(name, member, "Member must have length less than or equal to 2048")
	}
	return nil
}

// resolveName strips a :version or :label selector and an ARN prefix.
func (s *Server) resolveName(in string) (name, selector string) {
	if strings.HasPrefix(in, "arn:") {
		if i := strings.Index(in, ":parameter"); i >= 0 {
			in = in[i+len(":parameter"):]
		}
	}
	if i := strings.LastIndexByte(in, ':'); i > 0 {
		return in[:i], in[i:]
	}
	return in, ""
}

func (s *Server) lookup(in string) (*param, string, error) {
	name, sel := s.resolveName(in)
	p := s.ps[name]
	if p == nil && !strings.HasPrefix(name, "/") {
		p = s.ps["/"+name]
	}
	if p == nil {
		return nil, "", nil
	}
	if sel != "" && sel != fmt.Sprintf(":%d", p.version) {
		return nil, sel, awsproto.Errf("ParameterVersionNotFound", "Systems Manager could not find version %s of %s. Verify the version and try again.", strings.TrimPrefix(sel, ":"), name)
	}
	return p, sel, nil
}

type outParam struct {
	Name             string             `json:"Name"`
	Type             string             `json:"Type"`
	Value            string             `json:"Value"`
	Version          int64              `json:"Version"`
	Selector         string             `json:"Selector,omitempty"`
	LastModifiedDate awsproto.EpochTime `json:"LastModifiedDate"`
	ARN              string             `json:"ARN"`
	DataType         string             `json:"DataType"`
}

func (s *Server) out(p *param, sel string, decrypt bool) outParam {
	v := p.value
	if p.typ == "SecureString" && !decrypt {
		// Without WithDecryption the value comes back encrypted.
		v = "AQICAH" + strings.Repeat("x", 16)
	}
	return outParam{Name: p.name, Type: p.typ, Value: v, Version: p.version, Selector: sel,
		LastModifiedDate: awsproto.EpochTime(p.modified), ARN: s.arn(p.name), DataType: p.dataType}
}

func (s *Server) getParameter(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name           *string
		WithDecryption bool
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Name == nil {
		return nil, validation("null", "name", "Member must not be null")
	}
	if err := checkName(*in.Name, "name"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, sel, err := s.lookup(*in.Name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, awsproto.Errf("ParameterNotFound", "Parameter %s not found.", *in.Name)
	}
	return map[string]any{"Parameter": s.out(p, sel, in.WithDecryption)}, nil
}

func (s *Server) getParameters(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Names) < 1 {
		return nil, validation("[]", "names", "Member must have length greater than or equal to 1")
	}
	if len(in.Names) > 10 {
		return nil, validation(fmt.Sprintf("%v", in.Names), "names", "Member must have length less than or equal to 10")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	params := []outParam{}
	invalid := []string{}
	for _, n := range in.Names {
		if err := checkName(n, "names"); err != nil {
			return nil, err
		}
		p, sel, err := s.lookup(n)
		if p == nil || err != nil {
			invalid = append(invalid, n)
			continue
		}
		params = append(params, s.out(p, sel, in.WithDecryption))
	}
	out := map[string]any{"Parameters": params}
	if len(invalid) > 0 {
		out["InvalidParameters"] = invalid
	}
	return out, nil
}

var (
	typeEnum = []string{"String", "StringList", "SecureString"}
	tierEnum = []string{"Standard", "Advanced", "Intelligent-Tiering"}
)

func inEnum(v string, enum []string) bool {
	for _, e := range enum {
		if v == e {
			return true
		}
	}
	return false
}

func (s *Server) putParameter(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name, Value                                              *string
		Description, Type, KeyId, AllowedPattern, Tier, DataType *string
		Overwrite                                                bool
		Tags                                                     []struct{ Key, Value string }
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Name == nil:
		return nil, validation("null", "name", "Member must not be null")
	case in.Value == nil:
		return nil, validation("null", "value", "Member must not be null")
	}
	if err := checkName(*in.Name, "name"); err != nil {
		return nil, err
	}
	name := *in.Name
	if !parameterNameRe.MatchString(name) {
		return nil, awsproto.Errf("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.")
	}
	low := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
		return nil, awsproto.Errf("AccessDeniedException", "No access to reserved parameter name: %s.", name)
	}
	if strings.Count(name, "/") > 15 {
		return nil, awsproto.Errf("HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels.")
	}
	if in.Type != nil && !inEnum(*in.Type, typeEnum) {
		return nil, validation(*in.Type, "type", "Member must satisfy enum value set: [String, StringList, SecureString]")
	}
	if in.Tier != nil && !inEnum(*in.Tier, tierEnum) {
		return nil, validation(*in.Tier, "tier", "Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]")
	}
	if in.Description != nil && len(*in.Description) > 1024 {
		return nil, validation(*in.Description, "description", "Member must have length less than or equal to 1024")
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return nil, awsproto.Errf("ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	tier := "Standard"
	if in.Tier != nil {
		tier = *in.Tier
	}
	// Standard parameters hold up to 4 KB, advanced up to 8 KB (PutParameter Value docs).
	if max := 4096; tier == "Standard" && len(*in.Value) > max {
		return nil, validation("***", "value", "Member must have length less than or equal to 4096")
	} else if len(*in.Value) > 8192 {
		return nil, validation("***", "value", "Member must have length less than or equal to 8192")
	}
	if in.AllowedPattern != nil && *in.AllowedPattern != "" {
		re, err := regexp.Compile(*in.AllowedPattern)
		if err != nil {
			return nil, awsproto.Errf("InvalidAllowedPatternException", "The allowed pattern is not a valid regular expression.")
		}
		if !re.MatchString(*in.Value) {
			return nil, awsproto.Errf("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: %s", *in.AllowedPattern)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ps[name]
	if p != nil {
		if !in.Overwrite {
			return nil, awsproto.Errf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		if in.Type != nil && *in.Type != p.typ {
			// Type can change only from String to StringList and back? AWS allows
			// changing the type on overwrite; keep it simple and accept.
			p.typ = *in.Type
		}
		if p.version >= 100 {
			return nil, awsproto.Errf("ParameterMaxVersionLimitExceeded", "Parameter %s has reached the maximum number of 100 versions.", name)
		}
	} else {
		if in.Type == nil {
			return nil, awsproto.Errf("ValidationException", "A parameter type is required when you create a parameter.")
		}
		p = &param{name: name, typ: *in.Type, dataType: "text", tags: map[string]string{}}
		s.ps[name] = p
	}
	p.value = *in.Value
	p.tier = tier
	if in.Description != nil {
		p.desc = *in.Description
	}
	if in.DataType != nil && *in.DataType != "" {
		if *in.DataType != "text" && *in.DataType != "aws:ec2:image" && *in.DataType != "aws:ssm:integration" {
			return nil, awsproto.Errf("ValidationException", "The following data type is not supported: %s (Data type names are all lowercase.)", *in.DataType)
		}
		p.dataType = *in.DataType
	}
	if p.typ == "SecureString" {
		p.keyID = "alias/aws/ssm"
		if in.KeyId != nil {
			p.keyID = *in.KeyId
		}
	}
	if in.AllowedPattern != nil {
		p.allowed = *in.AllowedPattern
	}
	for _, t := range in.Tags {
		p.tags[t.Key] = t.Value
	}
	p.version++
	p.modified = s.clk.Now()
	return map[string]any{"Version": p.version, "Tier": p.tier}, nil
}

type paramMeta struct {
	Name             string             `json:"Name"`
	ARN              string             `json:"ARN"`
	Type             string             `json:"Type"`
	KeyId            string             `json:"KeyId,omitempty"`
	LastModifiedDate awsproto.EpochTime `json:"LastModifiedDate"`
	LastModifiedUser string             `json:"LastModifiedUser"`
	Description      string             `json:"Description,omitempty"`
	AllowedPattern   string             `json:"AllowedPattern,omitempty"`
	Version          int64              `json:"Version"`
	Tier             string             `json:"Tier"`
	Policies         []any              `json:"Policies"`
	DataType         string             `json:"DataType"`
}

// filterKeyRe is ParameterStringFilterKey's pattern.
var filterKeyRe = regexp.MustCompile(`^(tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType)$`)

func (s *Server) describeParameters(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
		ParameterFilters []struct {
			Key    string
			Option *string
			Values []string
		}
		MaxResults *int
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50) {
		c := "Member must have value less than or equal to 50"
		if *in.MaxResults < 1 {
			c = "Member must have value greater than or equal to 1"
		}
		return nil, validation(*in.MaxResults, "maxResults", c)
	}
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, awsproto.Errf("ValidationException", "You can use either Filters or ParameterFilters in a single request.")
	}
	type pred func(p *param) bool
	var preds []pred
	for _, f := range in.Filters {
		if !inEnum(f.Key, []string{"Name", "Type", "KeyId"}) {
			return nil, validation(f.Key, "filters.1.member.key", "Member must satisfy enum value set: [Name, Type, KeyId]")
		}
		key, vals := f.Key, f.Values
		preds = append(preds, func(p *param) bool { return matchAny(fieldOf(p, key), vals, "Equals") })
	}
	for _, f := range in.ParameterFilters {
		if !filterKeyRe.MatchString(f.Key) {
			return nil, awsproto.Errf("InvalidFilterKey", "The specified key is not valid.")
		}
		opt := "Equals"
		if f.Option != nil {
			opt = *f.Option
		}
		switch {
		case f.Key == "Path" && opt != "Recursive" && opt != "OneLevel":
			if f.Option != nil {
				return nil, awsproto.Errf("InvalidFilterOption", "The filter option is not valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.")
			}
			opt = "OneLevel"
		case f.Key != "Path" && opt != "Equals" && opt != "BeginsWith" && !(f.Key == "Name" && opt == "Contains"):
			return nil, awsproto.Errf("InvalidFilterOption", "The filter option is not valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.")
		}
		if len(f.Values) == 0 && !strings.HasPrefix(f.Key, "tag:") {
			return nil, awsproto.Errf("InvalidFilterValue", "The filter value is not valid. Verify the value and try again.")
		}
		key, vals, o := f.Key, f.Values, opt
		if key == "Path" {
			preds = append(preds, func(p *param) bool {
				for _, v := range vals {
					prefix := strings.TrimSuffix(v, "/") + "/"
					if !strings.HasPrefix(p.name, prefix) {
						continue
					}
					if o == "Recursive" || !strings.Contains(p.name[len(prefix):], "/") {
						return true
					}
				}
				return false
			})
			continue
		}
		if strings.HasPrefix(key, "tag:") {
			tk := strings.TrimPrefix(key, "tag:")
			preds = append(preds, func(p *param) bool {
				v, ok := p.tags[tk]
				return ok && (len(vals) == 0 || matchAny(v, vals, o))
			})
			continue
		}
		preds = append(preds, func(p *param) bool { return matchAny(fieldOf(p, key), vals, o) })
	}
	s.mu.Lock()
	var names []string
	for n, p := range s.ps {
		if !p.public { // DescribeParameters lists the account's own parameters
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var list []paramMeta
	for _, n := range names {
		p := s.ps[n]
		ok := true
		for _, f := range preds {
			if !f(p) {
				ok = false
				break
			}
		}
		if ok {
			list = append(list, paramMeta{Name: p.name, ARN: s.arn(p.name), Type: p.typ, KeyId: p.keyID,
				LastModifiedDate: awsproto.EpochTime(p.modified), LastModifiedUser: fmt.Sprintf("arn:aws:iam::%s:user/opsctl", s.Account),
				Description: p.desc, AllowedPattern: p.allowed, Version: p.version, Tier: p.tier, Policies: []any{}, DataType: p.dataType})
		}
	}
	s.mu.Unlock()
	limit := 0
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	page, next, err := awsproto.Paginate(list, in.NextToken, limit, describePageSize, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Parameters": append([]paramMeta{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func fieldOf(p *param, key string) string {
	switch key {
	case "Name":
		return p.name
	case "Type":
		return p.typ
	case "KeyId":
		return p.keyID
	case "Tier":
		return p.tier
	case "DataType":
		return p.dataType
	}
	return ""
}

func matchAny(v string, vals []string, opt string) bool {
	for _, w := range vals {
		switch opt {
		case "BeginsWith":
			if strings.HasPrefix(v, w) {
				return true
			}
		case "Contains":
			if strings.Contains(v, w) {
				return true
			}
		default:
			if v == w {
				return true
			}
		}
	}
	return false
}

var _ http.Handler = (*Server)(nil)
