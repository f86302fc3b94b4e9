// Package codebuildemu is the local endpoint's AWS CodeBuild emulation
// (awsJson1.1, X-Amz-Target CodeBuild_20161006.*, SigV4 name "codebuild"):
// projects (CreateProject, BatchGetProjects, UpdateProject, DeleteProject,
// ListProjects) and builds (StartBuild, BatchGetBuilds,
// ListBuildsForProject, StopBuild), with the constraints, enums and error
// codes of botocore's codebuild/2016-10-06/service-2.json. Model violations
// answer InvalidInputException.
//
// # Builds
//
// A build's whole course is planned when it starts, from its buildspec, and
// revealed as the endpoint's clock passes (nothing runs in the background):
// phases SUBMITTED (1 s), QUEUED (1 s), PROVISIONING (10 s),
// DOWNLOAD_SOURCE (2 s), INSTALL, PRE_BUILD, BUILD, POST_BUILD (2 s per
// command; "sleep N" takes N s), UPLOAD_ARTIFACTS (1 s), FINALIZING (2 s)
// and COMPLETED, each with phaseStatus SUCCEEDED, FAILED, FAULT, TIMED_OUT
// or STOPPED. A command that fails ends its phase FAILED with context
// COMMAND_EXECUTION_ERROR; as CodeBuild does, a failure in INSTALL or
// PRE_BUILD goes straight to FINALIZING, one in BUILD still runs POST_BUILD
// and UPLOAD_ARTIFACTS. A build past its timeoutInMinutes is TIMED_OUT.
// Build logs go to the Logs emulation (group /aws/codebuild/<project>, or
// the project's logsConfig; stream = the build id's UUID) in CodeBuild's
// "[Container] 2006/01/02 15:04:05.000000 Running command ..." format, each
// command echoed; artifacts go to the S3 emulation as a zip.
//
// # Commands (test control)
//
// Commands are interpreted, not executed: the buildspec (version 0.2:
// env.variables, phases.*.commands, artifacts.files) is parsed, variables
// ($VAR, ${VAR}) expanded, and each command, split on &&, || and ;, is
//
//   - `exit N`: exits with N; `false` exits 1; any command containing
//     OPSCTL_FAIL exits 1 (the documented way to make a build fail);
//   - `export A=b`, `A=b`: sets a variable;
//   - `echo ...`, `printf FORMAT ARGS...` (%s, %d, \n), `cat FILE`: print to
//     the log, or with `> FILE` / `>> FILE` write a file (imagedefinitions.json
//     is produced this way);
//   - `sleep N`: takes N seconds;
//   - anything else (docker, aws, make, ...): succeeds, printing nothing.
package codebuildemu

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

// model: botocore codebuild answers constraint violations with
// InvalidInputException.
var model = awsproto.Validator{Code: "InvalidInputException"}

const pageSize = 5

// Server is the CodeBuild emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	// Service returns another of the endpoint's services by signing name
	// ("logs", "s3"); nil when unset or the endpoint serves none.
	Service func(name string) http.Handler

	// Events, when set, receives "CodeBuild Build State Change" events
	// (source "aws.codebuild").
	Events func(source, detailType string, resources []string, detail []byte, at time.Time)

	clk      clock.Clock
	mu       sync.Mutex
	projects map[string]*project
	builds   map[string]*build
	seq      int
}

type project struct {
	p        Project
	created  time.Time
	modified time.Time
	builds   []string // ids, oldest first
	number   int64
}

// New returns an empty emulation on clk.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), projects: map[string]*project{}, builds: map[string]*build{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateProject":        s.createProject,
		"BatchGetProjects":     s.batchGetProjects,
		"UpdateProject":        s.updateProject,
		"DeleteProject":        s.deleteProject,
		"ListProjects":         s.listProjects,
		"StartBuild":           s.startBuild,
		"BatchGetBuilds":       s.batchGetBuilds,
		"ListBuildsForProject": s.listBuildsForProject,
		"StopBuild":            s.stopBuild,
	}
	return s
}

