package codepipelineemu

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/codebuildemu"
)

// Executions: statuses as botocore codepipeline spells them.
const (
	inProgress = "InProgress"
	succeeded  = "Succeeded"
	failed     = "Failed"
	stopped    = "Stopped"
	stopping   = "Stopping"
	superseded = "Superseded"
	cancelled  = "Cancelled"
	skipped    = "Skipped"
	abandoned  = "Abandoned"
)

// sourceActionFor is how long a source action takes.
const sourceActionFor = 2 * time.Second

// revision is what a source action delivers: a commit of a branch.
type revision struct {
	Repository string            `json:"repository"`
	Branch     string            `json:"branch"`
	Commit     string            `json:"commit"`
	Message    string            `json:"message"`
	Files      map[string]string `json:"files,omitempty"`
}

type execution struct {
	id            string
	pipeline      string
	decl          pipelineDecl
	version       int64
	status        string
	summary       string
	triggerType   string
	triggerDetail string
	execType      string // STANDARD or ROLLBACK
	rollbackOf    string // target execution of a ROLLBACK
	rollbackStage string // the only stage a ROLLBACK execution runs
	start         time.Time
	updated       time.Time
	rev           revision
	vars          map[string]string            // pipeline variables
	ns            map[string]map[string]string // namespace → output variables
	artifacts     map[string]artifactLoc       // artifact name → S3 object
	stages        []*stageRun
	stopReason    string
	abandon       bool
	seq           int
}

type artifactLoc struct{ bucket, key string }

type stageRun struct {
	name       string
	status     string // "" until entered
	start, end time.Time
	cond       *condRun // beforeEntry evaluation
	actions    []*actionRun
	retries    int
}

type condRun struct {
	status, summary string
	at              time.Time
	rules           []ruleRun
}

type ruleRun struct {
	name, status, summary string
}

type actionRun struct {
	decl        actionDecl
	id          string
	status      string // "" until started
	start, end  time.Time
	summary     string
	errCode     string
	errMsg      string
	externalID  string
	externalURL string
	resolved    map[string]string
	outputs     []string
	outVars     map[string]string
	// provider state
	deployment string // ECS deployment id
	cluster    string
	service    string
}

func newID() string { return codebuildemu.UUID() }

// fakeCommit is the head commit of a branch nobody pushed to: stable per
// repository and branch.
func fakeCommit(repo, branch string) string {
	h := sha1.Sum([]byte(repo + "@" + branch))
	return hex.EncodeToString(h[:])
}

// sourceAction returns the pipeline's first source action.
func sourceAction(d pipelineDecl) (actionDecl, bool) {
	if len(d.Stages) == 0 {
		return actionDecl{}, false
	}
	for _, a := range d.Stages[0].Actions {
		return a, true
	}
	return actionDecl{}, false
}

// newExecution creates an execution of p (s.mu held) in InProgress.
func (s *Server) newExecution(p *pipeline, rev revision, trigger, detail string, vars map[string]string) *execution {
	now := s.clk.Now()
	s.seq++
	e := &execution{id: newID(), pipeline: *p.decl.Name, decl: p.decl, version: deref(p.decl.Version), status: inProgress,
		triggerType: trigger, triggerDetail: detail, execType: "STANDARD", start: now, updated: now, rev: rev,
		vars: map[string]string{}, ns: map[string]map[string]string{}, artifacts: map[string]artifactLoc{}, seq: s.seq}
	for _, v := range p.decl.Variables {
		e.vars[deref(v.Name)] = deref(v.DefaultValue)
	}
	for k, v := range vars {
		e.vars[k] = v
	}
	for _, st := range p.decl.Stages {
		sr := &stageRun{name: deref(st.Name)}
		for _, a := range st.Actions {
			sr.actions = append(sr.actions, &actionRun{decl: a})
		}
		e.stages = append(e.stages, sr)
	}
	p.execs = append(p.execs, e)
	s.pipelineEvent(e, "STARTED", now)
	return e
}

// Sync advances every execution to the endpoint's clock. The endpoint calls
// it before serving any request.
func (s *Server) Sync(ctx context.Context, wrote string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
}

func (s *Server) advanceAll() {
	for _, n := range s.names() {
		s.advance(s.pipelines[n])
	}
}

