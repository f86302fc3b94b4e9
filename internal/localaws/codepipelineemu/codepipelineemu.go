// Package codepipelineemu is the local endpoint's AWS CodePipeline emulation
// (awsJson1.1, X-Amz-Target CodePipeline_20150709.*, SigV4 name
// "codepipeline"): V1 and V2 pipelines with their triggers, stage
// conditions, variables and tags, and executions that run on the endpoint's
// clock. Constraints, enums and error codes come from botocore's
// codepipeline/2015-07-09/service-2.json; the structure rules (at least two
// stages, only source actions in the first stage, unique names, artifacts
// produced before they are consumed, the configuration each action type
// requires) from the CodePipeline user guide's "pipeline structure
// reference".
//
// # Executions
//
// Nothing runs in the background: executions are advanced from the
// endpoint's clock whenever the endpoint serves a request (Sync) or one of
// this emulation's operations is called. Stages run in order and actions in
// runOrder groups. Statuses are spelled as the model spells them: pipeline
// executions InProgress, Stopping, Stopped, Succeeded, Superseded, Failed,
// Cancelled; stages InProgress, Succeeded, Failed, Stopped, Stopping,
// Skipped, Cancelled; actions InProgress, Succeeded, Failed, Abandoned.
//
//   - Source actions (CodeStarSourceConnection, CodeCommit, S3, ECR) succeed
//     2 seconds after they start, with the revision the execution was started
//     with, and write their output artifact (a zip) to the artifact store
//     bucket in the S3 emulation.
//   - CodeBuild actions (Build and Test) start a build in the CodeBuild
//     emulation and follow it; they fail when the build does.
//   - ECS deploy actions read imagedefinitions.json (or FileName) from the
//     input artifact, register a task definition revision with the new
//     images in the ECS emulation and update the service; they succeed when
//     the deployment reaches COMPLETED and fail when it fails.
//   - Manual approvals stay InProgress; any other action type succeeds after
//     2 seconds.
//
// An action starts at the first moment the emulation is advanced after the
// actions before it finished, so a client that polls sees the pipeline move
// step by step.
//
// # Test control
//
// A push to a repository is announced with Push (POST
// /_localaws/codepipeline/push {"repository":"owner/repo","branch":"main",
// "commit":"<sha>","message":"..."} on a standalone endpoint): every V2
// pipeline whose CodeStarSourceConnection source action names that
// repository and whose push trigger's branch filters match starts an
// execution (trigger type WebhookV2); a V1 pipeline, or a V2 pipeline
// without triggers, starts on a push to the source action's BranchName
// (trigger type Webhook).
package codepipelineemu

import (
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

// model words violations of the model's constraints: CodePipeline answers
// them with ValidationException (botocore codepipeline ValidationException).
var model = awsproto.ValidationException

const pageSize = 5

// Server is the CodePipeline emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	// Events, when set, receives the pipeline, stage and action execution
	// state-change events ("CodePipeline Pipeline Execution State Change"...)
	// as EventBridge would: source "aws.codepipeline".
	Events func(source, detailType string, resources []string, detail []byte, at time.Time)

	// Service returns another of the endpoint's services by signing name
	// ("codebuild", "ecs", "s3"); nil when the endpoint serves none.
	Service func(name string) http.Handler

	clk       clock.Clock
	mu        sync.Mutex
	pipelines map[string]*pipeline
	seq       int
	heads     map[string]revision // repository@branch → last pushed revision
}

type pipeline struct {
	decl     pipelineDecl
	arn      string
	created  time.Time
	updated  time.Time
	tags     map[string]string
	versions map[int64]pipelineDecl
	execs    []*execution // in start order
}