func (s *Server) service(name string) http.Handler {
	if s.Service == nil {
		return nil
	}
	return s.Service(name)
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// Project is botocore codebuild's Project shape (the members opsctl uses).
type Project struct {
	Name                   *string             `json:"name,omitempty"`
	Arn                    string              `json:"arn,omitempty"`
	Description            *string             `json:"description,omitempty"`
	Source                 *Source             `json:"source,omitempty"`
	SourceVersion          *string             `json:"sourceVersion,omitempty"`
	Artifacts              *Artifacts          `json:"artifacts,omitempty"`
	Cache                  *Cache              `json:"cache,omitempty"`
	Environment            *Environment        `json:"environment,omitempty"`
	ServiceRole            *string             `json:"serviceRole,omitempty"`
	TimeoutInMinutes       *int64              `json:"timeoutInMinutes,omitempty"`
	QueuedTimeoutInMinutes *int64              `json:"queuedTimeoutInMinutes,omitempty"`
	EncryptionKey          *string             `json:"encryptionKey,omitempty"`
	Tags                   []Tag               `json:"tags,omitempty"`
	Created                *awsproto.EpochTime `json:"created,omitempty"`
	LastModified           *awsproto.EpochTime `json:"lastModified,omitempty"`
	LogsConfig             *LogsConfig         `json:"logsConfig,omitempty"`
	ConcurrentBuildLimit   *int64              `json:"concurrentBuildLimit,omitempty"`
	ProjectVisibility      string              `json:"projectVisibility,omitempty"`
	Badge                  *struct {
		BadgeEnabled bool `json:"badgeEnabled"`
	} `json:"badge,omitempty"`
}

// Source is ProjectSource.
type Source struct {
	Type              *string `json:"type,omitempty"`
	Location          *string `json:"location,omitempty"`
	GitCloneDepth     *int64  `json:"gitCloneDepth,omitempty"`
	Buildspec         *string `json:"buildspec,omitempty"`
	ReportBuildStatus *bool   `json:"reportBuildStatus,omitempty"`
	InsecureSsl       *bool   `json:"insecureSsl,omitempty"`
	SourceIdentifier  *string `json:"sourceIdentifier,omitempty"`
}

// Artifacts is ProjectArtifacts.
type Artifacts struct {
	Type                 *string `json:"type,omitempty"`
	Location             *string `json:"location,omitempty"`
	Path                 *string `json:"path,omitempty"`
	NamespaceType        *string `json:"namespaceType,omitempty"`
	Name                 *string `json:"name,omitempty"`
	Packaging            *string `json:"packaging,omitempty"`
	OverrideArtifactName *bool   `json:"overrideArtifactName,omitempty"`
	EncryptionDisabled   *bool   `json:"encryptionDisabled,omitempty"`
	ArtifactIdentifier   *string `json:"artifactIdentifier,omitempty"`
}

// Cache is ProjectCache.
type Cache struct {
	Type     *string  `json:"type,omitempty"`
	Location *string  `json:"location,omitempty"`
	Modes    []string `json:"modes,omitempty"`
}

// Environment is ProjectEnvironment.
type Environment struct {
	Type                     *string  `json:"type,omitempty"`
	Image                    *string  `json:"image,omitempty"`
	ComputeType              *string  `json:"computeType,omitempty"`
	EnvironmentVariables     []EnvVar `json:"environmentVariables,omitempty"`
	PrivilegedMode           *bool    `json:"privilegedMode,omitempty"`
	Certificate              *string  `json:"certificate,omitempty"`
	ImagePullCredentialsType *string  `json:"imagePullCredentialsType,omitempty"`
}

// EnvVar is EnvironmentVariable.
type EnvVar struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
	Type  *string `json:"type,omitempty"`
}

// Tag is codebuild's Tag.
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

// LogsConfig is LogsConfig.
type LogsConfig struct {
	CloudWatchLogs *CloudWatchLogsConfig `json:"cloudWatchLogs,omitempty"`
	S3Logs         *S3LogsConfig         `json:"s3Logs,omitempty"`
}

// CloudWatchLogsConfig is CloudWatchLogsConfig.
type CloudWatchLogsConfig struct {
	Status     *string `json:"status,omitempty"`
	GroupName  *string `json:"groupName,omitempty"`
	StreamName *string `json:"streamName,omitempty"`
}

// S3LogsConfig is S3LogsConfig.
type S3LogsConfig struct {
	Status   *string `json:"status,omitempty"`
	Location *string `json:"location,omitempty"`
}

