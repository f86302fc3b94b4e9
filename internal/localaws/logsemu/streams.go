package logsemu

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/logpattern"
)

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func checkStreamName(name *string) error {
	if name == nil {
		return model.Required("logStreamName", false)
	}
	return checkName(*name, "logStreamName", 512, logStreamNameRe)
}

func (s *Server) createLogStream(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	if g.streams[*in.LogStreamName] != nil {
		return nil, awsproto.Errf("ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[*in.LogStreamName] = &logStream{name: *in.LogStreamName, created: s.nowMillis()}
	return struct{}{}, nil
}

func (s *Server) deleteLogStream(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		return nil, err
	}
	if g.streams[*in.LogStreamName] == nil {
		return nil, errStreamNotFound()
	}
	delete(g.streams, *in.LogStreamName)
	return struct{}{}, nil
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int32  `json:"limit"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Server) describeLogStreams(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeLogStreamsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, 50); err != nil {
		return nil, err
	}
	orderBy := "LogStreamName"
	if in.OrderBy != nil {
		orderBy = *in.OrderBy
	}
	// botocore logs OrderBy.enum.
	if err := model.Enum("orderBy", orderBy, "LogStreamName", "LastEventTime"); err != nil {
		return nil, err
	}
	if orderBy == "LastEventTime" && in.LogStreamNamePrefix != nil {
		return nil, awsproto.InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	desc := in.Descending != nil && *in.Descending
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	var streams []*logStream
	for _, st := range g.streams {
		if in.LogStreamNamePrefix == nil || strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
			streams = append(streams, st)
		}
	}
	sort.Slice(streams, func(i, j int) bool {
		a, b := streams[i], streams[j]
		if orderBy == "LastEventTime" && a.lastEvent != b.lastEvent {
			if desc {
				return a.lastEvent > b.lastEvent
			}
			return a.lastEvent < b.lastEvent
		}
		if desc {
			return a.name > b.name
		}
		return a.name < b.name
	})
	out := make([]logStreamOut, 0, len(streams))
	for _, st := range streams {
		o := logStreamOut{
			LogStreamName: st.name,
			CreationTime:  st.created,
			Arn:           fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", s.Region, s.Account, g.name, st.name),
			StoredBytes:   st.storedBytes,
		}
		if len(st.events) > 0 {
			f, l, ing := st.firstEvent, st.lastEvent, st.lastIngestion
			o.FirstEventTimestamp, o.LastEventTimestamp, o.LastIngestionTime = &f, &l, &ing
		}
		out = append(out, o)
	}
	page, next, err := awsproto.Paginate(out, deref(in.NextToken), limitOf(in.Limit), streamPageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	return struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  string         `json:"nextToken,omitempty"`
	}{page, next}, nil
}

// ---- PutLogEvents ----

type inputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"`
}

type rejectedInfo struct {
	TooNewLogEventStartIndex *int32 `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int32 `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int32 `json:"expiredLogEventEndIndex,omitempty"`
}

type emission struct {
	namespace, name string
	dims            map[string]string
	value           float64
	ts              time.Time
}

func (s *Server) putLogEvents(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in putLogEventsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	if len(in.LogEvents) == 0 {
		return nil, model.Violation("[]", "logEvents", "Member must have length greater than or equal to 1")
	}
	if len(in.LogEvents) > maxBatchEvents {
		return nil, model.Violation(fmt.Sprintf("list of %d events", len(in.LogEvents)), "logEvents", fmt.Sprintf("Member must have length less than or equal to %d", maxBatchEvents))
	}
	size := 0
	for i, e := range in.LogEvents {
		if e.Timestamp == nil || e.Message == nil {
			return nil, model.Violation("null", fmt.Sprintf("logEvents.%d.member.timestamp", i+1), "Member must not be null")
		}
		if len(*e.Message) < 1 {
			return nil, model.Violation("", fmt.Sprintf("logEvents.%d.member.message", i+1), "Member must have length greater than or equal to 1")
		}
		if len(*e.Message) > maxEventBytes {
			return nil, awsproto.InvalidParameter("Log event too large: %d bytes exceeds limit of %d", len(*e.Message)+eventOverheadBytes, maxBatchBytes)
		}
		size += len(*e.Message) + eventOverheadBytes
		if i > 0 && *e.Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, awsproto.InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > maxBatchBytes {
		return nil, awsproto.InvalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}

	s.mu.Lock()
	g, err := s.resolveGroup(in.LogGroupName, nil)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	st := g.streams[*in.LogStreamName]
	if st == nil {
		s.mu.Unlock()
		return nil, errStreamNotFound()
	}
	now := s.now()
	nowMs := now.UnixMilli()
	tooNewFrom := now.Add(2 * time.Hour).UnixMilli()
	tooOldBefore := now.Add(-14 * 24 * time.Hour).UnixMilli()
	expiredBefore := int64(-1 << 62)
	if g.retention > 0 {
		expiredBefore = now.Add(-time.Duration(g.retention) * 24 * time.Hour).UnixMilli()
	}
	var rej rejectedInfo
	accepted := make([]inputLogEvent, 0, len(in.LogEvents))
	for i, e := range in.LogEvents {
		ts := *e.Timestamp
		switch {
		case ts > tooNewFrom:
			if rej.TooNewLogEventStartIndex == nil {
				idx := int32(i)
				rej.TooNewLogEventStartIndex = &idx
			}
		case ts < expiredBefore && expiredBefore > tooOldBefore:
			idx := int32(i + 1)
			rej.ExpiredLogEventEndIndex = &idx
		case ts < tooOldBefore:
			idx := int32(i + 1)
			rej.TooOldLogEventEndIndex = &idx
		default:
			accepted = append(accepted, e)
		}
	}
	if len(accepted) > 1 && *accepted[len(accepted)-1].Timestamp-*accepted[0].Timestamp > (24*time.Hour).Milliseconds() {
		s.mu.Unlock()
		return nil, awsproto.InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	emitted := s.ingest(g, st, accepted, nowMs)
	sink := s.MetricSink
	s.mu.Unlock()
	emit(sink, emitted)
	out := struct {
		NextSequenceToken     string        `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: fmt.Sprintf("%056d", st.seq)}
	if rej != (rejectedInfo{}) {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}

// ingest stores accepted events in a stream and runs the group's metric
// filters over them; the emissions go to the MetricSink once s.mu is
// released (emit). s.mu is held.
func (s *Server) ingest(g *logGroup, st *logStream, accepted []inputLogEvent, nowMs int64) []emission {
	filters := make([]*metricFilter, 0, len(g.filters))
	for _, name := range sortedKeys(g.filters) {
		filters = append(filters, g.filters[name])
	}
	var emitted []emission
	for _, e := range accepted {
		s.eventSeq++
		ev := event{ts: *e.Timestamp, ingest: nowMs, msg: *e.Message, id: fmt.Sprintf("%056d", s.eventSeq), stream: st.name}
		st.insert(ev)
		for _, f := range filters {
			if em, ok := f.apply(ev); ok {
				emitted = append(emitted, em)
			}
		}
	}
	st.seq++
	return emitted
}

// emit hands metric filter emissions to sink (nil: dropped).
func emit(sink MetricSink, emitted []emission) {
	if sink == nil {
		return
	}
	for _, em := range emitted {
		sink(em.namespace, em.name, em.dims, em.value, em.ts)
	}
}

// insert adds ev keeping events sorted by timestamp (stable for equal ones).
func (st *logStream) insert(ev event) {
	i := sort.Search(len(st.events), func(i int) bool { return st.events[i].ts > ev.ts })
	st.events = append(st.events, event{})
	copy(st.events[i+1:], st.events[i:])
	st.events[i] = ev
	if len(st.events) == 1 || ev.ts < st.firstEvent {
		st.firstEvent = ev.ts
	}
	if ev.ts > st.lastEvent || len(st.events) == 1 {
		st.lastEvent = ev.ts
	}
	st.lastIngestion = ev.ingest
	st.storedBytes += int64(len(ev.msg))
}

// apply runs a metric filter over one ingested event: the metric value for a
// match, the default value (if set) for a miss.
func (f *metricFilter) apply(ev event) (emission, bool) {
	t := f.transform
	em := emission{namespace: deref(t.MetricNamespace), name: deref(t.MetricName), ts: time.UnixMilli(ev.ts).UTC()}
	if !f.parsed.Match(ev.msg) {
		if t.DefaultValue == nil {
			return emission{}, false
		}
		em.value = *t.DefaultValue
		return em, true
	}
	v, ok := f.parsed.MetricValue(deref(t.MetricValue), ev.msg)
	if !ok {
		return emission{}, false
	}
	em.value = v
	if len(t.Dimensions) > 0 {
		em.dims = map[string]string{}
		for k, ref := range t.Dimensions {
			dv, ok := f.parsed.Field(ref, ev.msg)
			if !ok || dv == "" {
				return emission{}, false
			}
			em.dims[k] = dv
		}
	}
	return em, true
}

// ---- GetLogEvents ----

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int32  `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents tokens are "f/N" (forward from position N) and "b/N"
// (backward from position N); at either end the same token comes back, which
// is how AWS tells callers (and the SDK paginator) to stop.
func (s *Server) getLogEvents(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in getLogEventsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, 10000); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	st := g.streams[*in.LogStreamName]
	if st == nil {
		return nil, errStreamNotFound()
	}
	var window []event
	for _, e := range st.events {
		if in.StartTime != nil && e.ts < *in.StartTime || in.EndTime != nil && e.ts >= *in.EndTime {
			continue
		}
		window = append(window, e)
	}
	limit := eventPageSize
	if in.Limit != nil && int(*in.Limit) < limit {
		limit = int(*in.Limit)
	}
	var from, to int
	switch tok := deref(in.NextToken); {
	case tok == "":
		if in.StartFromHead != nil && *in.StartFromHead {
			from, to = 0, min(limit, len(window))
		} else {
			from, to = max(0, len(window)-limit), len(window)
		}
	case strings.HasPrefix(tok, "f/") || strings.HasPrefix(tok, "b/"):
		n, err := strconv.Atoi(tok[2:])
		if err != nil || n < 0 || n > len(window) {
			return nil, awsproto.InvalidParameter("The specified nextToken is invalid.")
		}
		if tok[0] == 'f' {
			from, to = n, min(n+limit, len(window))
		} else {
			from, to = max(0, n-limit), n
		}
	default:
		return nil, awsproto.InvalidParameter("The specified nextToken is invalid.")
	}
	events := make([]outputLogEvent, 0, to-from)
	for _, e := range window[from:to] {
		events = append(events, outputLogEvent{Timestamp: e.ts, Message: e.msg, IngestionTime: e.ingest})
	}
	return struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}{events, fmt.Sprintf("f/%d", to), fmt.Sprintf("b/%d", from)}, nil
}

// ---- FilterLogEvents ----

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
}

type filteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

func (s *Server) filterLogEvents(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in filterLogEventsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit, 10000); err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, awsproto.InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, model.Violation(fmt.Sprintf("list of %d names", len(in.LogStreamNames)), "logStreamNames", "Member must have length less than or equal to 100")
	}
	pattern, err := logpattern.Parse(deref(in.FilterPattern))
	if err != nil {
		return nil, awsproto.InvalidParameter("Invalid filter pattern: %s", reason(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range in.LogStreamNames {
		names[n] = true
	}
	var matched []filteredLogEvent
	for _, st := range g.streams {
		if in.LogStreamNames != nil && !names[st.name] {
			continue
		}
		if in.LogStreamNamePrefix != nil && !strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
			continue
		}
		for _, e := range st.events {
			if in.StartTime != nil && e.ts < *in.StartTime || in.EndTime != nil && e.ts > *in.EndTime {
				continue
			}
			if !pattern.Match(e.msg) {
				continue
			}
			matched = append(matched, filteredLogEvent{LogStreamName: st.name, Timestamp: e.ts, Message: e.msg, IngestionTime: e.ingest, EventID: e.id})
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		if matched[i].Timestamp != matched[j].Timestamp {
			return matched[i].Timestamp < matched[j].Timestamp
		}
		return matched[i].EventID < matched[j].EventID
	})
	page, next, err := awsproto.Paginate(matched, deref(in.NextToken), limitOf(in.Limit), eventPageSize, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []filteredLogEvent{}
	}
	return struct {
		Events    []filteredLogEvent `json:"events"`
		NextToken string             `json:"nextToken,omitempty"`
	}{page, next}, nil
}

// reason is a logpattern error without its "invalid filter pattern" prefix.
func reason(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "invalid filter pattern ")
}
