package codebuildemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Phase durations of the emulation (see the package comment).
const (
	submittedFor    = time.Second
	queuedFor       = time.Second
	provisioningFor = 10 * time.Second
	downloadFor     = 2 * time.Second
	uploadFor       = time.Second
	finalizingFor   = 2 * time.Second
)

type phaseContext struct {
	StatusCode string `json:"statusCode"`
	Message    string `json:"message"`
}

type phase struct {
	typ        string
	start, end time.Time
	status     string
	ctx        phaseContext
}

type logLine struct {
	at   time.Time
	text string
}

type build struct {
	id, arn, project   string
	number             int64
	start              time.Time
	plan               []phase // the whole course; the last is COMPLETED
	status             string  // final buildStatus
	stoppedAt          *time.Time
	logs               []logLine
	logged             int
	streamMade         bool
	group, stream      string
	sourceVersion      string
	resolved           string
	initiator          string
	artifactLoc        string
	exported           map[string]string
	proj               Project // the project as the build ran it (overrides applied)
	startSent, endSent bool
}

// UUID returns a random version-4 UUID (build and execution ids).
func UUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type startIn struct {
	ProjectName                  *string     `json:"projectName"`
	SourceVersion                *string     `json:"sourceVersion"`
	ArtifactsOverride            *Artifacts  `json:"artifactsOverride"`
	EnvironmentVariablesOverride []EnvVar    `json:"environmentVariablesOverride"`
	SourceTypeOverride           *string     `json:"sourceTypeOverride"`
	SourceLocationOverride       *string     `json:"sourceLocationOverride"`
	BuildspecOverride            *string     `json:"buildspecOverride"`
	ImageOverride                *string     `json:"imageOverride"`
	ComputeTypeOverride          *string     `json:"computeTypeOverride"`
	PrivilegedModeOverride       *bool       `json:"privilegedModeOverride"`
	TimeoutInMinutesOverride     *int64      `json:"timeoutInMinutesOverride"`
	QueuedTimeoutOverride        *int64      `json:"queuedTimeoutInMinutesOverride"`
	LogsConfigOverride           *LogsConfig `json:"logsConfigOverride"`
	IdempotencyToken             *string     `json:"idempotencyToken"`
}

