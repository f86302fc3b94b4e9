package logsemu

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Query lifecycle on the endpoint clock (Server.Clock): a query is Scheduled
// for queryScheduled after StartQuery, Running until queryRunning, then
// Complete (botocore logs service-2.json QueryStatus; GetQueryResults: "If
// you see a value of Scheduled or Running for the status, you can retry the
// operation later to see the final results").
const (
	queryScheduled    = 200 * time.Millisecond
	queryRunning      = 500 * time.Millisecond
	maxQueryGroups    = 50     // StartQuery.logGroupNames: "up to 50 log groups"
	maxQueryString    = 10000  // QueryString max 10000
	maxQueryLimit     = 100000 // EventsLimitStartQuery 1-100000
	defaultQueryLimit = 10000
	maxQueryResults   = 10000 // per GetQueryResults call
)

type resultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type queryStats struct {
	RecordsMatched   float64 `json:"recordsMatched"`
	RecordsScanned   float64 `json:"recordsScanned"`
	BytesScanned     float64 `json:"bytesScanned"`
	LogGroupsScanned float64 `json:"logGroupsScanned"`
}

type query struct {
	started   time.Time
	cancelled bool
	rows      [][]resultField
	stats     queryStats
}

func (s *Server) clock() clock.Clock { return clock.Or(s.Clock) }

// status is the query's state now.
func (q *query) status(now time.Time) string {
	switch el := now.Sub(q.started); {
	case q.cancelled:
		return "Cancelled"
	case el < queryScheduled:
		return "Scheduled"
	case el < queryRunning:
		return "Running"
	}
	return "Complete"
}

func (s *Server) startQuery(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LogGroupName        *string  `json:"logGroupName"`
		LogGroupNames       []string `json:"logGroupNames"`
		LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		QueryString         *string  `json:"queryString"`
		Limit               *int32   `json:"limit"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		member  string
		present bool
	}{{"startTime", in.StartTime != nil}, {"endTime", in.EndTime != nil}, {"queryString", in.QueryString != nil}} {
		if err := model.Required(r.member, r.present); err != nil {
			return nil, err
		}
	}
	if err := model.Length("queryString", *in.QueryString, 0, maxQueryString); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, maxQueryLimit); err != nil {
		return nil, err
	}
	if *in.StartTime < 0 || *in.EndTime < 0 {
		return nil, awsproto.InvalidParameter("startTime and endTime must be non-negative epoch seconds.")
	}
	if *in.EndTime < *in.StartTime {
		return nil, awsproto.InvalidParameter("End time should not be before the start time.")
	}
	given := 0
	var names []string
	if in.LogGroupName != nil {
		given++
		names = append(names, *in.LogGroupName)
	}
	if in.LogGroupNames != nil {
		given++
		names = append(names, in.LogGroupNames...)
	}
	if in.LogGroupIdentifiers != nil {
		given++
		for _, id := range in.LogGroupIdentifiers {
			names = append(names, s.groupNameFromIdentifier(id))
		}
	}
	if given != 1 {
		return nil, awsproto.InvalidParameter("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.")
	}
	if len(names) == 0 || len(names) > maxQueryGroups {
		return nil, model.Violation(fmt.Sprintf("list of %d log groups", len(names)), "logGroupNames", fmt.Sprintf("Member must have length between 1 and %d", maxQueryGroups))
	}
	cq, err := compileQuery(*in.QueryString)
	if err != nil {
		var qe *queryError
		if errors.As(err, &qe) {
			e := awsproto.Errf("MalformedQueryException", "%s", qe.Error())
			e.Fields = map[string]any{"queryCompileError": map[string]any{
				"location": map[string]any{"startCharOffset": qe.pos, "endCharOffset": qe.pos},
				"message":  qe.msg,
			}}
			return nil, e
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []record
	for _, n := range names {
		g := s.groups[n]
		if g == nil {
			return nil, awsproto.ResourceNotFound("Log group '%s' does not exist for account ID '%s'", n, s.Account)
		}
		from, to := *in.StartTime*1000, (*in.EndTime+1)*1000 // both ends inclusive, in seconds
		for _, st := range g.streams {
			for _, ev := range st.events {
				if ev.ts >= from && ev.ts < to {
					recs = append(recs, record{ev: ev, group: g.name, log: s.Account + ":" + g.name})
				}
			}
		}
	}
	limit := defaultQueryLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	q := &query{started: s.clock().Now()}
	q.rows, q.stats = cq.run(recs, limit)
	q.stats.LogGroupsScanned = float64(len(names))
	if s.queries == nil {
		s.queries = map[string]*query{}
	}
	s.querySeq++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", s.querySeq, s.querySeq)
	s.queries[id] = q
	return struct {
		QueryID string `json:"queryId"`
	}{id}, nil
}

func (s *Server) lookupQuery(dec awsproto.Decoder) (*query, error) {
	var in struct {
		QueryID *string `json:"queryId"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := model.Required("queryId", in.QueryID != nil); err != nil {
		return nil, err
	}
	if err := model.Length("queryId", *in.QueryID, 1, 256); err != nil {
		return nil, err
	}
	q := s.queries[*in.QueryID]
	if q == nil {
		return nil, awsproto.ResourceNotFound("Query does not exist.")
	}
	return q, nil
}