// New returns an empty emulation on clk.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), pipelines: map[string]*pipeline{}, heads: map[string]revision{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreatePipeline":         s.createPipeline,
		"GetPipeline":            s.getPipeline,
		"UpdatePipeline":         s.updatePipeline,
		"DeletePipeline":         s.deletePipeline,
		"ListPipelines":          s.listPipelines,
		"TagResource":            s.tagResource,
		"UntagResource":          s.untagResource,
		"ListTagsForResource":    s.listTagsForResource,
		"StartPipelineExecution": s.startPipelineExecution,
		"GetPipelineExecution":   s.getPipelineExecution,
		"ListPipelineExecutions": s.listPipelineExecutions,
		"GetPipelineState":       s.getPipelineState,
		"ListActionExecutions":   s.listActionExecutions,
		"StopPipelineExecution":  s.stopPipelineExecution,
		"RetryStageExecution":    s.retryStageExecution,
		"RollbackStage":          s.rollbackStage,
	}
	return s
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// Patterns from botocore codepipeline service-2.json.
var (
	nameRe       = regexp.MustCompile(`^[A-Za-z0-9.@\-_]+$`)                       // PipelineName, StageName, ActionName, RuleName
	roleArnRe    = regexp.MustCompile(`^arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*$`) // RoleArn
	locationRe   = regexp.MustCompile(`^[a-zA-Z0-9\-\.]+$`)                        // ArtifactStoreLocation
	providerRe   = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)                          // ActionProvider, Version, RuleProvider
	artifactRe   = regexp.MustCompile(`^[a-zA-Z0-9_\-]+$`)                         // ArtifactName
	namespaceRe  = regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`)                        // ActionNamespace, PipelineVariableName
	envNameRe    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)                           // EnvironmentVariableName
	execIDRe     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	requestTokRe = regexp.MustCompile(`^[a-zA-Z0-9-]+$`) // ClientRequestToken
)

// Enums from botocore codepipeline service-2.json.
var (
	categories     = []string{"Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute"}
	owners         = []string{"AWS", "ThirdParty", "Custom"}
	results        = []string{"ROLLBACK", "FAIL", "RETRY", "SKIP"}
	executionModes = []string{"QUEUED", "SUPERSEDED", "PARALLEL"}
	pipelineTypes  = []string{"V1", "V2"}
	retryModes     = []string{"FAILED_ACTIONS", "ALL_ACTIONS"}
	prEvents       = []string{"OPEN", "UPDATED", "CLOSED"}
)

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:codepipeline:%s:%s:%s", s.Region, s.Account, name)
}

// notFound is botocore codepipeline PipelineNotFoundException ("The
// pipeline was specified in an invalid format or cannot be found."), worded
// as AWS words it.
func (s *Server) notFound(name string) error {
	return awsproto.Errf("PipelineNotFoundException", "Account '%s' does not have a pipeline with name '%s'", s.Account, name)
}

// checkName validates a PipelineName member.
func checkName(member string, name *string) error {
	if name == nil {
		return model.Required(member, false)
	}
	return awsproto.Check(model.Length(member, *name, 1, 100), model.Pattern(member, *name, nameRe))
}

// withPipeline decodes nothing: it looks the pipeline up under s.mu (held by
// the caller) after validating the name.
func (s *Server) lookup(member string, name *string) (*pipeline, error) {
	if err := checkName(member, name); err != nil {
		return nil, err
	}
	p := s.pipelines[*name]
	if p == nil {
		return nil, s.notFound(*name)
	}
	return p, nil
}

type createIn struct {
	Pipeline *pipelineDecl `json:"pipeline"`
	Tags     []tag         `json:"tags"`
}

type pipelineOut struct {
	Pipeline pipelineDecl      `json:"pipeline"`
	Metadata *pipelineMetadata `json:"metadata,omitempty"`
	Tags     []tag             `json:"tags,omitempty"`
}

// tagRules: botocore codepipeline TagKey 1-128, TagValue 0-256; the
// CodePipeline quota is 50 tags per resource.
var tagRules = awsproto.TagRules{Validator: model, Member: "tags", MaxTags: 50,
	TooMany: func(max int) error {
		return awsproto.Errf("TooManyTagsException", "The tags limit for a resource has been exceeded.")
	}}

func tagMap(list []tag) (map[string]string, error) {
	m := map[string]string{}
	for i, t := range list {
		if t.Key == nil {
			return nil, model.Required(fmt.Sprintf("tags.%d.member.key", i+1), false)
		}
		if t.Value == nil {
			return nil, model.Required(fmt.Sprintf("tags.%d.member.value", i+1), false)
		}
		m[*t.Key] = *t.Value
	}
	return m, nil
}

func tagList(m map[string]string) []tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, tag{Key: ptr(k), Value: ptr(m[k])})
	}
	return out
}

func (s *Server) createPipeline(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in createIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Pipeline == nil {
		return nil, model.Required("pipeline", false)
	}
	d := *in.Pipeline
	normalize(&d)
	if err := validateDecl(d, s.Region); err != nil {
		return nil, err
	}
	tags, err := tagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := tagRules.Check(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pipelines[*d.Name]; ok {
		// botocore codepipeline PipelineNameInUseException.
		return nil, awsproto.Errf("PipelineNameInUseException", "A pipeline with the name '%s' already exists in account '%s'", *d.Name, s.Account)
	}
	now := s.clk.Now()
	d.Version = ptr(int64(1))
	p := &pipeline{decl: d, arn: s.arn(*d.Name), created: now, updated: now, tags: tags, versions: map[int64]pipelineDecl{1: d}}
	s.pipelines[*d.Name] = p
	// A new pipeline starts an execution (trigger CreatePipeline) unless its
	// source actions have change detection off or it has triggers; a source
	// that cannot be read then fails. opsctl's pipelines use triggers, so
	// the emulation starts none: executions come from Push and
	// StartPipelineExecution.
	return pipelineOut{Pipeline: d, Tags: tagList(tags)}, nil
}

// normalize fills the defaults AWS returns: pipelineType V1, executionMode
// SUPERSEDED, runOrder 1.
func normalize(d *pipelineDecl) {
	if d.PipelineType == "" {
		d.PipelineType = "V1"
	}
	if d.ExecutionMode == "" {
		d.ExecutionMode = "SUPERSEDED"
	}
	for i := range d.Stages {
		for j := range d.Stages[i].Actions {
			a := &d.Stages[i].Actions[j]
			if a.RunOrder == nil {
				a.RunOrder = ptr(int64(1))
			}
			if a.InputArtifacts == nil {
				a.InputArtifacts = []artifactRef{}
			}
			if a.OutputArtifacts == nil {
				a.OutputArtifacts = []artifactRef{}
			}
		}
	}
}

type getIn struct {
	Name    *string `json:"name"`
	Version *int64  `json:"version"`
}

func (s *Server) getPipeline(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in getIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Version != nil {
		// botocore codepipeline PipelineVersion: min 1.
		if err := model.Range("version", *in.Version, 1, 1<<31-1); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookup("name", in.Name)
	if err != nil {
		return nil, err
	}
	d := p.decl
	if in.Version != nil {
		v, ok := p.versions[*in.Version]
		if !ok {
			// botocore codepipeline PipelineVersionNotFoundException.
			return nil, awsproto.Errf("PipelineVersionNotFoundException", "Pipeline '%s' does not have version '%d'", *in.Name, *in.Version)
		}
		d = v
	}
	return pipelineOut{Pipeline: d, Metadata: &pipelineMetadata{PipelineArn: p.arn,
		Created: awsproto.EpochTime(p.created), Updated: awsproto.EpochTime(p.updated)}}, nil
}

func (s *Server) updatePipeline(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in createIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Pipeline == nil {
		return nil, model.Required("pipeline", false)
	}
	d := *in.Pipeline
	normalize(&d)
	if err := validateDecl(d, s.Region); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pipelines[*d.Name]
	if p == nil {
		return nil, s.notFound(*d.Name)
	}
	// PipelineDeclaration.version: "This number is incremented when a
	// pipeline is updated"; the version given in the update is not checked.
	cur := deref(p.decl.Version)
	d.Version = ptr(cur + 1)
	p.decl = d
	p.versions[cur+1] = d
	p.updated = s.clk.Now()
	return struct {
		Pipeline pipelineDecl `json:"pipeline"`
	}{d}, nil
}

func (s *Server) deletePipeline(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in getIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// DeletePipeline of an unknown pipeline succeeds: its model lists no
	// PipelineNotFoundException.
	delete(s.pipelines, *in.Name)
	return nil, nil
}

type listIn struct {
	NextToken  *string `json:"nextToken"`
	MaxResults *int64  `json:"maxResults"`
}

func (s *Server) listPipelines(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in listIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	limit := 0
	if in.MaxResults != nil {
		// botocore codepipeline MaxPipelines: 1-1000.
		if err := model.Range("maxResults", *in.MaxResults, 1, 1000); err != nil {
			return nil, err
		}
		limit = int(*in.MaxResults)
	}
	s.mu.Lock()
	names := s.names()
	all := make([]pipelineSummary, 0, len(names))
	for _, n := range names {
		p := s.pipelines[n]
		all = append(all, pipelineSummary{Name: n, Version: deref(p.decl.Version), PipelineType: p.decl.PipelineType,
			ExecutionMode: p.decl.ExecutionMode, Created: awsproto.EpochTime(p.created), Updated: awsproto.EpochTime(p.updated)})
	}
	s.mu.Unlock()
	page, next, err := awsproto.Paginate(all, deref(in.NextToken), limit, pageSize, "InvalidNextTokenException")
	if err != nil {
		return nil, err
	}
	out := struct {
		Pipelines []pipelineSummary `json:"pipelines"`
		NextToken string            `json:"nextToken,omitempty"`
	}{page, next}
	return out, nil
}

type tagIn struct {
	ResourceArn *string  `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
	NextToken   *string  `json:"nextToken"`
	MaxResults  *int64   `json:"maxResults"`
}

