package logsemu

import (
	"fmt"
	"time"
)

// AppendContainerLog writes a container's output lines to group/stream as
// the awslogs log driver does for an ECS task: the stream is created when
// missing (the driver creates prefix/container-name/task-id when the
// container starts); the group must exist unless createGroup is set
// (awslogs-create-group=true), as in AWS. Line i gets timestamp at+i ms.
// Events go through ingestion like PutLogEvents's (metric filters, so a
// log-pattern alarm sees a task's output), without PutLogEvents's request
// checks on age: the driver stamps events with the time the container wrote
// them. It is the in-process writer the endpoint wires into the ECS
// emulation (ecsemu.Server.TaskLog); it takes no other emulation's lock
// while the sink runs.
func (s *Server) AppendContainerLog(group, stream string, createGroup bool, at time.Time, lines []string) error {
	if err := checkGroupName(group, "logGroupName"); err != nil {
		return err
	}
	if err := checkStreamName(&stream); err != nil {
		return err
	}
	s.mu.Lock()
	g := s.groups[group]
	nowMs := s.nowMillis()
	if g == nil {
		if !createGroup {
			s.mu.Unlock()
			return fmt.Errorf("log group %s: %w", group, errGroupNotFound())
		}
		g = &logGroup{name: group, created: nowMs, class: "STANDARD", tags: map[string]string{},
			streams: map[string]*logStream{}, filters: map[string]*metricFilter{}}
		s.groups[group] = g
	}
	st := g.streams[stream]
	if st == nil {
		st = &logStream{name: stream, created: nowMs}
		g.streams[stream] = st
	}
	events := make([]inputLogEvent, 0, len(lines))
	for i, line := range lines {
		if line == "" {
			continue // the driver sends no empty events (PutLogEvents: message length >= 1)
		}
		ts, msg := at.UnixMilli()+int64(i), line
		events = append(events, inputLogEvent{Timestamp: &ts, Message: &msg})
	}
	var emitted []emission
	if len(events) > 0 {
		emitted = s.ingest(g, st, events, nowMs)
	}
	sink := s.MetricSink
	s.mu.Unlock()
	emit(sink, emitted)
	return nil
}