func (s *Server) startBuild(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in startIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ProjectName == nil {
		return nil, model.Required("projectName", false)
	}
	var errs []error
	errs = append(errs, model.Length("projectName", *in.ProjectName, 1, -1))
	if in.SourceTypeOverride != nil {
		errs = append(errs, model.Enum("sourceTypeOverride", *in.SourceTypeOverride, sourceTypes...))
	}
	if in.ComputeTypeOverride != nil {
		errs = append(errs, model.Enum("computeTypeOverride", *in.ComputeTypeOverride, computeTypes...))
	}
	if in.TimeoutInMinutesOverride != nil {
		errs = append(errs, model.Range("timeoutInMinutesOverride", *in.TimeoutInMinutesOverride, 5, 2160))
	}
	if in.QueuedTimeoutOverride != nil {
		errs = append(errs, model.Range("queuedTimeoutInMinutesOverride", *in.QueuedTimeoutOverride, 5, 480))
	}
	if in.ArtifactsOverride != nil {
		if in.ArtifactsOverride.Type == nil {
			errs = append(errs, model.Required("artifactsOverride.type", false))
		} else {
			errs = append(errs, model.Enum("artifactsOverride.type", *in.ArtifactsOverride.Type, artifactTypes...))
		}
	}
	errs = append(errs, checkEnvVars("environmentVariablesOverride", in.EnvironmentVariablesOverride)...)
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := strings.TrimPrefix(*in.ProjectName, fmt.Sprintf("arn:aws:codebuild:%s:%s:project/", s.Region, s.Account))
	p, ok := s.projects[name]
	if !ok {
		return nil, notFoundProject(s.projectArn(name))
	}
	proj := p.p
	src := *proj.Source
	if in.SourceTypeOverride != nil {
		src.Type = in.SourceTypeOverride
	}
	if in.SourceLocationOverride != nil {
		src.Location = in.SourceLocationOverride
	}
	if in.BuildspecOverride != nil {
		src.Buildspec = in.BuildspecOverride
	}
	proj.Source = &src
	art := *proj.Artifacts
	if in.ArtifactsOverride != nil {
		art = *in.ArtifactsOverride
	}
	proj.Artifacts = &art
	env := *proj.Environment
	env.EnvironmentVariables = append(append([]EnvVar{}, env.EnvironmentVariables...), in.EnvironmentVariablesOverride...)
	if in.ImageOverride != nil {
		env.Image = in.ImageOverride
	}
	if in.ComputeTypeOverride != nil {
		env.ComputeType = in.ComputeTypeOverride
	}
	if in.PrivilegedModeOverride != nil {
		env.PrivilegedMode = in.PrivilegedModeOverride
	}
	proj.Environment = &env
	if in.TimeoutInMinutesOverride != nil {
		proj.TimeoutInMinutes = in.TimeoutInMinutesOverride
	}
	if in.QueuedTimeoutOverride != nil {
		proj.QueuedTimeoutInMinutes = in.QueuedTimeoutOverride
	}
	if in.LogsConfigOverride != nil {
		proj.LogsConfig = in.LogsConfigOverride
	}
	// A CODEPIPELINE source is only given by a pipeline (which overrides
	// it with the input artifact's S3 location).
	if deref(src.Type) == "CODEPIPELINE" {
		return nil, awsproto.Errf("InvalidInputException", "CODEPIPELINE is not a valid source type for StartBuild; override the source type")
	}
	p.number++
	uid := UUID()
	b := &build{id: name + ":" + uid, project: name, number: p.number, start: s.clk.Now(), proj: proj,
		sourceVersion: deref(in.SourceVersion), initiator: "opsctl"}
	if b.sourceVersion == "" {
		b.sourceVersion = deref(proj.SourceVersion)
	}
	b.arn = fmt.Sprintf("arn:aws:codebuild:%s:%s:build/%s", s.Region, s.Account, b.id)
	if strings.HasPrefix(deref(in.IdempotencyToken), "codepipeline/") {
		b.initiator = deref(in.IdempotencyToken)
	}
	if cw := deref(proj.LogsConfig).CloudWatchLogs; cw == nil || deref(cw.Status) != "DISABLED" {
		b.group, b.stream = "/aws/codebuild/"+name, uid
		if cw != nil && deref(cw.GroupName) != "" {
			b.group = *cw.GroupName
		}
		if cw != nil && deref(cw.StreamName) != "" {
			b.stream = *cw.StreamName + "/" + uid
		}
	}
	s.plan(b)
	s.builds[b.id] = b
	p.builds = append(p.builds, b.id)
	return struct {
		Build buildOut `json:"build"`
	}{s.view(b, s.clk.Now())}, nil
}