// byArn finds a pipeline by ARN (s.mu held).
func (s *Server) byArn(arn *string) (*pipeline, error) {
	if arn == nil {
		return nil, model.Required("resourceArn", false)
	}
	prefix := fmt.Sprintf("arn:aws:codepipeline:%s:%s:", s.Region, s.Account)
	if !strings.HasPrefix(*arn, "arn:aws:codepipeline:") {
		// botocore codepipeline InvalidArnException.
		return nil, awsproto.Errf("InvalidArnException", "The specified resource ARN is not valid: %s", *arn)
	}
	p := s.pipelines[strings.TrimPrefix(*arn, prefix)]
	if p == nil || !strings.HasPrefix(*arn, prefix) {
		return nil, awsproto.Errf("ResourceNotFoundException", "The resource with the ARN %s was not found.", *arn)
	}
	return p, nil
}

func (s *Server) tagResource(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in tagIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, model.Required("tags", false)
	}
	add, err := tagMap(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.byArn(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return nil, tagRules.Apply(p.tags, add)
}

func (s *Server) untagResource(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in tagIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, model.Required("tagKeys", false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.byArn(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	awsproto.Untag(p.tags, in.TagKeys)
	return nil, nil
}

func (s *Server) listTagsForResource(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in tagIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	p, err := s.byArn(in.ResourceArn)
	var all []tag
	if err == nil {
		all = tagList(p.tags)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	page, next, err := awsproto.Paginate(all, deref(in.NextToken), int(deref(in.MaxResults)), 50, "InvalidNextTokenException")
	if err != nil {
		return nil, err
	}
	return struct {
		Tags      []tag  `json:"tags"`
		NextToken string `json:"nextToken,omitempty"`
	}{page, next}, nil
}
