package logsemu

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/logpattern"
)

type metricTransformation struct {
	MetricName      *string           `json:"metricName"`
	MetricNamespace *string           `json:"metricNamespace"`
	MetricValue     *string           `json:"metricValue"`
	DefaultValue    *float64          `json:"defaultValue,omitempty"`
	Dimensions      map[string]string `json:"dimensions,omitempty"`
	Unit            *string           `json:"unit,omitempty"`
}

type putMetricFilterInput struct {
	LogGroupName          *string                `json:"logGroupName"`
	FilterName            *string                `json:"filterName"`
	FilterPattern         *string                `json:"filterPattern"`
	MetricTransformations []metricTransformation `json:"metricTransformations"`
}

// errInvalidPattern is AWS's answer to a pattern it cannot parse.
func errInvalidPattern() error { return awsproto.InvalidParameter("Invalid metric filter pattern") }

var standardUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

func checkFilterName(name *string) error {
	if name == nil {
		return model.Required("filterName", false)
	}
	return checkName(*name, "filterName", 512, filterNameRe)
}

func checkPattern(p *string) (*logpattern.Pattern, error) {
	if p == nil {
		return nil, model.Required("filterPattern", false)
	}
	if len([]rune(*p)) > logpattern.MaxLength {
		return nil, model.Violation(*p, "filterPattern", fmt.Sprintf("Member must have length less than or equal to %d", logpattern.MaxLength))
	}
	parsed, err := logpattern.Parse(*p)
	if err != nil {
		return nil, errInvalidPattern()
	}
	return parsed, nil
}