func (s *Server) getQueryResults(_ *http.Request, dec awsproto.Decoder) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupQuery(dec)
	if err != nil {
		return nil, err
	}
	type out struct {
		Results    [][]resultField `json:"results"`
		Statistics queryStats      `json:"statistics"`
		Status     string          `json:"status"`
	}
	st := q.status(s.clock().Now())
	if st != "Complete" { // partial results while running: none yet
		return out{Results: [][]resultField{}, Status: st}, nil
	}
	rows := q.rows
	if len(rows) > maxQueryResults {
		rows = rows[:maxQueryResults]
	}
	return out{Results: rows, Statistics: q.stats, Status: st}, nil
}

func (s *Server) stopQuery(_ *http.Request, dec awsproto.Decoder) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupQuery(dec)
	if err != nil {
		return nil, err
	}
	if st := q.status(s.clock().Now()); st != "Scheduled" && st != "Running" {
		return nil, awsproto.InvalidParameter("Query is not running: its status is %s.", st)
	}
	q.cancelled = true
	return struct {
		Success bool `json:"success"`
	}{true}, nil
}

// run evaluates the query over the records: filters, then stats or the
// fields of each record, then sort and limit.
func (cq *compiledQuery) run(recs []record, limit int) ([][]resultField, queryStats) {
	var st queryStats
	var matched []record
	for _, r := range recs {
		st.RecordsScanned++
		st.BytesScanned += float64(len(r.ev.msg))
		ok := true
		for _, f := range cq.filters {
			if !f(r) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, r)
		}
	}
	st.RecordsMatched = float64(len(matched))
	var rows [][]resultField
	if cq.stats != nil {
		rows = cq.stats.aggregate(matched)
	} else {
		sorts := cq.sorts
		if len(sorts) == 0 { // Insights' default order: newest first
			sorts = []sortSpec{{field: "@timestamp", desc: true}}
		}
		sort.SliceStable(matched, func(i, j int) bool {
			for _, s := range sorts {
				a, _ := matched[i].field(s.field)
				b, _ := matched[j].field(s.field)
				if s.field == "@timestamp" {
					if matched[i].ev.ts != matched[j].ev.ts {
						return (matched[i].ev.ts < matched[j].ev.ts) != s.desc
					}
					continue
				}
				if a != b {
					return (a < b) != s.desc
				}
			}
			return false
		})
		fields := cq.fields
		if len(fields) == 0 {
			fields = []string{"@timestamp", "@message"}
		}
		for _, r := range matched {
			var row []resultField
			for _, f := range fields {
				if v, ok := r.field(f); ok && f != "@ptr" {
					row = append(row, resultField{f, v})
				}
			}
			rows = append(rows, append(row, resultField{"@ptr", r.ev.id}))
		}
	}
	if cq.limit > 0 && cq.limit < limit {
		limit = cq.limit
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	if rows == nil {
		rows = [][]resultField{}
	}
	return rows, st
}

// aggregate counts the records per group (bin and by-fields), groups in
// ascending order.
func (sp *statsSpec) aggregate(recs []record) [][]resultField {
	type group struct {
		key   []resultField
		count int
	}
	groups := map[string]*group{}
	var order []string
	for _, r := range recs {
		if sp.field != "*" {
			if v, ok := r.field(sp.field); !ok || v == "" {
				continue
			}
		}
		var key []resultField
		if sp.bin > 0 {
			b := r.ev.ts - r.ev.ts%sp.bin.Milliseconds()
			key = append(key, resultField{"bin(" + fmtBin(sp.bin) + ")", formatInsightsTime(b)})
		}
		for _, f := range sp.byFld {
			v, _ := r.field(f)
			key = append(key, resultField{f, v})
		}
		k := fmt.Sprint(key)
		if groups[k] == nil {
			groups[k] = &group{key: key}
			order = append(order, k)
		}
		groups[k].count++
	}
	sort.Strings(order)
	var rows [][]resultField
	for _, k := range order {
		g := groups[k]
		rows = append(rows, append(append([]resultField{}, g.key...), resultField{sp.alias, strconv.Itoa(g.count)}))
	}
	return rows
}

func fmtBin(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d%time.Second == 0:
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}
