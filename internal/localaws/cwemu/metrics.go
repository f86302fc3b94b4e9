package cwemu

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// maxRawValues bounds the raw values one sample keeps for percentiles.
const maxRawValues = 10000

type series struct {
	namespace, name string
	dims            []dimension // sorted by name
	samples         []sample
}

type sample struct {
	t                    time.Time
	sum, count, min, max float64
	unit                 string
	vals                 []float64 // raw values for percentiles (nil for statistic sets)
}

func dimsKey(dims []dimension) string {
	parts := make([]string, 0, len(dims))
	for _, d := range dims {
		parts = append(parts, deref(d.Name)+"="+deref(d.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\x01")
}

func seriesKey(ns, name string, dims []dimension) string {
	return ns + "\x00" + name + "\x00" + dimsKey(dims)
}

func sortedDims(dims []dimension) []dimension {
	out := append([]dimension(nil), dims...)
	sort.Slice(out, func(i, j int) bool { return deref(out[i].Name) < deref(out[j].Name) })
	return out
}

// add records a sample. s.mu is held.
func (s *Server) add(ns, name string, dims []dimension, smp sample) {
	k := seriesKey(ns, name, dims)
	se := s.series[k]
	if se == nil {
		se = &series{namespace: ns, name: name, dims: sortedDims(dims)}
		s.series[k] = se
	}
	if smp.unit == "" {
		smp.unit = "None"
	}
	se.samples = append(se.samples, smp)
}

// RecordMetric stores one data point as if PutMetricData had sent it, without
// PutMetricData's validation (AWS/ namespaces and old timestamps are allowed).
// The Logs emulation feeds matched metric-filter values through it.
func (s *Server) RecordMetric(namespace, name string, dims map[string]string, value float64, ts time.Time) {
	s.RecordMetricWithUnit(namespace, name, dims, value, "", ts)
}

// RecordMetricWithUnit is RecordMetric with a unit ("Count", "Bytes", ...;
// empty means None). The Firehose emulation reports AWS/Firehose through it.
func (s *Server) RecordMetricWithUnit(namespace, name string, dims map[string]string, value float64, unit string, ts time.Time) {
	var ds []dimension
	for k, v := range dims {
		ds = append(ds, dimension{Name: ptr(k), Value: ptr(v)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(namespace, name, ds, sample{t: ts, sum: value, count: 1, min: value, max: value, unit: unit, vals: []float64{value}})
}

type statisticSet struct {
	Maximum     *float64
	Minimum     *float64
	SampleCount *float64
	Sum         *float64
}

type metricDatum struct {
	MetricName        *string
	Counts            []float64
	Dimensions        []dimension
	StatisticValues   *statisticSet
	StorageResolution *int32
	Timestamp         *awsproto.EpochTime
	Unit              string
	Value             *float64
	Values            []float64
}

type putMetricDataIn struct {
	Namespace        *string
	MetricData       []metricDatum
	EntityMetricData []struct {
		MetricData []metricDatum
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (s *Server) putMetricData(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in putMetricDataIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Namespace == nil {
		return nil, errMissingParameter("The parameter Namespace is required.")
	}
	ns := *in.Namespace
	if len(ns) < 1 || len(ns) > 255 {
		return nil, constraint(ns, "namespace", "Member must have length between 1 and 255")
	}
	if strings.HasPrefix(ns, "AWS/") {
		return nil, errInvalidParameterValue("The value %s for parameter Namespace is invalid.", ns)
	}
	data := in.MetricData
	for _, e := range in.EntityMetricData {
		data = append(data, e.MetricData...)
	}
	if len(data) == 0 {
		return nil, errMissingParameter("The parameter MetricData is required.")
	}
	if len(data) > 1000 {
		return nil, constraint("[...]", "metricData", "Member must have length less than or equal to 1000")
	}
	now := s.now()
	samples := make([]sample, len(data))
	for i, d := range data {
		m := fmt.Sprintf("MetricData.member.%d", i+1)
		if d.MetricName == nil || len(*d.MetricName) < 1 || len(*d.MetricName) > 255 {
			return nil, errMissingParameter("The parameter %s.MetricName is required.", m)
		}
		if err := validateDimensions("metricData.member.dimensions", d.Dimensions); err != nil {
			return nil, err
		}
		if d.Unit != "" && !in2(d.Unit, standardUnits) {
			return nil, constraint(d.Unit, "metricData.member.unit", enumRule(standardUnits))
		}
		if d.StorageResolution != nil && *d.StorageResolution != 1 && *d.StorageResolution != 60 {
			return nil, errInvalidParameterValue("The value %d for parameter %s.StorageResolution is invalid.", *d.StorageResolution, m)
		}
		ts := now
		if d.Timestamp != nil {
			ts = time.Time(*d.Timestamp)
			if ts.Before(now.Add(-14 * 24 * time.Hour)) {
				return nil, errInvalidParameterValue("The parameter %s.Timestamp must specify a time no more than two weeks in the past.", m)
			}
			if ts.After(now.Add(2 * time.Hour)) {
				return nil, errInvalidParameterValue("The parameter %s.Timestamp must specify a time no more than two hours in the future.", m)
			}
		}
		kinds := 0
		if d.Value != nil {
			kinds++
		}
		if d.StatisticValues != nil {
			kinds++
		}
		if len(d.Values) > 0 {
			kinds++
		}
		if kinds > 1 {
			return nil, errInvalidParameterCombination("The parameters %s.Value, %s.StatisticValues and %s.Values are mutually exclusive and you have specified more than one.", m, m, m)
		}
		smp := sample{t: ts, unit: d.Unit}
		switch {
		case d.Value != nil:
			if !finite(*d.Value) {
				return nil, errInvalidParameterValue("The value %v for parameter %s.Value is invalid.", *d.Value, m)
			}
			v := *d.Value
			smp.sum, smp.count, smp.min, smp.max, smp.vals = v, 1, v, v, []float64{v}
		case d.StatisticValues != nil:
			sv := d.StatisticValues
			if sv.Sum == nil || sv.SampleCount == nil || sv.Minimum == nil || sv.Maximum == nil {
				return nil, errMissingParameter("The parameters %s.StatisticValues.Sum, SampleCount, Minimum and Maximum are all required.", m)
			}
			if !finite(*sv.Sum) || !finite(*sv.SampleCount) || !finite(*sv.Minimum) || !finite(*sv.Maximum) || *sv.SampleCount <= 0 || *sv.Minimum > *sv.Maximum {
				return nil, errInvalidParameterValue("The parameter %s.StatisticValues is invalid.", m)
			}
			smp.sum, smp.count, smp.min, smp.max = *sv.Sum, *sv.SampleCount, *sv.Minimum, *sv.Maximum
		case len(d.Values) > 0:
			if len(d.Values) > 150 {
				return nil, constraint("[...]", "metricData.member.values", "Member must have length less than or equal to 150")
			}
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return nil, errInvalidParameterValue("The parameters %s.Values and %s.Counts must be of the same size.", m, m)
			}
			smp.min, smp.max = math.Inf(1), math.Inf(-1)
			for j, v := range d.Values {
				c := 1.0
				if len(d.Counts) > 0 {
					c = d.Counts[j]
				}
				if !finite(v) || !finite(c) || c < 0 {
					return nil, errInvalidParameterValue("The value %v for parameter %s.Values is invalid.", v, m)
				}
				smp.sum += v * c
				smp.count += c
				smp.min, smp.max = math.Min(smp.min, v), math.Max(smp.max, v)
				for k := 0; k < int(c) && len(smp.vals) < maxRawValues; k++ {
					smp.vals = append(smp.vals, v)
				}
			}
		default:
			return nil, errMissingParameter("One of the parameters %s.Value, %s.StatisticValues or %s.Values must be specified.", m, m, m)
		}
		samples[i] = smp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range data {
		s.add(ns, *d.MetricName, d.Dimensions, samples[i])
	}
	return nil, nil
}

// agg is the statistics of one period bucket.
type agg struct {
	sum, count, min, max float64
	vals                 []float64
	unit                 string
}

func (a *agg) addSample(x sample) {
	if a.count == 0 {
		a.min, a.max = x.min, x.max
	} else {
		a.min, a.max = math.Min(a.min, x.min), math.Max(a.max, x.max)
	}
	a.sum += x.sum
	a.count += x.count
	a.vals = append(a.vals, x.vals...)
	if a.unit == "" {
		a.unit = x.unit
	}
}

// percentileOf parses "p90" / "p99.9"; -1 when stat is not a percentile.
func percentileOf(stat string) float64 {
	if !strings.HasPrefix(stat, "p") {
		return -1
	}
	f, err := strconv.ParseFloat(stat[1:], 64)
	if err != nil || f < 0 || f > 100 {
		return -1
	}
	return f
}

// value computes stat over the bucket; ok is false when it cannot (no raw
// values for a percentile).
func (a *agg) value(stat string) (float64, bool) {
	switch stat {
	case "Sum":
		return a.sum, true
	case "Average":
		return a.sum / a.count, true
	case "Minimum":
		return a.min, true
	case "Maximum":
		return a.max, true
	case "SampleCount":
		return a.count, true
	}
	p := percentileOf(stat)
	if p < 0 || len(a.vals) == 0 {
		return 0, false
	}
	v := append([]float64(nil), a.vals...)
	sort.Float64s(v)
	// nearest rank
	rank := int(math.Ceil(p / 100 * float64(len(v))))
	if rank < 1 {
		rank = 1
	}
	return v[rank-1], true
}

// buckets aggregates a series' samples in [start, end) by period (aligned to
// the epoch), keyed by bucket start. unit filters when not empty. s.mu held.
func (s *Server) buckets(ns, name string, dims []dimension, start, end time.Time, period int32, unit string) map[int64]*agg {
	se := s.series[seriesKey(ns, name, dims)]
	out := map[int64]*agg{}
	if se == nil || period <= 0 {
		return out
	}
	p := int64(period)
	from := start.Unix() / p * p
	for _, x := range se.samples {
		if x.t.Unix() < from || !x.t.Before(end) || (unit != "" && x.unit != unit) {
			continue
		}
		b := x.t.Unix() / p * p
		a := out[b]
		if a == nil {
			a = &agg{}
			out[b] = a
		}
		a.addSample(x)
	}
	return out
}

func sortedKeys(m map[int64]*agg, desc bool) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if desc {
			return keys[i] > keys[j]
		}
		return keys[i] < keys[j]
	})
	return keys
}

type getMetricDataIn struct {
	EndTime           *awsproto.EpochTime
	MetricDataQueries []metricDataQuery
	StartTime         *awsproto.EpochTime
	MaxDatapoints     *int32
	NextToken         *string
	ScanBy            string
}

type messageData struct {
	Code  *string `json:",omitempty"`
	Value *string `json:",omitempty"`
}

type metricDataResult struct {
	Id         *string
	Label      *string
	Messages   []messageData `json:",omitempty"`
	StatusCode string
	Timestamps []awsproto.EpochTime
	Values     []float64
}

func (s *Server) getMetricData(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in getMetricDataIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.StartTime == nil {
		return nil, errMissingParameter("The parameter StartTime is required.")
	}
	if in.EndTime == nil {
		return nil, errMissingParameter("The parameter EndTime is required.")
	}
	start, end := time.Time(*in.StartTime), time.Time(*in.EndTime)
	if !start.Before(end) {
		return nil, errValidation("The parameter StartTime must be less than the parameter EndTime.")
	}
	if n := len(in.MetricDataQueries); n < 1 || n > 500 {
		return nil, constraint(n, "metricDataQueries", "Member must have length between 1 and 500")
	}
	if in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending" {
		return nil, constraint(in.ScanBy, "scanBy", enumRule([]string{"TimestampDescending", "TimestampAscending"}))
	}
	ids := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		if err := validateQuery(i, q, ids); err != nil {
			return nil, err
		}
		if q.Expression != nil && len(*q.Expression) > 2048 {
			return nil, constraint("...", fmt.Sprintf("metricDataQueries.%d.member.expression", i+1), "Member must have length less than or equal to 2048")
		}
	}
	offset := 0
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "gmd:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "gmd:") || n < 0 {
			return nil, cwErr(400, "InvalidNextToken", "InvalidNextToken", "The service returned an error with Error Code InvalidNextToken: the NextToken is invalid or has expired.")
		}
		offset = n
	}
	per := datapointsPerPage
	if in.MaxDatapoints != nil && *in.MaxDatapoints > 0 {
		if m := int(*in.MaxDatapoints) / len(in.MetricDataQueries); m < per {
			per = max(m, 1)
		}
	}
	desc := in.ScanBy != "TimestampAscending"
	out := struct {
		Messages          []messageData `json:",omitempty"`
		MetricDataResults []metricDataResult
		NextToken         *string `json:",omitempty"`
	}{MetricDataResults: []metricDataResult{}}
	s.mu.Lock()
	full, err := s.evalQueries(in.MetricDataQueries, start, end)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	more := false
	for i, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ser := full[i]
		keys := make([]int64, 0, len(ser))
		for t, v := range ser {
			if finite(v) { // math can divide by zero: AWS drops those points
				keys = append(keys, t)
			}
		}
		sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] != desc })
		r := metricDataResult{Id: q.Id, Label: q.Label, StatusCode: "Complete", Timestamps: []awsproto.EpochTime{}, Values: []float64{}}
		if r.Label == nil {
			if q.MetricStat != nil {
				r.Label = q.MetricStat.Metric.MetricName
			} else {
				r.Label = q.Id
			}
		}
		for j := offset; j < len(keys) && j < offset+per; j++ {
			r.Timestamps = append(r.Timestamps, awsproto.EpochTime(time.Unix(keys[j], 0).UTC()))
			r.Values = append(r.Values, ser[keys[j]])
		}
		if len(keys) > offset+per {
			r.StatusCode = "PartialData"
			more = true
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	if more {
		out.NextToken = ptr(base64.RawURLEncoding.EncodeToString([]byte("gmd:" + strconv.Itoa(offset+per))))
	}
	return out, nil
}

