package cwemu

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// StateChange is one alarm transition made by Evaluate.
type StateChange struct {
	AlarmName string
	From, To  string
}

// Evaluate runs every metric alarm over the data recorded so far, as
// CloudWatch's evaluator would at now: the alarm's last EvaluationPeriods
// complete periods, M of N with DatapointsToAlarm, TreatMissingData for
// periods without data. Metric-math alarms evaluate their returned query
// with the same simple math GetMetricData supports. Alarms whose state
// changes transition (history and actions, as with SetAlarmState). Log
// alarms are not evaluated (their query runs in Logs). Tests call it as a
// backdoor.
func (s *Server) Evaluate(now time.Time) []StateChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.alarms))
	for n := range s.alarms {
		names = append(names, n)
	}
	sort.Strings(names)
	var changes []StateChange
	for _, n := range names {
		a := s.alarms[n]
		if a.metric == nil {
			continue
		}
		state, reason, data, ok := s.evaluate(a.metric, now)
		if !ok || state == a.metric.StateValue {
			continue
		}
		changes = append(changes, StateChange{AlarmName: n, From: a.metric.StateValue, To: state})
		s.transition(a, state, reason, &data)
	}
	return changes
}

// evaluate returns the state a metric alarm should be in at now. s.mu held.
func (s *Server) evaluate(m *metricAlarm, now time.Time) (state, reason, data string, ok bool) {
	period, stat := deref(m.Period), m.Statistic
	if m.ExtendedStatistic != nil {
		stat = *m.ExtendedStatistic
	}
	ret := -1
	for i, q := range m.Metrics {
		if q.MetricStat != nil && period == 0 {
			period = deref(q.MetricStat.Period)
		}
		if q.ReturnData == nil || *q.ReturnData {
			ret = i
		}
	}
	if len(m.Metrics) > 0 {
		if ret < 0 {
			return "", "", "", false
		}
		if q := m.Metrics[ret]; q.Period != nil {
			period = *q.Period
		}
		stat = deref(m.Metrics[ret].Id)
	}
	if period <= 0 || m.Threshold == nil {
		return "", "", "", false
	}
	n := int(deref(m.EvaluationPeriods))
	need := n
	if m.DatapointsToAlarm != nil {
		need = int(*m.DatapointsToAlarm)
	}
	p := int64(period)
	end := now.Unix() / p * p
	start := end - int64(n)*p
	var values mseries
	if len(m.Metrics) > 0 {
		all, err := s.evalQueries(m.Metrics, time.Unix(start, 0), time.Unix(end, 0))
		if err != nil {
			return "", "", "", false
		}
		values = all[ret]
	} else {
		values = mseries{}
		for t, a := range s.buckets(deref(m.Namespace), deref(m.MetricName), m.Dimensions, time.Unix(start, 0), time.Unix(end, 0), period, m.Unit) {
			if v, ok := a.value(stat); ok {
				values[t] = v
			}
		}
	}
	threshold := *m.Threshold
	tmd := "missing"
	if m.TreatMissingData != nil {
		tmd = *m.TreatMissingData
	}
	breaching, present := 0, 0
	var recent []float64
	var shown []string
	for b := start; b < end; b += p {
		v, ok := values[b]
		if !ok || !finite(v) {
			if tmd == "breaching" {
				breaching++
			}
			continue
		}
		present++
		recent = append(recent, v)
		shown = append(shown, fmt.Sprintf("%v (%s)", v, time.Unix(b, 0).UTC().Format("02/01/06 15:04:05")))
		if breaches(m.ComparisonOperator, v, threshold) {
			breaching++
		}
	}
	verb := map[string]string{
		"GreaterThanOrEqualToThreshold": "greater than or equal to", "GreaterThanThreshold": "greater than",
		"LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to",
	}[m.ComparisonOperator]
	switch {
	case breaching >= need:
		state = "ALARM"
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] were %s the threshold (%v) (minimum %d datapoints for OK -> ALARM transition).",
			breaching, n, strings.Join(shown, ", "), verb, threshold, need)
	case present == 0 && tmd == "ignore":
		return "", "", "", false
	case present == 0 && tmd == "missing":
		state = "INSUFFICIENT_DATA"
		reason = fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n)
	default:
		state = "OK"
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints were not %s the threshold (%v) (minimum %d datapoints for ALARM -> OK transition).",
			n-breaching, n, verb, threshold, n-need+1)
	}
	b, _ := json.Marshal(map[string]any{"version": "1.0", "queryDate": now.UTC().Format("2006-01-02T15:04:05.000+0000"),
		"startDate": time.Unix(start, 0).UTC().Format("2006-01-02T15:04:05.000+0000"), "statistic": stat, "period": period,
		"recentDatapoints": recent, "threshold": threshold})
	return state, reason, string(b), true
}

func breaches(op string, v, t float64) bool {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= t
	case "GreaterThanThreshold":
		return v > t
	case "LessThanThreshold":
		return v < t
	case "LessThanOrEqualToThreshold":
		return v <= t
	}
	return false
}

// RecordLogAlarmResult feeds one scheduled-query result (the aggregated value,
// for example count(*)) to a log alarm, as the Logs scheduled query would,
// and evaluates the alarm M of N over its QueryResultsToEvaluate most recent
// results. It returns the transition, if the state changed. Tests use it to
// drive log alarms, whose queries the emulation does not run.
func (s *Server) RecordLogAlarmResult(alarmName string, value float64, at time.Time) (*StateChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[alarmName]
	if a == nil || a.log == nil {
		return nil, fmt.Errorf("cwemu: no log alarm named %q", alarmName)
	}
	l := a.log
	a.results = append(a.results, value)
	n, m := int(deref(l.QueryResultsToEvaluate)), int(deref(l.QueryResultsToAlarm))
	if len(a.results) > n {
		a.results = a.results[len(a.results)-n:]
	}
	breaching := 0
	for _, v := range a.results {
		if breaches(l.ComparisonOperator, v, deref(l.Threshold)) {
			breaching++
		}
	}
	state := "OK"
	if breaching >= m {
		state = "ALARM"
	}
	reason := fmt.Sprintf("Threshold Crossed: %d out of the last %d query results [%s] breached the threshold (%v) (minimum %d for ALARM).",
		breaching, len(a.results), strings.Trim(fmt.Sprint(a.results), "[]"), deref(l.Threshold), m)
	if state == l.StateValue {
		return nil, nil
	}
	from := l.StateValue
	data, _ := json.Marshal(map[string]any{"version": "1.0", "queryDate": at.UTC().Format("2006-01-02T15:04:05.000+0000"),
		"queryResults": a.results, "threshold": deref(l.Threshold)})
	d := string(data)
	s.transition(a, state, reason, &d)
	return &StateChange{AlarmName: alarmName, From: from, To: state}, nil
}