// names are the pipelines' names in order (s.mu held).
func (s *Server) names() []string {
	names := make([]string, 0, len(s.pipelines))
	for n := range s.pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// advance moves p's executions as far as the clock allows (s.mu held).
func (s *Server) advance(p *pipeline) {
	for round := 0; round < 100; round++ {
		changed := false
		for _, e := range p.execs {
			if e.status == inProgress || e.status == stopping {
				if s.step(p, e) {
					changed = true
				}
			}
		}
		if !changed {
			return
		}
	}
}

// current is the index of the stage e is in or about to enter, len(stages)
// when done.
func (e *execution) current() int {
	for i, st := range e.stages {
		if e.rollbackStage != "" && st.name != e.rollbackStage {
			continue
		}
		if st.status == "" || st.status == inProgress || st.status == stopping {
			return i
		}
		if st.status == failed || st.status == stopped || st.status == cancelled {
			return i
		}
	}
	return len(e.stages)
}

// stageBusy reports whether another execution holds stage i, or an older
// one has still to pass it (QUEUED and SUPERSEDED run one execution per
// stage, in order).
func stageBusy(p *pipeline, e *execution, i int) bool {
	if e.decl.ExecutionMode == "PARALLEL" {
		return false
	}
	for _, o := range p.execs {
		if o == e || i >= len(o.stages) {
			continue
		}
		if o.stages[i].status == inProgress || o.stages[i].status == stopping {
			return true
		}
		active := o.status == inProgress || o.status == stopping
		if active && o.seq < e.seq && o.current() <= i && o.rollbackStage == "" {
			return true
		}
	}
	return false
}

// step advances e by one transition; false when nothing can happen now.
func (s *Server) step(p *pipeline, e *execution) bool {
	now := s.clk.Now()
	i := e.current()
	if i == len(e.stages) {
		e.finish(s, succeeded, "", now)
		return true
	}
	st := e.stages[i]
	decl := e.decl.Stages[i]
	switch st.status {
	case failed, stopped, cancelled:
		return false
	case "":
		if e.status == stopping {
			e.finish(s, stopped, e.stopReason, now)
			return true
		}
		if stageBusy(p, e, i) {
			if e.decl.ExecutionMode == "SUPERSEDED" && e.supersededBy(p, i) {
				e.finish(s, superseded, "", now)
				return true
			}
			return false
		}
		st.start = now
		if decl.BeforeEntry != nil && len(decl.BeforeEntry.Conditions) > 0 {
			c := decl.BeforeEntry.Conditions[0]
			ok := s.evalCondition(e, st, c, now)
			if !ok {
				if c.Result == "SKIP" {
					// stage-conditions.html: SKIP — "the stage is skipped
					// and the pipeline execution continues".
					st.status, st.end = skipped, now
					s.stageEvent(e, st, "SKIPPED", now)
					return true
				}
				// FAIL: the stage fails and so does the execution.
				st.status, st.end = failed, now
				s.stageEvent(e, st, "FAILED", now)
				e.finish(s, failed, fmt.Sprintf("Stage %s entry condition failed: %s", st.name, st.cond.summary), now)
				return true
			}
		}
		st.status = inProgress
		s.stageEvent(e, st, "STARTED", now)
		return true
	}
	// InProgress or Stopping: run the current runOrder group.
	group := currentGroup(st)
	if group == nil {
		st.status, st.end = succeeded, now
		s.stageEvent(e, st, "SUCCEEDED", now)
		if e.rollbackStage != "" {
			e.finish(s, succeeded, "", now)
		}
		return true
	}
	changed := false
	for _, a := range group {
		switch a.status {
		case "":
			if e.status == stopping {
				continue
			}
			s.startAction(p, e, st, a, now)
			changed = true
		case inProgress:
			if e.status == stopping && e.abandon {
				a.status, a.end, a.summary = abandoned, now, "Abandoned by StopPipelineExecution"
				s.actionEvent(e, st, a, "ABANDONED", now)
				changed = true
				continue
			}
			if s.pollAction(p, e, st, a, now) {
				changed = true
			}
		}
	}
	done, anyFailed := true, false
	for _, a := range group {
		if a.status == "" || a.status == inProgress {
			done = false
		}
		if a.status == failed || a.status == abandoned {
			anyFailed = true
		}
	}
	if e.status == stopping && (done || e.abandon || !anyStarted(group)) {
		if !done && !e.abandon {
			return changed
		}
		st.status, st.end = stopped, now
		s.stageEvent(e, st, "STOPPED", now)
		e.finish(s, stopped, e.stopReason, now)
		return true
	}
	if done && anyFailed {
		st.status, st.end = failed, now
		s.stageEvent(e, st, "FAILED", now)
		s.stageFailed(p, e, i, now)
		return true
	}
	return changed
}

func anyStarted(group []*actionRun) bool {
	for _, a := range group {
		if a.status != "" {
			return true
		}
	}
	return false
}

// supersededBy: in SUPERSEDED mode a newer execution waiting for the same
// stage (or already past it) replaces an older one waiting.
func (e *execution) supersededBy(p *pipeline, i int) bool {
	for _, o := range p.execs {
		if o.seq > e.seq && (o.status == inProgress || o.status == succeeded) && o.rollbackStage == "" && o.current() >= i {
			return true
		}
	}
	return false
}

// currentGroup is the lowest runOrder whose actions have not all
// succeeded, nil when all have.
func currentGroup(st *stageRun) []*actionRun {
	orders := map[int64][]*actionRun{}
	var keys []int64
	for _, a := range st.actions {
		ro := deref(a.decl.RunOrder)
		if _, ok := orders[ro]; !ok {
			keys = append(keys, ro)
		}
		orders[ro] = append(orders[ro], a)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		for _, a := range orders[k] {
			if a.status != succeeded {
				return orders[k]
			}
		}
	}
	return nil
}

// stageFailed applies the stage's onFailure result (stage-conditions.html):
// ROLLBACK starts a rollback execution of the stage to the last execution
// that succeeded in it; RETRY retries the failed actions once; otherwise
// the execution fails.
func (s *Server) stageFailed(p *pipeline, e *execution, i int, now time.Time) {
	st := e.stages[i]
	msg := ""
	for _, a := range st.actions {
		if a.status == failed {
			msg = a.errMsg
			break
		}
	}
	summary := fmt.Sprintf("Stage %s failed: %s", st.name, msg)
	f := e.decl.Stages[i].OnFailure
	if f != nil && f.Result == "RETRY" && st.retries == 0 {
		st.retries++
		retryActions(st, f.RetryConfiguration == nil || f.RetryConfiguration.RetryMode != "ALL_ACTIONS")
		st.status = inProgress
		s.stageEvent(e, st, "STARTED", now)
		return
	}
	e.finish(s, failed, summary, now)
	if f != nil && f.Result == "ROLLBACK" && e.execType == "STANDARD" {
		if target := lastSucceededIn(p, st.name, e); target != nil {
			s.startRollback(p, target, st.name, "AutomatedRollback", e.id)
		}
	}
}

func retryActions(st *stageRun, failedOnly bool) {
	for _, a := range st.actions {
		if !failedOnly || a.status == failed || a.status == abandoned {
			*a = actionRun{decl: a.decl}
		}
	}
}

// lastSucceededIn is the most recent execution (other than e) whose stage
// named stage succeeded.
func lastSucceededIn(p *pipeline, stage string, e *execution) *execution {
	for j := len(p.execs) - 1; j >= 0; j-- {
		o := p.execs[j]
		if o == e || o.rollbackStage != "" && o.rollbackStage != stage {
			continue
		}
		for _, st := range o.stages {
			if st.name == stage && st.status == succeeded {
				return o
			}
		}
	}
	return nil
}

// startRollback starts an execution of type ROLLBACK that runs stage again
// with target's source revision and artifacts.
func (s *Server) startRollback(p *pipeline, target *execution, stage, trigger, detail string) *execution {
	r := s.newExecution(p, target.rev, trigger, detail, target.vars)
	r.execType, r.rollbackOf, r.rollbackStage = "ROLLBACK", target.id, stage
	for k, v := range target.artifacts {
		r.artifacts[k] = v
	}
	for k, v := range target.ns {
		r.ns[k] = v
	}
	for _, st := range r.stages {
		if st.name == stage {
			break
		}
		st.status = succeeded // not run: the rollback only runs its stage
	}
	return r
}

func (e *execution) finish(s *Server, status, summary string, now time.Time) {
	e.status, e.updated = status, now
	if summary != "" {
		e.summary = summary
	}
	state := map[string]string{succeeded: "SUCCEEDED", failed: "FAILED", stopped: "STOPPED", superseded: "SUPERSEDED", cancelled: "CANCELED"}[status]
	s.pipelineEvent(e, state, now)
}

// resolve replaces #{namespace.Variable}, #{variables.name} and
// #{codepipeline.PipelineExecutionId} in v (variables-reference.html).
var varRefRe = regexp.MustCompile(`#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}`)

func (e *execution) resolve(v string) string {
	return varRefRe.ReplaceAllStringFunc(v, func(m string) string {
		sub := varRefRe.FindStringSubmatch(m)
		switch sub[1] {
		case "variables":
			return e.vars[sub[2]]
		case "codepipeline":
			if sub[2] == "PipelineExecutionId" {
				return e.id
			}
		}
		if ns, ok := e.ns[sub[1]]; ok {
			return ns[sub[2]]
		}
		return m
	})
}

// evalCondition evaluates a stage condition's rules (all must pass). The
// VariableCheck rule (rule-reference-VariableCheck.html) compares the
// resolved Variable with Value: EQ, NE, CONTAINS, MATCHES (a regular
// expression matching the whole value, as Java's String.matches); other
// rule providers pass.
func (s *Server) evalCondition(e *execution, st *stageRun, c conditionDecl, now time.Time) bool {
	cr := &condRun{status: succeeded, at: now}
	for _, r := range c.Rules {
		rr := ruleRun{name: deref(r.Name), status: succeeded}
		if deref(deref(r.RuleTypeID).Provider) == "VariableCheck" {
			v := e.resolve(r.Configuration["Variable"])
			want := r.Configuration["Value"]
			ok := false
			switch r.Configuration["Operator"] {
			case "EQ":
				ok = v == want
			case "NE":
				ok = v != want
			case "CONTAINS":
				ok = strings.Contains(v, want)
			case "MATCHES":
				re, err := regexp.Compile("^(?:" + want + ")$")
				ok = err == nil && re.MatchString(v)
			}
			if !ok {
				rr.status = failed
				rr.summary = fmt.Sprintf("Variable %s with value '%s' does not satisfy %s '%s'", r.Configuration["Variable"], v, r.Configuration["Operator"], want)
			}
		}
		if rr.status == failed && cr.status == succeeded {
			cr.status, cr.summary = failed, rr.summary
		}
		cr.rules = append(cr.rules, rr)
	}
	st.cond = cr
	return cr.status == succeeded
}

// pipelineEvent and friends send the documented CodePipeline events
// (detect-state-changes-cloudwatch-events.html).
func (s *Server) pipelineEvent(e *execution, state string, at time.Time) {
	s.emit("CodePipeline Pipeline Execution State Change", e, map[string]any{"state": state}, at)
}

func (s *Server) stageEvent(e *execution, st *stageRun, state string, at time.Time) {
	s.emit("CodePipeline Stage Execution State Change", e, map[string]any{"state": state, "stage": st.name}, at)
}

func (s *Server) actionEvent(e *execution, st *stageRun, a *actionRun, state string, at time.Time) {
	t := deref(a.decl.ActionTypeID)
	d := map[string]any{"state": state, "stage": st.name, "action": deref(a.decl.Name), "action-execution-id": a.id,
		"region": s.Region, "type": map[string]string{"owner": deref(t.Owner), "category": deref(t.Category), "provider": deref(t.Provider), "version": deref(t.Version)}}
	if state == "FAILED" || state == "SUCCEEDED" {
		res := map[string]any{"external-execution-id": a.externalID, "external-execution-summary": a.summary, "external-execution-url": a.externalURL}
		if state == "FAILED" {
			res["error-code"] = a.errCode
			res["external-execution-summary"] = a.errMsg
		}
		d["execution-result"] = res
	}
	s.emit("CodePipeline Action Execution State Change", e, d, at)
}

func (s *Server) emit(detailType string, e *execution, extra map[string]any, at time.Time) {
	if s.Events == nil {
		return
	}
	d := map[string]any{"pipeline": e.pipeline, "execution-id": e.id, "version": e.version,
		"pipeline-execution-attempt": 1, "start-time": e.start.UTC().Format(time.RFC3339Nano),
		"execution-trigger": map[string]string{"trigger-type": e.triggerType, "trigger-detail": e.triggerDetail}}
	for k, v := range extra {
		d[k] = v
	}
	b, _ := json.Marshal(d)
	s.Events("aws.codepipeline", detailType, []string{s.arn(e.pipeline)}, b, at)
}