type getMetricStatisticsIn struct {
	EndTime            *awsproto.EpochTime
	MetricName         *string
	Namespace          *string
	Period             *int32
	StartTime          *awsproto.EpochTime
	Dimensions         []dimension
	ExtendedStatistics []string
	Statistics         []string
	Unit               string
}

type datapoint struct {
	Average            *float64           `json:",omitempty"`
	ExtendedStatistics map[string]float64 `json:",omitempty"`
	Maximum            *float64           `json:",omitempty"`
	Minimum            *float64           `json:",omitempty"`
	SampleCount        *float64           `json:",omitempty"`
	Sum                *float64           `json:",omitempty"`
	Timestamp          *awsproto.EpochTime
	Unit               string `json:",omitempty"`
}

func (s *Server) getMetricStatistics(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in getMetricStatisticsIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Namespace == nil:
		return nil, errMissingParameter("The parameter Namespace is required.")
	case in.MetricName == nil:
		return nil, errMissingParameter("The parameter MetricName is required.")
	case in.StartTime == nil:
		return nil, errMissingParameter("The parameter StartTime is required.")
	case in.EndTime == nil:
		return nil, errMissingParameter("The parameter EndTime is required.")
	case in.Period == nil:
		return nil, errMissingParameter("The parameter Period is required.")
	}
	if err := validatePeriod("period", *in.Period); err != nil {
		return nil, err
	}
	start, end := time.Time(*in.StartTime), time.Time(*in.EndTime)
	if !start.Before(end) {
		return nil, errInvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	if (len(in.Statistics) == 0) == (len(in.ExtendedStatistics) == 0) {
		return nil, errInvalidParameterCombination("Must specify either Statistics or ExtendedStatistics, but not both.")
	}
	if len(in.Statistics) > 5 {
		return nil, constraint("[...]", "statistics", "Member must have length less than or equal to 5")
	}
	for _, st := range in.Statistics {
		if !in2(st, statistics) {
			return nil, constraint(st, "statistics.member", enumRule(statistics))
		}
	}
	if len(in.ExtendedStatistics) > 10 {
		return nil, constraint("[...]", "extendedStatistics", "Member must have length less than or equal to 10")
	}
	for _, st := range in.ExtendedStatistics {
		if percentileOf(st) < 0 {
			return nil, errInvalidParameterValue("The value %s for parameter ExtendedStatistics is invalid.", st)
		}
	}
	if n := (end.Unix() - start.Unix()) / int64(*in.Period); n > 1440 {
		return nil, errInvalidParameterCombination("You have requested up to %d datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n)
	}
	s.mu.Lock()
	bs := s.buckets(*in.Namespace, *in.MetricName, in.Dimensions, start, end, *in.Period, in.Unit)
	s.mu.Unlock()
	out := struct {
		Datapoints []datapoint
		Label      *string
	}{Datapoints: []datapoint{}, Label: in.MetricName}
	for _, k := range sortedKeys(bs, false) {
		a := bs[k]
		dp := datapoint{Timestamp: epoch(time.Unix(k, 0).UTC()), Unit: a.unit}
		for _, st := range in.Statistics {
			v, _ := a.value(st)
			switch st {
			case "Sum":
				dp.Sum = ptr(v)
			case "Average":
				dp.Average = ptr(v)
			case "Minimum":
				dp.Minimum = ptr(v)
			case "Maximum":
				dp.Maximum = ptr(v)
			case "SampleCount":
				dp.SampleCount = ptr(v)
			}
		}
		for _, st := range in.ExtendedStatistics {
			if v, ok := a.value(st); ok {
				if dp.ExtendedStatistics == nil {
					dp.ExtendedStatistics = map[string]float64{}
				}
				dp.ExtendedStatistics[st] = v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

type listMetricsIn struct {
	Dimensions     []dimension
	MetricName     *string
	Namespace      *string
	NextToken      *string
	RecentlyActive string
}

func (s *Server) listMetrics(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in listMetricsIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Dimensions) > 10 {
		return nil, constraint("[...]", "dimensions", "Member must have length less than or equal to 10")
	}
	for _, f := range in.Dimensions {
		if f.Name == nil || *f.Name == "" {
			return nil, errMissingParameter("The parameter Dimensions.member.Name is required.")
		}
	}
	if in.RecentlyActive != "" && in.RecentlyActive != "PT3H" {
		return nil, constraint(in.RecentlyActive, "recentlyActive", enumRule([]string{"PT3H"}))
	}
	since := s.now().Add(-3 * time.Hour)
	s.mu.Lock()
	var list []*series
	for _, se := range s.series {
		if in.Namespace != nil && se.namespace != *in.Namespace || in.MetricName != nil && se.name != *in.MetricName {
			continue
		}
		if !matchDimFilters(se.dims, in.Dimensions) {
			continue
		}
		if in.RecentlyActive != "" {
			recent := false
			for _, x := range se.samples {
				if x.t.After(since) {
					recent = true
					break
				}
			}
			if !recent {
				continue
			}
		}
		list = append(list, se)
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return dimsKey(a.dims) < dimsKey(b.dims)
	})
	page, next, err := paginate(list, in.NextToken, 0, metricsPageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		Metrics   []metricID
		NextToken *string `json:",omitempty"`
	}{Metrics: []metricID{}, NextToken: next}
	for _, se := range page {
		out.Metrics = append(out.Metrics, metricID{Namespace: ptr(se.namespace), MetricName: ptr(se.name), Dimensions: append([]dimension{}, se.dims...)})
	}
	return out, nil
}

func matchDimFilters(dims []dimension, filters []dimension) bool {
	for _, f := range filters {
		found := false
		for _, d := range dims {
			if deref(d.Name) == deref(f.Name) && (f.Value == nil || deref(d.Value) == *f.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// evalQueries computes every query's full series over [start, end): metric
// stats from the recorded data, expressions by simple metric math over the
// other queries (in any order). s.mu is held.
func (s *Server) evalQueries(qs []metricDataQuery, start, end time.Time) ([]mseries, error) {
	out := make([]mseries, len(qs))
	byID := map[string]int{}
	gridSet := map[int64]bool{}
	for i, q := range qs {
		byID[*q.Id] = i
		if ms := q.MetricStat; ms != nil {
			bs := s.buckets(deref(ms.Metric.Namespace), deref(ms.Metric.MetricName), ms.Metric.Dimensions, start, end, *ms.Period, ms.Unit)
			ser := mseries{}
			for t, a := range bs {
				if v, ok := a.value(*ms.Stat); ok {
					ser[t] = v
					gridSet[t] = true
				}
			}
			out[i] = ser
		}
	}
	env := &mathEnv{}
	for t := range gridSet {
		env.grid = append(env.grid, t)
	}
	visiting := map[string]bool{}
	var eval func(i int) (mseries, error)
	eval = func(i int) (mseries, error) {
		if out[i] != nil {
			return out[i], nil
		}
		q := qs[i]
		if visiting[*q.Id] {
			return nil, errValidation("Circular dependency in metric math expression %s.", *q.Id)
		}
		visiting[*q.Id] = true
		ser, err := evalExpression(*q.Expression, env)
		if err != nil {
			if ae, ok := err.(*awsproto.Error); ok {
				return nil, ae
			}
			return nil, errValidation("Error in expression '%s': %v", *q.Id, err)
		}
		out[i] = ser
		return ser, nil
	}
	env.resolve = func(id string) (mseries, error) {
		j, ok := byID[id]
		if !ok {
			return nil, errValidation("Error in expression: Unrecognized identifier %s.", id)
		}
		return eval(j)
	}
	for i := range qs {
		if _, err := eval(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}