// plan computes the build's whole course from its buildspec.
func (s *Server) plan(b *build) {
	t := b.start
	stamp := func(at time.Time, text string) {
		b.logs = append(b.logs, logLine{at, "[Container] " + at.UTC().Format("2006/01/02 15:04:05.000000") + " " + text})
	}
	add := func(typ string, d time.Duration, status string, c phaseContext) {
		b.plan = append(b.plan, phase{typ: typ, start: t, end: t.Add(d), status: status, ctx: c})
		t = t.Add(d)
	}
	ok := phaseContext{}
	add("SUBMITTED", submittedFor, "SUCCEEDED", ok)
	add("QUEUED", queuedFor, "SUCCEEDED", ok)
	stamp(t, "Running on CodeBuild On-demand")
	stamp(t, "Waiting for agent ping")
	add("PROVISIONING", provisioningFor, "SUCCEEDED", ok)
	stamp(t, "Waiting for DOWNLOAD_SOURCE")
	stamp(t, "Phase is DOWNLOAD_SOURCE")

	sh := &shell{vars: s.baseVars(b), files: map[string][]byte{}}
	spec, srcErr := s.source(b, sh)
	final := "SUCCEEDED"
	if srcErr != nil {
		stamp(t.Add(downloadFor), "Phase complete: DOWNLOAD_SOURCE State: FAILED")
		stamp(t.Add(downloadFor), "Phase context status code: "+srcErr.StatusCode+" Message: "+srcErr.Message)
		add("DOWNLOAD_SOURCE", downloadFor, "FAILED", *srcErr)
		final = "FAILED"
	} else {
		stamp(t, "YAML location is /codebuild/readonly/buildspec.yml")
		stamp(t, "Processing environment variables")
		for k, v := range spec.Env.Variables {
			sh.vars[k] = fmt.Sprint(v)
		}
		n := 0
		for _, p := range specPhases {
			if _, ok := spec.Phases[p.key]; ok {
				n++
			}
		}
		stamp(t, fmt.Sprintf("Phases found in YAML: %d", n))
		for _, p := range specPhases {
			if ph, ok := spec.Phases[p.key]; ok {
				stamp(t, fmt.Sprintf(" %s: %d commands", p.typ, len(ph.Commands)))
			}
		}
		stamp(t.Add(downloadFor), "Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED")
		stamp(t.Add(downloadFor), "Phase context status code:  Message: ")
		add("DOWNLOAD_SOURCE", downloadFor, "SUCCEEDED", ok)
		upload := true
		for _, p := range specPhases {
			if !upload {
				break // a failed INSTALL or PRE_BUILD goes to FINALIZING
			}
			start := t
			stamp(t, "Entering phase "+p.typ)
			status, c := "SUCCEEDED", ok
			cmds := spec.Phases[p.key].Commands
			for _, cmd := range cmds {
				stamp(t, "Running command "+cmd)
				res := sh.run(cmd)
				t = t.Add(res.took)
				for _, o := range res.output {
					b.logs = append(b.logs, logLine{t, o})
				}
				if res.status != 0 {
					stamp(t, fmt.Sprintf("Command did not exit successfully %s exit status %d", cmd, res.status))
					status = "FAILED"
					c = phaseContext{StatusCode: "COMMAND_EXECUTION_ERROR", Message: fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", cmd, res.status)}
					break
				}
			}
			stamp(t, "Phase complete: "+p.typ+" State: "+status)
			stamp(t, "Phase context status code: "+c.StatusCode+" Message: "+c.Message)
			b.plan = append(b.plan, phase{typ: p.typ, start: start, end: t, status: status, ctx: c})
			if status == "FAILED" {
				final = "FAILED"
				sh.vars["CODEBUILD_BUILD_SUCCEEDING"] = "0"
				if p.typ == "INSTALL" || p.typ == "PRE_BUILD" {
					upload = false
				}
			}
		}
		if upload {
			stamp(t, "Entering phase UPLOAD_ARTIFACTS")
			status, c := "SUCCEEDED", ok
			if err := s.uploadArtifacts(b, spec, sh.files); err != nil {
				status, c, final = "FAILED", phaseContext{StatusCode: "CLIENT_ERROR", Message: err.Error()}, "FAILED"
			}
			stamp(t.Add(uploadFor), "Phase complete: UPLOAD_ARTIFACTS State: "+status)
			stamp(t.Add(uploadFor), "Phase context status code: "+c.StatusCode+" Message: "+c.Message)
			add("UPLOAD_ARTIFACTS", uploadFor, status, c)
		}
		b.exported = map[string]string{}
		for _, k := range spec.Env.ExportedVariables {
			b.exported[k] = sh.vars[k]
		}
	}
	add("FINALIZING", finalizingFor, "SUCCEEDED", ok)
	b.plan = append(b.plan, phase{typ: "COMPLETED", start: t})
	b.status = final
	// timeoutInMinutes: "How long, in minutes, ... to wait before it times
	// out any build that has not been marked as completed."
	if limit := b.start.Add(time.Duration(deref(b.proj.TimeoutInMinutes)) * time.Minute); deref(b.proj.TimeoutInMinutes) > 0 && t.After(limit) {
		b.cut(limit, "TIMED_OUT", phaseContext{StatusCode: "BUILD_TIMED_OUT", Message: "Build has timed out. "})
	}
}

// cut ends the build at `at`: the phase running then gets status, the build
// goes to COMPLETED with that status, later log lines are dropped.
func (b *build) cut(at time.Time, status string, c phaseContext) {
	var kept []phase
	for _, p := range b.plan {
		if p.typ == "COMPLETED" || !p.start.Before(at) && !(p.start.Equal(at) && p.end.Equal(at)) {
			break
		}
		if p.end.After(at) {
			p.end, p.status, p.ctx = at, status, c
		}
		kept = append(kept, p)
	}
	b.plan = append(kept, phase{typ: "COMPLETED", start: at})
	b.status = status
	n := 0
	for _, l := range b.logs {
		if !l.at.After(at) {
			b.logs[n] = l
			n++
		}
	}
	b.logs = b.logs[:n]
}

// baseVars are the environment CodeBuild gives a build
// (build-env-ref-env-vars.html) plus the project's and override variables.
func (s *Server) baseVars(b *build) map[string]string {
	v := map[string]string{
		"AWS_REGION": s.Region, "AWS_DEFAULT_REGION": s.Region, "CODEBUILD_BUILD_ID": b.id, "CODEBUILD_BUILD_ARN": b.arn,
		"CODEBUILD_BUILD_NUMBER": fmt.Sprint(b.number), "CODEBUILD_INITIATOR": b.initiator, "CODEBUILD_BUILD_SUCCEEDING": "1",
		"CODEBUILD_SOURCE_VERSION": b.sourceVersion, "CODEBUILD_RESOLVED_SOURCE_VERSION": b.sourceVersion,
		"CODEBUILD_SRC_DIR": "/codebuild/output/src/src", "CODEBUILD_BUILD_IMAGE": deref(b.proj.Environment.Image),
		"HOME": "/root", "PWD": "/codebuild/output/src/src",
	}
	for _, e := range b.proj.Environment.EnvironmentVariables {
		v[deref(e.Name)] = deref(e.Value)
	}
	b.resolved = v["CODEBUILD_RESOLVED_SOURCE_VERSION"]
	return v
}

// source reads the buildspec: the override or the project's inline one, or
// buildspec.yml from an S3 source zip.
func (s *Server) source(b *build, sh *shell) (*buildspec, *phaseContext) {
	src := b.proj.Source
	text := deref(src.Buildspec)
	if deref(src.Type) == "S3" && deref(src.Location) != "" {
		loc := deref(src.Location)
		bucket, key, _ := strings.Cut(loc, "/")
		data, err := GetObject(s.service("s3"), bucket, key)
		if err != nil {
			return nil, &phaseContext{StatusCode: "CLIENT_ERROR", Message: err.Error() + " for primary source and source version " + loc}
		}
		if files, err := Unzip(data); err == nil {
			for n, f := range files {
				sh.files[n] = f
			}
			if text == "" {
				text = string(files["buildspec.yml"])
			}
		}
	}
	if strings.TrimSpace(text) == "" {
		return nil, &phaseContext{StatusCode: "YAML_FILE_ERROR", Message: "YAML file does not exist"}
	}
	if !strings.Contains(text, "\n") && strings.HasSuffix(text, ".yml") {
		data, ok := sh.files[text]
		if !ok {
			return nil, &phaseContext{StatusCode: "YAML_FILE_ERROR", Message: "YAML file does not exist"}
		}
		text = string(data)
	}
	spec, err := parseBuildspec(text)
	if err != nil {
		return nil, &phaseContext{StatusCode: "YAML_FILE_ERROR", Message: err.Error()}
	}
	return spec, nil
}

// uploadArtifacts writes the artifact zip (or files) to S3 for S3 artifacts.
func (s *Server) uploadArtifacts(b *build, spec *buildspec, files map[string][]byte) error {
	a := b.proj.Artifacts
	if deref(a.Type) != "S3" {
		return nil
	}
	sel := artifactFiles(spec, files)
	if len(spec.Artifacts.Files) == 0 {
		return nil
	}
	if len(sel) == 0 {
		return fmt.Errorf("no matching artifact paths found")
	}
	key := strings.Trim(deref(a.Path), "/")
	if deref(a.NamespaceType) == "BUILD_ID" {
		key = strings.Trim(key+"/"+strings.TrimPrefix(b.id, b.project+":"), "/")
	}
	name := deref(a.Name)
	if name == "" {
		name = b.project
	}
	key = strings.Trim(key+"/"+name, "/")
	bucket := deref(a.Location)
	if deref(a.Packaging) == "ZIP" {
		if err := PutObject(s.service("s3"), bucket, key, Zip(sel)); err != nil {
			return err
		}
	} else {
		for n, data := range sel {
			if err := PutObject(s.service("s3"), bucket, key+"/"+n, data); err != nil {
				return err
			}
		}
	}
	b.artifactLoc = "arn:aws:s3:::" + bucket + "/" + key
	return nil
}

// Build output (botocore codebuild Build).
type buildOut struct {
	ID                           string              `json:"id"`
	Arn                          string              `json:"arn"`
	BuildNumber                  int64               `json:"buildNumber"`
	StartTime                    awsproto.EpochTime  `json:"startTime"`
	EndTime                      *awsproto.EpochTime `json:"endTime,omitempty"`
	CurrentPhase                 string              `json:"currentPhase"`
	BuildStatus                  string              `json:"buildStatus"`
	SourceVersion                string              `json:"sourceVersion,omitempty"`
	ResolvedSourceVersion        string              `json:"resolvedSourceVersion,omitempty"`
	ProjectName                  string              `json:"projectName"`
	Phases                       []phaseOut          `json:"phases"`
	Source                       *Source             `json:"source,omitempty"`
	Artifacts                    *artifactsOut       `json:"artifacts,omitempty"`
	Cache                        *Cache              `json:"cache,omitempty"`
	Environment                  *Environment        `json:"environment,omitempty"`
	ServiceRole                  string              `json:"serviceRole,omitempty"`
	Logs                         *logsOut            `json:"logs,omitempty"`
	TimeoutInMinutes             int64               `json:"timeoutInMinutes"`
	QueuedTimeoutInMinutes       int64               `json:"queuedTimeoutInMinutes"`
	BuildComplete                bool                `json:"buildComplete"`
	Initiator                    string              `json:"initiator"`
	EncryptionKey                string              `json:"encryptionKey,omitempty"`
	ExportedEnvironmentVariables []exportedVar       `json:"exportedEnvironmentVariables,omitempty"`
}

type phaseOut struct {
	PhaseType         string              `json:"phaseType"`
	PhaseStatus       string              `json:"phaseStatus,omitempty"`
	StartTime         awsproto.EpochTime  `json:"startTime"`
	EndTime           *awsproto.EpochTime `json:"endTime,omitempty"`
	DurationInSeconds *int64              `json:"durationInSeconds,omitempty"`
	Contexts          []phaseContext      `json:"contexts,omitempty"`
}

type artifactsOut struct {
	Location string `json:"location,omitempty"`
}

type logsOut struct {
	GroupName         string                `json:"groupName,omitempty"`
	StreamName        string                `json:"streamName,omitempty"`
	DeepLink          string                `json:"deepLink,omitempty"`
	CloudWatchLogsArn string                `json:"cloudWatchLogsArn,omitempty"`
	CloudWatchLogs    *CloudWatchLogsConfig `json:"cloudWatchLogs,omitempty"`
	S3Logs            *S3LogsConfig         `json:"s3Logs,omitempty"`
}

type exportedVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// view is the build as it stands at now.
func (s *Server) view(b *build, now time.Time) buildOut {
	out := buildOut{ID: b.id, Arn: b.arn, BuildNumber: b.number, StartTime: awsproto.EpochTime(b.start), BuildStatus: "IN_PROGRESS",
		SourceVersion: b.sourceVersion, ResolvedSourceVersion: b.resolved, ProjectName: b.project, Phases: []phaseOut{},
		Source: b.proj.Source, Cache: b.proj.Cache, Environment: b.proj.Environment, ServiceRole: deref(b.proj.ServiceRole),
		TimeoutInMinutes: deref(b.proj.TimeoutInMinutes), QueuedTimeoutInMinutes: deref(b.proj.QueuedTimeoutInMinutes),
		Initiator: b.initiator, EncryptionKey: deref(b.proj.EncryptionKey)}
	if b.artifactLoc != "" {
		out.Artifacts = &artifactsOut{Location: b.artifactLoc}
	} else {
		out.Artifacts = &artifactsOut{}
	}
	if b.group != "" {
		out.Logs = &logsOut{GroupName: b.group, StreamName: b.stream,
			DeepLink:          fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s", s.Region, b.group, b.stream),
			CloudWatchLogsArn: fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", s.Region, s.Account, b.group, b.stream),
			CloudWatchLogs:    &CloudWatchLogsConfig{Status: ptr("ENABLED"), GroupName: ptr(b.group)},
			S3Logs:            &S3LogsConfig{Status: ptr("DISABLED")}}
	}
	for _, p := range b.plan {
		if p.start.After(now) {
			break
		}
		o := phaseOut{PhaseType: p.typ, StartTime: awsproto.EpochTime(p.start)}
		out.CurrentPhase = p.typ
		if p.typ == "COMPLETED" {
			out.Phases = append(out.Phases, o)
			out.BuildComplete = true
			out.BuildStatus = b.status
			out.EndTime = ptr(awsproto.EpochTime(p.start))
			for k, v := range b.exported {
				out.ExportedEnvironmentVariables = append(out.ExportedEnvironmentVariables, exportedVar{k, v})
			}
			break
		}
		if !p.end.After(now) {
			o.PhaseStatus = p.status
			o.EndTime = ptr(awsproto.EpochTime(p.end))
			o.DurationInSeconds = ptr(int64(p.end.Sub(p.start) / time.Second))
			o.Contexts = []phaseContext{p.ctx}
		}
		out.Phases = append(out.Phases, o)
	}
	return out
}

func (s *Server) batchGetBuilds(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.IDs == nil {
		return nil, model.Required("ids", false)
	}
	// botocore codebuild BuildIds: 1-100.
	if err := model.Size("ids", fmt.Sprintf("%v", in.IDs), len(in.IDs), 1, 100); err != nil {
		return nil, err
	}
	s.Sync(r.Context(), "")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	out := struct {
		Builds         []buildOut `json:"builds"`
		BuildsNotFound []string   `json:"buildsNotFound"`
	}{Builds: []buildOut{}, BuildsNotFound: []string{}}
	for _, id := range in.IDs {
		key := id
		if i := strings.Index(id, ":build/"); i >= 0 {
			key = id[i+len(":build/"):]
		}
		if b, ok := s.builds[key]; ok {
			out.Builds = append(out.Builds, s.view(b, now))
		} else {
			// "BatchGetBuilds returns unknown IDs in buildsNotFound."
			out.BuildsNotFound = append(out.BuildsNotFound, id)
		}
	}
	return out, nil
}

func (s *Server) listBuildsForProject(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ProjectName *string `json:"projectName"`
		SortOrder   *string `json:"sortOrder"`
		NextToken   *string `json:"nextToken"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ProjectName == nil {
		return nil, model.Required("projectName", false)
	}
	if in.SortOrder != nil {
		if err := model.Enum("sortOrder", *in.SortOrder, "ASCENDING", "DESCENDING"); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	p, ok := s.projects[*in.ProjectName]
	var ids []string
	if ok {
		ids = append(ids, p.builds...)
	}
	s.mu.Unlock()
	if !ok {
		return nil, notFoundProject(s.projectArn(*in.ProjectName))
	}
	// sortOrder: DESCENDING (the default) lists the most recent first.
	if deref(in.SortOrder) != "ASCENDING" {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	page, next, err := awsproto.Paginate(ids, deref(in.NextToken), 0, pageSize, "InvalidInputException")
	if err != nil {
		return nil, err
	}
	return struct {
		IDs       []string `json:"ids"`
		NextToken string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (s *Server) stopBuild(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ID *string `json:"id"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ID == nil {
		return nil, model.Required("id", false)
	}
	s.Sync(r.Context(), "")
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.builds[*in.ID]
	if !ok {
		return nil, awsproto.Errf("ResourceNotFoundException", "Build %s does not exist", *in.ID)
	}
	now := s.clk.Now()
	if v := s.view(b, now); v.BuildComplete {
		return nil, awsproto.Errf("InvalidInputException", "Build %s is already complete and cannot be stopped", *in.ID)
	}
	b.cut(now, "STOPPED", phaseContext{})
	b.stoppedAt = &now
	return struct {
		Build buildOut `json:"build"`
	}{s.view(b, now)}, nil
}

// Sync writes the log lines and state-change events of every build up to
// the endpoint's clock. The endpoint calls it before serving any request.
func (s *Server) Sync(ctx context.Context, wrote string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	for _, b := range s.builds {
		s.flush(b, now)
	}
}

// flush writes b's log lines up to now and sends its events (s.mu held).
func (s *Server) flush(b *build, now time.Time) {
	if b.group != "" && b.logged < len(b.logs) && !b.logs[b.logged].at.After(now) {
		logs := s.service("logs")
		if !b.streamMade {
			CallJSON(logs, "Logs_20140328", "CreateLogGroup", map[string]string{"logGroupName": b.group}, nil)
			CallJSON(logs, "Logs_20140328", "CreateLogStream", map[string]string{"logGroupName": b.group, "logStreamName": b.stream}, nil)
			b.streamMade = true
		}
		type event struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		}
		var evs []event
		for b.logged < len(b.logs) && !b.logs[b.logged].at.After(now) {
			l := b.logs[b.logged]
			evs = append(evs, event{l.at.UnixMilli(), l.text})
			b.logged++
		}
		CallJSON(logs, "Logs_20140328", "PutLogEvents", map[string]any{"logGroupName": b.group, "logStreamName": b.stream, "logEvents": evs}, nil)
	}
	if s.Events == nil {
		return
	}
	v := s.view(b, now)
	send := func(status string, at time.Time) {
		detail, _ := json.Marshal(map[string]any{
			"build-status": status, "project-name": b.project, "build-id": b.arn, "current-phase": v.CurrentPhase,
			"current-phase-context": "[]", "version": "1",
			"additional-information": map[string]any{"build-complete": v.BuildComplete, "initiator": b.initiator,
				"build-start-time": b.start.UTC().Format("Jan 2, 2006 3:04:05 PM")},
		})
		s.Events("aws.codebuild", "CodeBuild Build State Change", []string{b.arn}, detail, at)
	}
	if !b.startSent {
		b.startSent = true
		send("IN_PROGRESS", b.start)
	}
	if v.BuildComplete && !b.endSent {
		b.endSent = true
		send(v.BuildStatus, time.Time(*v.EndTime))
	}
}
