package codepipelineemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Push announces a push of commit to branch of repository ("owner/repo")
// and starts the executions its triggers select; it returns their ids.
// files, if any, are the contents of the source artifact (a buildspec.yml,
// for example).
//
// A V2 pipeline with a trigger on a CodeStarSourceConnection source action
// whose FullRepositoryId is repository starts when one of the trigger's
// push filters matches: a branch matching one of branches.includes (every
// branch when there are none) and none of branches.excludes, which take
// priority (pipelines-filter.html; globs: * within a path segment, ** across
// them, ?). Trigger type WebhookV2. A pipeline without triggers starts on a
// push to its source action's BranchName, trigger type Webhook.
func (s *Server) Push(repository, branch, commit, message string, files map[string]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	rev := revision{Repository: repository, Branch: branch, Commit: commit, Message: message, Files: files}
	if rev.Commit == "" {
		rev.Commit = fakeCommit(repository, branch+time.Now().String())
	}
	s.heads[repository+"@"+branch] = rev
	var ids []string
	for _, n := range s.names() {
		p := s.pipelines[n]
		if trigger, detail, ok := matchPush(p.decl, rev); ok {
			e := s.newExecution(p, rev, trigger, detail, nil)
			ids = append(ids, e.id)
			s.advance(p)
		}
	}
	return ids
}

func matchPush(d pipelineDecl, rev revision) (trigger, detail string, ok bool) {
	src, found := sourceAction(d)
	if !found || deref(deref(src.ActionTypeID).Provider) != "CodeStarSourceConnection" || src.Configuration["FullRepositoryId"] != rev.Repository {
		return "", "", false
	}
	detail = src.Configuration["ConnectionArn"]
	if d.PipelineType == "V2" && len(d.Triggers) > 0 {
		for _, t := range d.Triggers {
			g := deref(t.GitConfiguration)
			if deref(g.SourceActionName) != deref(src.Name) {
				continue
			}
			for _, f := range g.Push {
				if f.Tags != nil && f.Branches == nil {
					continue // a tag filter: pushes of tags only
				}
				if branchMatches(f.Branches, rev.Branch) {
					return "WebhookV2", detail, true
				}
			}
		}
		return "", "", false
	}
	// "DetectChanges": default change detection on the configured branch.
	if src.Configuration["DetectChanges"] == "false" || src.Configuration["BranchName"] != rev.Branch {
		return "", "", false
	}
	return "Webhook", detail, true
}

func branchMatches(f *filterCriteria, branch string) bool {
	if f == nil {
		return true
	}
	for _, x := range f.Excludes {
		if globMatch(x, branch) {
			return false
		}
	}
	if len(f.Includes) == 0 {
		return true
	}
	for _, in := range f.Includes {
		if globMatch(in, branch) {
			return true
		}
	}
	return false
}