func checkTransformation(t metricTransformation, parsed *logpattern.Pattern) error {
	for _, f := range []struct {
		v      *string
		member string
	}{{t.MetricName, "metricName"}, {t.MetricNamespace, "metricNamespace"}} {
		if f.v == nil {
			return model.Required("metricTransformations.1.member."+f.member, false)
		}
		if err := checkName(*f.v, "metricTransformations.1.member."+f.member, 255, metricNameRe); err != nil {
			return err
		}
	}
	if t.MetricValue == nil {
		return model.Required("metricTransformations.1.member.metricValue", false)
	}
	if err := checkName(*t.MetricValue, "metricTransformations.1.member.metricValue", 100, nil); err != nil {
		return err
	}
	if err := parsed.ValidateMetricValue(*t.MetricValue); err != nil {
		return awsproto.InvalidParameter("Invalid metric value %q: %s", *t.MetricValue, strings.TrimPrefix(err.Error(), "metric value must be a number or a field reference: "))
	}
	if t.DefaultValue != nil && len(t.Dimensions) > 0 {
		return awsproto.InvalidParameter("Invalid metric transformation: a default value cannot be combined with dimensions.")
	}
	if len(t.Dimensions) > maxDimensions {
		return awsproto.InvalidParameter("Invalid metric transformation: a metric filter can have at most %d dimensions.", maxDimensions)
	}
	for k, ref := range t.Dimensions {
		if n := len([]rune(k)); n < 1 || n > 255 {
			return model.Violation(k, "metricTransformations.1.member.dimensions.key", "Member must have length between 1 and 255")
		}
		if err := parsed.ValidateFieldRef(ref); err != nil {
			return awsproto.InvalidParameter("Invalid dimension %q: %v", k, err)
		}
	}
	if t.Unit != nil {
		if err := model.Enum("metricTransformations.1.member.unit", *t.Unit, standardUnits...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) putMetricFilter(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in putMetricFilterInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkFilterName(in.FilterName); err != nil {
		return nil, err
	}
	parsed, err := checkPattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	switch n := len(in.MetricTransformations); {
	case n < 1:
		return nil, model.Violation("[]", "metricTransformations", "Member must have length greater than or equal to 1")
	case n > 1:
		return nil, model.Violation(fmt.Sprintf("list of %d transformations", n), "metricTransformations", "Member must have length less than or equal to 1")
	}
	t := in.MetricTransformations[0]
	if err := checkTransformation(t, parsed); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	old := g.filters[*in.FilterName]
	if old == nil && len(g.filters) >= maxMetricFiltersPerGroup {
		return nil, awsproto.Errf("LimitExceededException", "Resource limit exceeded.")
	}
	if parsed.RegexCount() > 0 {
		n := 1
		for name, f := range g.filters {
			if name != *in.FilterName && f.parsed.RegexCount() > 0 {
				n++
			}
		}
		if n > maxRegexFiltersPerGroup {
			return nil, awsproto.Errf("LimitExceededException", "A log group can have at most %d metric filters whose pattern uses regular expressions.", maxRegexFiltersPerGroup)
		}
	}
	f := &metricFilter{name: *in.FilterName, pattern: *in.FilterPattern, parsed: parsed, transform: t, created: s.nowMillis()}
	if old != nil {
		f.created = old.created
	}
	g.filters[f.name] = f
	return struct{}{}, nil
}

type describeMetricFiltersInput struct {
	LogGroupName     *string `json:"logGroupName"`
	FilterNamePrefix *string `json:"filterNamePrefix"`
	MetricName       *string `json:"metricName"`
	MetricNamespace  *string `json:"metricNamespace"`
	NextToken        *string `json:"nextToken"`
	Limit            *int32  `json:"limit"`
}

type metricFilterOut struct {
	FilterName            string                 `json:"filterName"`
	FilterPattern         string                 `json:"filterPattern"`
	MetricTransformations []metricTransformation `json:"metricTransformations"`
	CreationTime          int64                  `json:"creationTime"`
	LogGroupName          string                 `json:"logGroupName"`
}

func (s *Server) describeMetricFilters(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeMetricFiltersInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, 50); err != nil {
		return nil, err
	}
	if in.FilterNamePrefix != nil && in.LogGroupName == nil {
		return nil, awsproto.InvalidParameter("If you specify a filterNamePrefix, you must also specify a logGroupName.")
	}
	if (in.MetricName == nil) != (in.MetricNamespace == nil) {
		return nil, awsproto.InvalidParameter("If you specify a metricName, you must also specify a metricNamespace, and the other way round.")
	}
	if in.FilterNamePrefix != nil {
		if err := checkName(*in.FilterNamePrefix, "filterNamePrefix", 512, filterNameRe); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var groups []*logGroup
	if in.LogGroupName != nil {
		g, err := s.resolveGroup(in.LogGroupName, nil)
		if err != nil {
			return nil, err
		}
		groups = []*logGroup{g}
	} else {
		for _, name := range sortedKeys(s.groups) {
			groups = append(groups, s.groups[name])
		}
	}
	var out []metricFilterOut
	for _, g := range groups {
		names := sortedKeys(g.filters)
		sort.Strings(names)
		for _, name := range names {
			f := g.filters[name]
			if in.FilterNamePrefix != nil && !strings.HasPrefix(name, *in.FilterNamePrefix) {
				continue
			}
			if in.MetricName != nil && (deref(f.transform.MetricName) != *in.MetricName || deref(f.transform.MetricNamespace) != *in.MetricNamespace) {
				continue
			}
			out = append(out, metricFilterOut{
				FilterName:            f.name,
				FilterPattern:         f.pattern,
				MetricTransformations: []metricTransformation{f.transform},
				CreationTime:          f.created,
				LogGroupName:          g.name,
			})
		}
	}
	page, next, err := awsproto.Paginate(out, deref(in.NextToken), limitOf(in.Limit), filterPageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []metricFilterOut{}
	}
	return struct {
		MetricFilters []metricFilterOut `json:"metricFilters"`
		NextToken     string            `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (s *Server) deleteMetricFilter(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LogGroupName *string `json:"logGroupName"`
		FilterName   *string `json:"filterName"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkFilterName(in.FilterName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	if g.filters[*in.FilterName] == nil {
		return nil, awsproto.ResourceNotFound("The specified metric filter does not exist.")
	}
	delete(g.filters, *in.FilterName)
	return struct{}{}, nil
}

type matchRecord struct {
	EventNumber     int64             `json:"eventNumber"`
	EventMessage    string            `json:"eventMessage"`
	ExtractedValues map[string]string `json:"extractedValues"`
}

func (s *Server) testMetricFilter(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		FilterPattern    *string  `json:"filterPattern"`
		LogEventMessages []string `json:"logEventMessages"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	switch n := len(in.LogEventMessages); {
	case n < 1:
		return nil, model.Violation("[]", "logEventMessages", "Member must have length greater than or equal to 1")
	case n > maxTestMessages:
		return nil, model.Violation(fmt.Sprintf("list of %d messages", n), "logEventMessages", fmt.Sprintf("Member must have length less than or equal to %d", maxTestMessages))
	}
	parsed, err := checkPattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	matches := []matchRecord{}
	for i, m := range in.LogEventMessages {
		if vals, ok := parsed.ExtractedValues(m); ok {
			matches = append(matches, matchRecord{EventNumber: int64(i + 1), EventMessage: m, ExtractedValues: vals})
		}
	}
	return struct {
		Matches []matchRecord `json:"matches"`
	}{matches}, nil
}