// Patterns and enums from botocore codebuild service-2.json.
var (
	projectNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_]{1,149}$`)
	tagRe         = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=@+\-]*)$`)

	sourceTypes    = []string{"CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITLAB", "GITLAB_SELF_MANAGED", "S3", "BITBUCKET", "GITHUB_ENTERPRISE", "NO_SOURCE"}
	artifactTypes  = []string{"CODEPIPELINE", "S3", "NO_ARTIFACTS"}
	namespaceTypes = []string{"NONE", "BUILD_ID"}
	packagings     = []string{"NONE", "ZIP"}
	cacheTypes     = []string{"NO_CACHE", "S3", "LOCAL"}
	cacheModes     = []string{"LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE"}
	envTypes       = []string{"WINDOWS_CONTAINER", "LINUX_CONTAINER", "LINUX_GPU_CONTAINER", "ARM_CONTAINER", "WINDOWS_SERVER_2019_CONTAINER", "WINDOWS_SERVER_2022_CONTAINER", "LINUX_LAMBDA_CONTAINER", "ARM_LAMBDA_CONTAINER", "LINUX_EC2", "ARM_EC2", "WINDOWS_EC2", "MAC_ARM"}
	computeTypes   = []string{"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE", "BUILD_LAMBDA_1GB", "BUILD_LAMBDA_2GB", "BUILD_LAMBDA_4GB", "BUILD_LAMBDA_8GB", "BUILD_LAMBDA_10GB", "ATTRIBUTE_BASED_COMPUTE", "CUSTOM_INSTANCE_TYPE"}
	envVarTypes    = []string{"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"}
	pullCredTypes  = []string{"CODEBUILD", "SERVICE_ROLE"}
	logStatuses    = []string{"ENABLED", "DISABLED"}
)

func (s *Server) projectArn(name string) string {
	return fmt.Sprintf("arn:aws:codebuild:%s:%s:project/%s", s.Region, s.Account, name)
}

// checkProject validates a create (full) or update (partial) input.
func checkProject(p Project, create bool) error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if p.Name == nil {
		add(model.Required("name", false))
	} else {
		// botocore codebuild ProjectName: 2-150, [A-Za-z0-9][A-Za-z0-9\-_]{1,149}.
		add(model.Length("name", *p.Name, 2, 150))
		add(model.Pattern("name", *p.Name, projectNameRe))
	}
	if create {
		add(model.Required("source", p.Source != nil))
		add(model.Required("artifacts", p.Artifacts != nil))
		add(model.Required("environment", p.Environment != nil))
		add(model.Required("serviceRole", p.ServiceRole != nil))
	}
	if p.Description != nil {
		add(model.Length("description", *p.Description, 0, 255))
	}
	if p.ServiceRole != nil {
		add(model.Length("serviceRole", *p.ServiceRole, 1, -1))
	}
	if src := p.Source; src != nil {
		if src.Type == nil {
			add(model.Required("source.type", false))
		} else {
			add(model.Enum("source.type", *src.Type, sourceTypes...))
		}
		if src.GitCloneDepth != nil {
			add(model.Range("source.gitCloneDepth", *src.GitCloneDepth, 0, 1<<31-1))
		}
	}
	if a := p.Artifacts; a != nil {
		if a.Type == nil {
			add(model.Required("artifacts.type", false))
		} else {
			add(model.Enum("artifacts.type", *a.Type, artifactTypes...))
		}
		if a.NamespaceType != nil {
			add(model.Enum("artifacts.namespaceType", *a.NamespaceType, namespaceTypes...))
		}
		if a.Packaging != nil {
			add(model.Enum("artifacts.packaging", *a.Packaging, packagings...))
		}
	}
	if c := p.Cache; c != nil {
		if c.Type == nil {
			add(model.Required("cache.type", false))
		} else {
			add(model.Enum("cache.type", *c.Type, cacheTypes...))
		}
		for i, m := range c.Modes {
			add(model.Enum(fmt.Sprintf("cache.modes.%d.member", i+1), m, cacheModes...))
		}
	}
	if e := p.Environment; e != nil {
		if e.Type == nil {
			add(model.Required("environment.type", false))
		} else {
			add(model.Enum("environment.type", *e.Type, envTypes...))
		}
		if e.Image == nil {
			add(model.Required("environment.image", false))
		} else {
			add(model.Length("environment.image", *e.Image, 1, -1))
		}
		if e.ComputeType == nil {
			add(model.Required("environment.computeType", false))
		} else {
			add(model.Enum("environment.computeType", *e.ComputeType, computeTypes...))
		}
		if e.ImagePullCredentialsType != nil {
			add(model.Enum("environment.imagePullCredentialsType", *e.ImagePullCredentialsType, pullCredTypes...))
		}
		errs = append(errs, checkEnvVars("environment.environmentVariables", e.EnvironmentVariables)...)
	}
	if p.TimeoutInMinutes != nil {
		add(model.Range("timeoutInMinutes", *p.TimeoutInMinutes, 5, 2160)) // BuildTimeOut
	}
	if p.QueuedTimeoutInMinutes != nil {
		add(model.Range("queuedTimeoutInMinutes", *p.QueuedTimeoutInMinutes, 5, 480)) // TimeOut
	}
	if l := p.LogsConfig; l != nil {
		if c := l.CloudWatchLogs; c != nil {
			if c.Status == nil {
				add(model.Required("logsConfig.cloudWatchLogs.status", false))
			} else {
				add(model.Enum("logsConfig.cloudWatchLogs.status", *c.Status, logStatuses...))
			}
		}
		if c := l.S3Logs; c != nil {
			if c.Status == nil {
				add(model.Required("logsConfig.s3Logs.status", false))
			} else {
				add(model.Enum("logsConfig.s3Logs.status", *c.Status, logStatuses...))
			}
		}
	}
	if p.Tags != nil {
		// botocore codebuild TagList: max 50; KeyInput 1-127, ValueInput 0-255.
		add(model.Size("tags", fmt.Sprintf("%d tags", len(p.Tags)), len(p.Tags), 0, 50))
		for i, t := range p.Tags {
			tp := fmt.Sprintf("tags.%d.member", i+1)
			if t.Key != nil {
				add(model.Length(tp+".key", *t.Key, 1, 127))
				add(model.Pattern(tp+".key", *t.Key, tagRe))
			}
			if t.Value != nil {
				add(model.Length(tp+".value", *t.Value, 0, 255))
				add(model.Pattern(tp+".value", *t.Value, tagRe))
			}
		}
	}
	if err := awsproto.Check(errs...); err != nil {
		return err
	}
	return checkProjectRules(p)
}