// globMatch matches CodePipeline trigger globs: ** matches across "/",
// the rest as path.Match.
func globMatch(pattern, name string) bool {
	if strings.Contains(pattern, "**") {
		pre, post, _ := strings.Cut(pattern, "**")
		if !strings.HasPrefix(name, pre) {
			return false
		}
		rest := strings.TrimPrefix(name, pre)
		for i := 0; i <= len(rest); i++ {
			if globMatch(strings.TrimPrefix(post, "/"), strings.TrimPrefix(rest[i:], "/")) {
				return true
			}
		}
		return false
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ServeControl serves the test-control API of the standalone endpoint:
//
//	POST /_localaws/codepipeline/push {"repository":"owner/repo","branch":"main","commit":"<sha>","message":"...","files":{"buildspec.yml":"..."}}
//
// answers {"pipelineExecutionIds":[...]}.
func (s *Server) ServeControl(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/_localaws/codepipeline/push" || r.Method != http.MethodPost {
		http.Error(w, `{"error":"only POST /_localaws/codepipeline/push"}`, http.StatusNotFound)
		return
	}
	var rev revision
	if err := json.NewDecoder(r.Body).Decode(&rev); err != nil || rev.Repository == "" || rev.Branch == "" {
		http.Error(w, `{"error":"want {\"repository\":\"owner/repo\",\"branch\":\"main\",\"commit\":\"<sha>\",\"message\":\"...\"}"}`, http.StatusBadRequest)
		return
	}
	ids := s.Push(rev.Repository, rev.Branch, rev.Commit, rev.Message, rev.Files)
	if ids == nil {
		ids = []string{}
	}
	json.NewEncoder(w).Encode(map[string][]string{"pipelineExecutionIds": ids})
}

type startIn struct {
	Name      *string `json:"name"`
	Variables []struct {
		Name  *string `json:"name"`
		Value *string `json:"value"`
	} `json:"variables"`
	ClientRequestToken *string `json:"clientRequestToken"`
	SourceRevisions    []struct {
		ActionName    *string `json:"actionName"`
		RevisionType  *string `json:"revisionType"`
		RevisionValue *string `json:"revisionValue"`
	} `json:"sourceRevisions"`
}

func (s *Server) startPipelineExecution(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in startIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	errs := []error{checkName("name", in.Name)}
	if in.ClientRequestToken != nil {
		errs = append(errs, model.Length("clientRequestToken", *in.ClientRequestToken, 1, 128), model.Pattern("clientRequestToken", *in.ClientRequestToken, requestTokRe))
	}
	if in.Variables != nil {
		// botocore codepipeline PipelineVariableList: 1-50.
		errs = append(errs, model.Size("variables", fmt.Sprintf("%d variables", len(in.Variables)), len(in.Variables), 1, 50))
	}
	vars := map[string]string{}
	for i, v := range in.Variables {
		vp := fmt.Sprintf("variables.%d.member", i+1)
		if v.Name == nil || v.Value == nil {
			errs = append(errs, model.Required(vp+".name", v.Name != nil), model.Required(vp+".value", v.Value != nil))
			continue
		}
		errs = append(errs, model.Pattern(vp+".name", *v.Name, namespaceRe), model.Length(vp+".value", *v.Value, 1, 1000))
		vars[*v.Name] = *v.Value
	}
	for i, sr := range in.SourceRevisions {
		if sr.RevisionType != nil {
			errs = append(errs, model.Enum(fmt.Sprintf("sourceRevisions.%d.member.revisionType", i+1), *sr.RevisionType, "COMMIT_ID", "IMAGE_DIGEST", "S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY"))
		}
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	p, err := s.lookup("name", in.Name)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, v := range p.decl.Variables {
		declared[deref(v.Name)] = true
	}
	for n := range vars {
		if !declared[n] {
			return nil, model.Invalid("Variable %s is not defined in pipeline %s", n, *in.Name)
		}
	}
	src, _ := sourceAction(p.decl)
	repo := src.Configuration["FullRepositoryId"]
	if repo == "" {
		repo = src.Configuration["RepositoryName"]
	}
	branch := src.Configuration["BranchName"]
	rev, ok := s.heads[repo+"@"+branch]
	if !ok {
		rev = revision{Repository: repo, Branch: branch, Commit: fakeCommit(repo, branch), Message: "HEAD of " + branch}
	}
	for _, sr := range in.SourceRevisions {
		if deref(sr.RevisionType) == "COMMIT_ID" {
			rev.Commit, rev.Message = deref(sr.RevisionValue), ""
		}
	}
	e := s.newExecution(p, rev, "StartPipelineExecution", fmt.Sprintf("arn:aws:iam::%s:root", s.Account), vars)
	s.advance(p)
	return map[string]string{"pipelineExecutionId": e.id}, nil
}

// execIn is the input of the operations addressing one execution.
type execIn struct {
	PipelineName              *string `json:"pipelineName"`
	PipelineExecutionID       *string `json:"pipelineExecutionId"`
	StageName                 *string `json:"stageName"`
	RetryMode                 *string `json:"retryMode"`
	TargetPipelineExecutionID *string `json:"targetPipelineExecutionId"`
	Abandon                   bool    `json:"abandon"`
	Reason                    *string `json:"reason"`
	MaxResults                *int64  `json:"maxResults"`
	NextToken                 *string `json:"nextToken"`
	Filter                    *struct {
		PipelineExecutionID *string `json:"pipelineExecutionId"`
		SucceededInStage    *struct {
			StageName *string `json:"stageName"`
		} `json:"succeededInStage"`
	} `json:"filter"`
}

func checkExecID(member string, id *string) error {
	if id == nil {
		return model.Required(member, false)
	}
	return model.Pattern(member, *id, execIDRe)
}

// withPipeline decodes an execIn, validates the pipeline name (and the
// members named in need), advances the clock and finds the pipeline; fn
// runs under s.mu.
func (s *Server) withPipeline(dec awsproto.Decoder, need []string, fn func(p *pipeline, in execIn) (any, error)) (any, error) {
	var in execIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	errs := []error{checkName("pipelineName", in.PipelineName)}
	for _, m := range need {
		switch m {
		case "pipelineExecutionId":
			errs = append(errs, checkExecID(m, in.PipelineExecutionID))
		case "targetPipelineExecutionId":
			errs = append(errs, checkExecID(m, in.TargetPipelineExecutionID))
		case "stageName":
			errs = append(errs, checkName(m, in.StageName))
		case "retryMode":
			if in.RetryMode == nil {
				errs = append(errs, model.Required(m, false))
			} else {
				errs = append(errs, model.Enum(m, *in.RetryMode, retryModes...))
			}
		}
	}
	if in.MaxResults != nil {
		errs = append(errs, model.Range("maxResults", *in.MaxResults, 1, 100))
	}
	if in.Reason != nil {
		errs = append(errs, model.Length("reason", *in.Reason, 0, 200))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	p, err := s.lookup("pipelineName", in.PipelineName)
	if err != nil {
		return nil, err
	}
	return fn(p, in)
}

func (p *pipeline) exec(id string) (*execution, error) {
	for _, e := range p.execs {
		if e.id == id {
			return e, nil
		}
	}
	// botocore codepipeline PipelineExecutionNotFoundException.
	return nil, awsproto.Errf("PipelineExecutionNotFoundException", "Pipeline Execution with id %s does not exist in pipeline with name %s", id, *p.decl.Name)
}

func epoch(t time.Time) *awsproto.EpochTime {
	if t.IsZero() {
		return nil
	}
	v := awsproto.EpochTime(t)
	return &v
}

type triggerOut struct {
	TriggerType   string `json:"triggerType"`
	TriggerDetail string `json:"triggerDetail,omitempty"`
}

type rollbackMeta struct {
	RollbackTargetPipelineExecutionID string `json:"rollbackTargetPipelineExecutionId,omitempty"`
}

func (e *execution) rollbackMeta() *rollbackMeta {
	if e.rollbackOf == "" {
		return nil
	}
	return &rollbackMeta{e.rollbackOf}
}

// sourceOutput is the name of the source action's output artifact.
func (e *execution) sourceAction() (name, artifact string) {
	if len(e.stages) == 0 || len(e.stages[0].actions) == 0 {
		return "", ""
	}
	a := e.stages[0].actions[0].decl
	if len(a.OutputArtifacts) > 0 {
		artifact = deref(a.OutputArtifacts[0].Name)
	}
	return deref(a.Name), artifact
}

func (e *execution) revisionURL() string {
	return fmt.Sprintf("https://github.com/%s/commit/%s", e.rev.Repository, e.rev.Commit)
}

func (s *Server) getPipelineExecution(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, []string{"pipelineExecutionId"}, func(p *pipeline, in execIn) (any, error) {
		e, err := p.exec(*in.PipelineExecutionID)
		if err != nil {
			return nil, err
		}
		_, artifact := e.sourceAction()
		vars := []map[string]string{}
		for k, v := range e.vars {
			vars = append(vars, map[string]string{"name": k, "resolvedValue": v})
		}
		sort.Slice(vars, func(i, j int) bool { return vars[i]["name"] < vars[j]["name"] })
		out := map[string]any{
			"pipelineName": e.pipeline, "pipelineVersion": e.version, "pipelineExecutionId": e.id, "status": e.status,
			"artifactRevisions": []map[string]any{{"name": artifact, "revisionId": e.rev.Commit, "revisionSummary": e.rev.Message,
				"created": epoch(e.start), "revisionUrl": e.revisionURL()}},
			"variables": vars, "trigger": triggerOut{e.triggerType, e.triggerDetail},
			"executionMode": e.decl.ExecutionMode, "executionType": e.execType,
		}
		if e.summary != "" {
			out["statusSummary"] = e.summary
		}
		if m := e.rollbackMeta(); m != nil {
			out["rollbackMetadata"] = m
		}
		return map[string]any{"pipelineExecution": out}, nil
	})
}

func (s *Server) listPipelineExecutions(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, nil, func(p *pipeline, in execIn) (any, error) {
		var all []map[string]any
		for j := len(p.execs) - 1; j >= 0; j-- {
			e := p.execs[j]
			if in.Filter != nil && in.Filter.SucceededInStage != nil {
				ok := false
				for _, st := range e.stages {
					ok = ok || st.name == deref(in.Filter.SucceededInStage.StageName) && st.status == succeeded
				}
				if !ok {
					continue
				}
			}
			action, _ := e.sourceAction()
			sum := map[string]any{"pipelineExecutionId": e.id, "status": e.status, "startTime": epoch(e.start), "lastUpdateTime": epoch(e.updated),
				"sourceRevisions": []map[string]string{{"actionName": action, "revisionId": e.rev.Commit, "revisionSummary": e.rev.Message, "revisionUrl": e.revisionURL()}},
				"trigger":         triggerOut{e.triggerType, e.triggerDetail}, "executionMode": e.decl.ExecutionMode, "executionType": e.execType}
			if e.summary != "" {
				sum["statusSummary"] = e.summary
			}
			if e.stopReason != "" || e.status == stopped || e.status == stopping {
				sum["stopTrigger"] = map[string]string{"reason": e.stopReason}
			}
			if m := e.rollbackMeta(); m != nil {
				sum["rollbackMetadata"] = m
			}
			all = append(all, sum)
		}
		return page("pipelineExecutionSummaries", all, in)
	})
}

// latestIn is the most recent execution that entered stage i.
func latestIn(p *pipeline, name string) (*execution, *stageRun) {
	for j := len(p.execs) - 1; j >= 0; j-- {
		e := p.execs[j]
		for _, st := range e.stages {
			if st.name == name && st.status != "" && (e.rollbackStage == "" || e.rollbackStage == name) {
				return e, st
			}
		}
	}
	return nil, nil
}

func (a *actionRun) latest() map[string]any {
	out := a.result("summary")
	out["actionExecutionId"], out["status"], out["lastStatusChange"] = a.id, a.status, epoch(a.start)
	if !a.end.IsZero() {
		out["lastStatusChange"] = epoch(a.end)
	}
	return out
}

func (s *Server) getPipelineState(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in getIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	p, err := s.lookup("name", in.Name)
	if err != nil {
		return nil, err
	}
	var states []map[string]any
	for _, sd := range p.decl.Stages {
		name := deref(sd.Name)
		st := map[string]any{"stageName": name, "inboundTransitionState": map[string]bool{"enabled": true}}
		e, run := latestIn(p, name)
		var actions []map[string]any
		for _, ad := range sd.Actions {
			as := map[string]any{"actionName": deref(ad.Name)}
			if run != nil {
				for _, a := range run.actions {
					if deref(a.decl.Name) == deref(ad.Name) && a.status != "" {
						as["latestExecution"] = a.latest()
					}
				}
			}
			actions = append(actions, as)
		}
		st["actionStates"] = actions
		if run != nil {
			st["latestExecution"] = map[string]string{"pipelineExecutionId": e.id, "status": run.status, "type": e.execType}
			if run.cond != nil {
				var rules []map[string]any
				for _, rr := range run.cond.rules {
					le := map[string]any{"status": rr.status, "lastStatusChange": epoch(run.cond.at)}
					if rr.summary != "" {
						le["summary"] = rr.summary
					}
					rules = append(rules, map[string]any{"ruleName": rr.name, "latestExecution": le})
				}
				le := map[string]any{"status": run.cond.status}
				if run.cond.summary != "" {
					le["summary"] = run.cond.summary
				}
				st["beforeEntryConditionState"] = map[string]any{"latestExecution": le,
					"conditionStates": []map[string]any{{"latestExecution": map[string]any{"status": run.cond.status, "lastStatusChange": epoch(run.cond.at)}, "ruleStates": rules}}}
			}
		}
		states = append(states, st)
	}
	return map[string]any{"pipelineName": *in.Name, "pipelineVersion": deref(p.decl.Version), "stageStates": states,
		"created": epoch(p.created), "updated": epoch(p.updated)}, nil
}

func (s *Server) listActionExecutions(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, nil, func(p *pipeline, in execIn) (any, error) {
		var only string
		if in.Filter != nil && in.Filter.PipelineExecutionID != nil {
			only = *in.Filter.PipelineExecutionID
			if _, err := p.exec(only); err != nil {
				return nil, err
			}
		}
		var all []map[string]any
		for j := len(p.execs) - 1; j >= 0; j-- {
			e := p.execs[j]
			if only != "" && e.id != only {
				continue
			}
			var rows []map[string]any
			for _, st := range e.stages {
				for _, a := range st.actions {
					if a.status == "" {
						continue
					}
					rows = append(rows, s.actionDetail(e, st, a))
				}
			}
			for k := len(rows) - 1; k >= 0; k-- {
				all = append(all, rows[k])
			}
		}
		return page("actionExecutionDetails", all, in)
	})
}

