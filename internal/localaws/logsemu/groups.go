package logsemu

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type createLogGroupInput struct {
	LogGroupName  *string           `json:"logGroupName"`
	KmsKeyID      *string           `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass *string           `json:"logGroupClass"`
}

func (s *Server) createLogGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in createLogGroupInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.LogGroupName == nil {
		return nil, model.Required("logGroupName", false)
	}
	if err := checkGroupName(*in.LogGroupName, "logGroupName"); err != nil {
		return nil, err
	}
	class := "STANDARD"
	if in.LogGroupClass != nil {
		// botocore logs LogGroupClass.enum.
		if err := model.Enum("logGroupClass", *in.LogGroupClass, "STANDARD", "INFREQUENT_ACCESS", "DELIVERY"); err != nil {
			return nil, err
		}
		class = *in.LogGroupClass
	}
	if err := tagRules.Check(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[*in.LogGroupName] != nil {
		return nil, awsproto.Errf("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	g := &logGroup{
		name:    *in.LogGroupName,
		created: s.nowMillis(),
		class:   class,
		tags:    map[string]string{},
		streams: map[string]*logStream{},
		filters: map[string]*metricFilter{},
	}
	if in.KmsKeyID != nil {
		g.kmsKeyID = *in.KmsKeyID
	}
	for k, v := range in.Tags {
		g.tags[k] = v
	}
	s.groups[g.name] = g
	return struct{}{}, nil
}

type logGroupNameInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (s *Server) deleteLogGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in logGroupNameInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	delete(s.groups, g.name)
	return struct{}{}, nil
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	LogGroupClass       *string  `json:"logGroupClass"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
}

type logGroupOut struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int32 `json:"retentionInDays,omitempty"`
	MetricFilterCount int32  `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	StoredBytes       int64  `json:"storedBytes"`
	KmsKeyID          string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string `json:"logGroupClass"`
	LogGroupArn       string `json:"logGroupArn"`
}

var groupPatternRe = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]*$`)

func (s *Server) describeLogGroups(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeLogGroupsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, 50); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, awsproto.InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if in.LogGroupIdentifiers != nil && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil) {
		return nil, awsproto.InvalidParameter("logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.")
	}
	if in.LogGroupNamePrefix != nil {
		if err := checkGroupName(*in.LogGroupNamePrefix, "logGroupNamePrefix"); err != nil {
			return nil, err
		}
	}
	if in.LogGroupNamePattern != nil {
		if err := model.Pattern("logGroupNamePattern", *in.LogGroupNamePattern, groupPatternRe); err != nil {
			return nil, err
		}
	}
	wanted := map[string]bool{}
	for _, id := range in.LogGroupIdentifiers {
		wanted[s.groupNameFromIdentifier(id)] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logGroupOut
	for _, name := range sortedKeys(s.groups) {
		g := s.groups[name]
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(name, *in.LogGroupNamePrefix):
			continue
		case in.LogGroupNamePattern != nil && !strings.Contains(strings.ToLower(name), strings.ToLower(*in.LogGroupNamePattern)):
			continue
		case in.LogGroupIdentifiers != nil && !wanted[name]:
			continue
		case in.LogGroupClass != nil && g.class != *in.LogGroupClass:
			continue
		}
		out = append(out, s.groupOut(g))
	}
	page, next, err := awsproto.Paginate(out, deref(in.NextToken), limitOf(in.Limit), groupPageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []logGroupOut{}
	}
	return struct {
		LogGroups []logGroupOut `json:"logGroups"`
		NextToken string        `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (s *Server) groupOut(g *logGroup) logGroupOut {
	o := logGroupOut{
		LogGroupName:      g.name,
		CreationTime:      g.created,
		MetricFilterCount: int32(len(g.filters)),
		Arn:               s.groupARN(g.name),
		KmsKeyID:          g.kmsKeyID,
		LogGroupClass:     g.class,
		LogGroupArn:       s.groupBareARN(g.name),
	}
	if g.retention > 0 {
		r := g.retention
		o.RetentionInDays = &r
	}
	for _, st := range g.streams {
		o.StoredBytes += st.storedBytes
	}
	return o
}

// validRetention are the retentionInDays values AWS accepts.
var validRetention = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int32  `json:"retentionInDays"`
}

func (s *Server) putRetentionPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in putRetentionPolicyInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil {
		return nil, model.Required("retentionInDays", false)
	}
	ok := false
	for _, d := range validRetention {
		ok = ok || d == *in.RetentionInDays
	}
	if !ok {
		var vals []string
		for _, d := range validRetention {
			vals = append(vals, fmt.Sprint(d))
		}
		return nil, model.Violation(*in.RetentionInDays, "retentionInDays", "Member must satisfy enum value set: ["+strings.Join(vals, ", ")+"]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	g.retention = *in.RetentionInDays
	return struct{}{}, nil
}

func (s *Server) deleteRetentionPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in logGroupNameInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	g.retention = 0
	return struct{}{}, nil
}

// ---- tags ----

// groupByARN resolves a tagging API's resourceArn. Caller holds s.mu.
func (s *Server) groupByARN(arn *string) (*logGroup, error) {
	if arn == nil {
		return nil, model.Required("resourceArn", false)
	}
	parts := strings.SplitN(*arn, ":", 7)
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "log-group" {
		return nil, awsproto.InvalidParameter("Invalid resource ARN: %s", *arn)
	}
	g := s.groups[strings.TrimSuffix(parts[6], ":*")]
	if g == nil || parts[3] != s.Region || parts[4] != s.Account {
		return nil, awsproto.ResourceNotFound("The specified resource does not exist.")
	}
	return g, nil
}

type tagResourceInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

func (s *Server) tagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in tagResourceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, model.Violation("{}", "tags", "Member must have length greater than or equal to 1")
	}
	if err := tagRules.Check(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupByARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return struct{}{}, tagRules.Apply(g.tags, in.Tags)
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Server) untagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in untagResourceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, model.Violation("[]", "tagKeys", "Member must have length greater than or equal to 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupByARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(g.tags, k)
	}
	return struct{}{}, nil
}

type tagsOut struct {
	Tags map[string]string `json:"tags"`
}

func (s *Server) listTagsForResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArn *string `json:"resourceArn"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupByARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return tagsOut{Tags: awsproto.CopyTags(g.tags)}, nil
}

// Legacy tagging by log group name.

func (s *Server) tagLogGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LogGroupName *string           `json:"logGroupName"`
		Tags         map[string]string `json:"tags"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, model.Violation("{}", "tags", "Member must have length greater than or equal to 1")
	}
	if err := tagRules.Check(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	return struct{}{}, tagRules.Apply(g.tags, in.Tags)
}

func (s *Server) untagLogGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LogGroupName *string  `json:"logGroupName"`
		Tags         []string `json:"tags"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range in.Tags {
		delete(g.tags, k)
	}
	return struct{}{}, nil
}

func (s *Server) listTagsLogGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in logGroupNameInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	return tagsOut{Tags: awsproto.CopyTags(g.tags)}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