func checkEnvVars(member string, vars []EnvVar) []error {
	var errs []error
	for i, v := range vars {
		vp := fmt.Sprintf("%s.%d.member", member, i+1)
		if v.Name == nil {
			errs = append(errs, model.Required(vp+".name", false))
		} else {
			errs = append(errs, model.Length(vp+".name", *v.Name, 1, -1))
		}
		if v.Value == nil {
			errs = append(errs, model.Required(vp+".value", false))
		}
		if v.Type != nil {
			errs = append(errs, model.Enum(vp+".type", *v.Type, envVarTypes...))
		}
	}
	return errs
}

// checkProjectRules are the rules the model cannot express, from the
// CodeBuild API reference's ProjectSource, ProjectArtifacts and ProjectCache
// pages.
func checkProjectRules(p Project) error {
	srcType, artType := "", ""
	if p.Source != nil {
		srcType = deref(p.Source.Type)
	}
	if p.Artifacts != nil {
		artType = deref(p.Artifacts.Type)
	}
	// ProjectSource.type CODEPIPELINE: "The source code settings are
	// specified in the source action of a pipeline"; ProjectArtifacts.type
	// CODEPIPELINE: "The build project has build output generated through
	// CodePipeline" — the two go together.
	if p.Source != nil && p.Artifacts != nil && (srcType == "CODEPIPELINE") != (artType == "CODEPIPELINE") {
		return awsproto.Errf("InvalidInputException", "Both source and artifacts must be set to CodePipeline")
	}
	// ProjectSource.buildspec / NO_SOURCE: "you must specify a buildspec".
	if srcType == "NO_SOURCE" && strings.TrimSpace(deref(p.Source.Buildspec)) == "" {
		return awsproto.Errf("InvalidInputException", "Project source buildspec cannot be empty when source type is NO_SOURCE")
	}
	needsLocation := map[string]bool{"CODECOMMIT": true, "GITHUB": true, "GITLAB": true, "GITLAB_SELF_MANAGED": true, "S3": true, "BITBUCKET": true, "GITHUB_ENTERPRISE": true}
	if p.Source != nil && needsLocation[srcType] && deref(p.Source.Location) == "" {
		return awsproto.Errf("InvalidInputException", "Project source location is required for source type %s", srcType)
	}
	if artType == "S3" && deref(p.Artifacts.Location) == "" {
		return awsproto.Errf("InvalidInputException", "Project artifacts location is required for artifacts type S3")
	}
	if c := p.Cache; c != nil {
		switch deref(c.Type) {
		case "LOCAL":
			if len(c.Modes) == 0 {
				return awsproto.Errf("InvalidInputException", "Cache modes are required for LOCAL cache type")
			}
		case "S3":
			if deref(c.Location) == "" {
				return awsproto.Errf("InvalidInputException", "Cache location is required for S3 cache type")
			}
		}
		// ProjectCache.modes LOCAL_DOCKER_LAYER_CACHE: "You can use a Docker
		// layer cache in the Linux environment only. The privileged flag
		// must be set so that your project has the required Docker
		// permissions."
		for _, m := range c.Modes {
			if m == "LOCAL_DOCKER_LAYER_CACHE" && p.Environment != nil && !deref(p.Environment.PrivilegedMode) {
				return awsproto.Errf("InvalidInputException", "Local Docker layer cache requires privileged mode")
			}
		}
	}
	return nil
}