func (s *Server) actionDetail(e *execution, st *stageRun, a *actionRun) map[string]any {
	var inputs, outputs []map[string]any
	for _, ia := range a.decl.InputArtifacts {
		loc := e.artifacts[deref(ia.Name)]
		inputs = append(inputs, map[string]any{"name": deref(ia.Name), "s3location": map[string]string{"bucket": loc.bucket, "key": loc.key}})
	}
	for i, oa := range a.decl.OutputArtifacts {
		d := map[string]any{"name": deref(oa.Name)}
		if i < len(a.outputs) && a.status == succeeded {
			d["s3location"] = map[string]string{"bucket": e.bucket(), "key": a.outputs[i]}
		}
		outputs = append(outputs, d)
	}
	if inputs == nil {
		inputs = []map[string]any{}
	}
	if outputs == nil {
		outputs = []map[string]any{}
	}
	res := a.result("externalExecutionSummary")
	last := a.start
	if !a.end.IsZero() {
		last = a.end
	}
	input := map[string]any{"actionTypeId": a.decl.ActionTypeID, "configuration": a.decl.Configuration, "resolvedConfiguration": a.resolved,
		"region": s.Region, "inputArtifacts": inputs}
	if a.decl.Namespace != nil {
		input["namespace"] = *a.decl.Namespace
	}
	output := map[string]any{"outputArtifacts": outputs, "executionResult": res}
	if len(a.outVars) > 0 {
		output["outputVariables"] = a.outVars
	}
	return map[string]any{"pipelineExecutionId": e.id, "actionExecutionId": a.id, "pipelineVersion": e.version,
		"stageName": st.name, "actionName": deref(a.decl.Name), "startTime": epoch(a.start), "lastUpdateTime": epoch(last),
		"status": a.status, "input": input, "output": output}
}