// defaults fills what CodeBuild returns for omitted members.
func (s *Server) defaults(p *Project) {
	if p.TimeoutInMinutes == nil {
		p.TimeoutInMinutes = ptr(int64(60))
	}
	if p.QueuedTimeoutInMinutes == nil {
		p.QueuedTimeoutInMinutes = ptr(int64(480))
	}
	if p.Cache == nil {
		p.Cache = &Cache{Type: ptr("NO_CACHE")}
	}
	if p.EncryptionKey == nil {
		p.EncryptionKey = ptr(fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/s3", s.Region, s.Account))
	}
	if p.LogsConfig == nil {
		p.LogsConfig = &LogsConfig{}
	}
	if p.LogsConfig.CloudWatchLogs == nil {
		p.LogsConfig.CloudWatchLogs = &CloudWatchLogsConfig{Status: ptr("ENABLED")}
	}
	if p.LogsConfig.S3Logs == nil {
		p.LogsConfig.S3Logs = &S3LogsConfig{Status: ptr("DISABLED")}
	}
	if e := p.Environment; e != nil {
		if e.PrivilegedMode == nil {
			e.PrivilegedMode = ptr(false)
		}
		if e.ImagePullCredentialsType == nil {
			e.ImagePullCredentialsType = ptr("CODEBUILD")
		}
		for i := range e.EnvironmentVariables {
			if e.EnvironmentVariables[i].Type == nil {
				e.EnvironmentVariables[i].Type = ptr("PLAINTEXT")
			}
		}
	}
	if p.ProjectVisibility == "" {
		p.ProjectVisibility = "PRIVATE"
	}
	if p.Tags == nil {
		p.Tags = []Tag{}
	}
}

func notFoundProject(arn string) error {
	// StartBuild / UpdateProject / ListBuildsForProject on an unknown
	// project: botocore codebuild ResourceNotFoundException.
	return awsproto.Errf("ResourceNotFoundException", "Project cannot be found: %s", arn)
}

func (s *Server) createProject(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in Project
	if err := dec(&in); err != nil {
		return nil, err
	}
	in.Arn, in.Created, in.LastModified = "", nil, nil
	if err := checkProject(in, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := *in.Name
	arn := s.projectArn(name)
	if _, ok := s.projects[name]; ok {
		// botocore codebuild CreateProject errors: ResourceAlreadyExistsException.
		return nil, awsproto.Errf("ResourceAlreadyExistsException", "Project already exists: %s", arn)
	}
	now := s.clk.Now()
	in.Arn = arn
	s.defaults(&in)
	s.projects[name] = &project{p: in, created: now, modified: now}
	return struct {
		Project Project `json:"project"`
	}{s.projects[name].view()}, nil
}

func (p *project) view() Project {
	out := p.p
	out.Created = ptr(awsproto.EpochTime(p.created))
	out.LastModified = ptr(awsproto.EpochTime(p.modified))
	return out
}

func (s *Server) batchGetProjects(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Names []string `json:"names"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Names == nil {
		return nil, model.Required("names", false)
	}
	// botocore codebuild ProjectNames: 1-100.
	if err := model.Size("names", fmt.Sprintf("%v", in.Names), len(in.Names), 1, 100); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Projects         []Project `json:"projects"`
		ProjectsNotFound []string  `json:"projectsNotFound"`
	}{Projects: []Project{}, ProjectsNotFound: []string{}}
	for _, n := range in.Names {
		name := strings.TrimPrefix(n, fmt.Sprintf("arn:aws:codebuild:%s:%s:project/", s.Region, s.Account))
		if p, ok := s.projects[name]; ok {
			out.Projects = append(out.Projects, p.view())
		} else {
			out.ProjectsNotFound = append(out.ProjectsNotFound, n)
		}
	}
	return out, nil
}

func (s *Server) updateProject(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in Project
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkProject(in, false); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[*in.Name]
	if !ok {
		return nil, notFoundProject(s.projectArn(*in.Name))
	}
	next := p.p
	// UpdateProject changes only the members given.
	if in.Description != nil {
		next.Description = in.Description
	}
	if in.Source != nil {
		next.Source = in.Source
	}
	if in.SourceVersion != nil {
		next.SourceVersion = in.SourceVersion
	}
	if in.Artifacts != nil {
		next.Artifacts = in.Artifacts
	}
	if in.Cache != nil {
		next.Cache = in.Cache
	}
	if in.Environment != nil {
		next.Environment = in.Environment
	}
	if in.ServiceRole != nil {
		next.ServiceRole = in.ServiceRole
	}
	if in.TimeoutInMinutes != nil {
		next.TimeoutInMinutes = in.TimeoutInMinutes
	}
	if in.QueuedTimeoutInMinutes != nil {
		next.QueuedTimeoutInMinutes = in.QueuedTimeoutInMinutes
	}
	if in.EncryptionKey != nil {
		next.EncryptionKey = in.EncryptionKey
	}
	if in.Tags != nil {
		next.Tags = in.Tags
	}
	if in.LogsConfig != nil {
		next.LogsConfig = in.LogsConfig
	}
	if in.ConcurrentBuildLimit != nil {
		next.ConcurrentBuildLimit = in.ConcurrentBuildLimit
	}
	if err := checkProjectRules(next); err != nil {
		return nil, err
	}
	s.defaults(&next)
	p.p = next
	p.modified = s.clk.Now()
	return struct {
		Project Project `json:"project"`
	}{p.view()}, nil
}

func (s *Server) deleteProject(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Name == nil {
		return nil, model.Required("name", false)
	}
	if err := model.Length("name", *in.Name, 1, -1); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// DeleteProject of an unknown project succeeds (its model lists only
	// InvalidInputException). Its builds stay readable, as in CodeBuild.
	name := strings.TrimPrefix(*in.Name, fmt.Sprintf("arn:aws:codebuild:%s:%s:project/", s.Region, s.Account))
	delete(s.projects, name)
	return struct{}{}, nil
}

func (s *Server) listProjects(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		SortBy    *string `json:"sortBy"`
		SortOrder *string `json:"sortOrder"`
		NextToken *string `json:"nextToken"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	var errs []error
	if in.SortBy != nil {
		errs = append(errs, model.Enum("sortBy", *in.SortBy, "NAME", "CREATED_TIME", "LAST_MODIFIED_TIME"))
	}
	if in.SortOrder != nil {
		errs = append(errs, model.Enum("sortOrder", *in.SortOrder, "ASCENDING", "DESCENDING"))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ps := make([]*project, 0, len(s.projects))
	for _, p := range s.projects {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	by := deref(in.SortBy)
	sort.Slice(ps, func(i, j int) bool {
		switch by {
		case "CREATED_TIME":
			if !ps[i].created.Equal(ps[j].created) {
				return ps[i].created.Before(ps[j].created)
			}
		case "LAST_MODIFIED_TIME":
			if !ps[i].modified.Equal(ps[j].modified) {
				return ps[i].modified.Before(ps[j].modified)
			}
		}
		return *ps[i].p.Name < *ps[j].p.Name
	})
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = *p.p.Name
	}
	if deref(in.SortOrder) == "DESCENDING" {
		for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
			names[i], names[j] = names[j], names[i]
		}
	}
	page, next, err := awsproto.Paginate(names, deref(in.NextToken), 0, pageSize, "InvalidInputException")
	if err != nil {
		return nil, err
	}
	return struct {
		Projects  []string `json:"projects"`
		NextToken string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}