func (s *Server) stopPipelineExecution(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, []string{"pipelineExecutionId"}, func(p *pipeline, in execIn) (any, error) {
		e, err := p.exec(*in.PipelineExecutionID)
		if err != nil {
			return nil, err
		}
		switch {
		case e.status == stopping && !in.Abandon:
			// botocore codepipeline DuplicatedStopRequestException.
			return nil, awsproto.Errf("DuplicatedStopRequestException", "Pipeline execution %s is already being stopped.", e.id)
		case e.status != inProgress && e.status != stopping:
			// botocore codepipeline PipelineExecutionNotStoppableException.
			return nil, awsproto.Errf("PipelineExecutionNotStoppableException", "Unable to stop pipeline execution %s in status %s.", e.id, e.status)
		}
		e.status, e.stopReason, e.abandon, e.updated = stopping, deref(in.Reason), in.Abandon, s.clk.Now()
		s.pipelineEvent(e, "STOPPING", e.updated)
		s.advance(p)
		return map[string]string{"pipelineExecutionId": e.id}, nil
	})
}

func (s *Server) retryStageExecution(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, []string{"pipelineExecutionId", "stageName", "retryMode"}, func(p *pipeline, in execIn) (any, error) {
		e, err := p.exec(*in.PipelineExecutionID)
		if err != nil {
			return nil, err
		}
		var st *stageRun
		for _, x := range e.stages {
			if x.name == *in.StageName {
				st = x
			}
		}
		if st == nil {
			// botocore codepipeline StageNotFoundException.
			return nil, awsproto.Errf("StageNotFoundException", "Stage %s does not exist in pipeline %s", *in.StageName, *in.PipelineName)
		}
		if latest, _ := latestIn(p, st.name); latest != e {
			// botocore codepipeline NotLatestPipelineExecutionException.
			return nil, awsproto.Errf("NotLatestPipelineExecutionException", "Pipeline execution %s is not the latest execution of stage %s", e.id, st.name)
		}
		if st.status != failed && st.status != stopped {
			// botocore codepipeline StageNotRetryableException.
			return nil, awsproto.Errf("StageNotRetryableException", "Stage %s in pipeline execution %s is not retryable: its status is %s", st.name, e.id, st.status)
		}
		now := s.clk.Now()
		retryActions(st, *in.RetryMode == "FAILED_ACTIONS")
		st.status, st.end = inProgress, time.Time{}
		e.status, e.summary, e.updated, e.stopReason, e.abandon = inProgress, "", now, "", false
		s.pipelineEvent(e, "RESUMED", now)
		s.stageEvent(e, st, "RESUMED", now)
		s.advance(p)
		return map[string]string{"pipelineExecutionId": e.id}, nil
	})
}

func (s *Server) rollbackStage(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.withPipeline(dec, []string{"stageName", "targetPipelineExecutionId"}, func(p *pipeline, in execIn) (any, error) {
		target, err := p.exec(*in.TargetPipelineExecutionID)
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, sd := range p.decl.Stages {
			if deref(sd.Name) == *in.StageName {
				idx = i
			}
		}
		if idx < 0 {
			return nil, awsproto.Errf("StageNotFoundException", "Stage %s does not exist in pipeline %s", *in.StageName, *in.PipelineName)
		}
		ok := false
		for _, st := range target.stages {
			ok = ok || st.name == *in.StageName && st.status == succeeded && target.rollbackStage == ""
		}
		if idx == 0 || !ok {
			// botocore codepipeline UnableToRollbackStageException.
			return nil, awsproto.Errf("UnableToRollbackStageException", "Unable to roll back stage %s to pipeline execution %s: the execution did not succeed in that stage.", *in.StageName, target.id)
		}
		if _, run := latestIn(p, *in.StageName); run != nil && run.status == inProgress {
			// botocore codepipeline ConflictException.
			return nil, awsproto.Errf("ConflictException", "Stage %s has an execution in progress.", *in.StageName)
		}
		e := s.startRollback(p, target, *in.StageName, "ManualRollback", fmt.Sprintf("arn:aws:iam::%s:root", s.Account))
		s.advance(p)
		return map[string]string{"pipelineExecutionId": e.id}, nil
	})
}

// page answers one page of a list operation: member holds the items, small
// pages (pageSize) and maxResults, nextToken when more remain.
func page(member string, all []map[string]any, in execIn) (any, error) {
	if all == nil {
		all = []map[string]any{}
	}
	items, next, err := awsproto.Paginate(all, deref(in.NextToken), int(deref(in.MaxResults)), pageSize, "InvalidNextTokenException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{member: items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// result is what ActionExecution (GetPipelineState) and
// ActionExecutionResult (ListActionExecutions) share: the external
// execution, its summary (under summaryMember) and the error details.
func (a *actionRun) result(summaryMember string) map[string]any {
	res := map[string]any{}
	if a.externalID != "" {
		res["externalExecutionId"] = a.externalID
	}
	if a.summary != "" {
		res[summaryMember] = a.summary
	}
	if a.externalURL != "" {
		res["externalExecutionUrl"] = a.externalURL
	}
	if a.status == failed {
		res["errorDetails"] = map[string]string{"code": a.errCode, "message": a.errMsg}
	}
	return res
}
