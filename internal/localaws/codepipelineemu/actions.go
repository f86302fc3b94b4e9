package codepipelineemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/codebuildemu"
)

func (s *Server) service(name string) http.Handler {
	if s.Service == nil {
		return nil
	}
	return s.Service(name)
}

// artifactKey is where CodePipeline stores an artifact: <pipeline name, at
// most 20 characters>/<artifact name, at most 20>/<random>.
func artifactKey(pipeline, artifact string) string {
	trunc := func(s string) string {
		if len(s) > 20 {
			return s[:20]
		}
		return s
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 7)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return trunc(pipeline) + "/" + trunc(artifact) + "/" + string(b)
}

func (e *execution) bucket() string {
	if e.decl.ArtifactStore != nil {
		return deref(e.decl.ArtifactStore.Location)
	}
	for _, st := range e.decl.ArtifactStores {
		return deref(st.Location)
	}
	return ""
}

func (a *actionRun) fail(code, msg string, now time.Time) {
	a.status, a.end, a.errCode, a.errMsg = failed, now, code, msg
}

// startAction starts a at now.
func (s *Server) startAction(p *pipeline, e *execution, st *stageRun, a *actionRun, now time.Time) {
	a.id, a.status, a.start = newID(), inProgress, now
	a.resolved = map[string]string{}
	for k, v := range a.decl.Configuration {
		a.resolved[k] = e.resolve(v)
	}
	s.actionEvent(e, st, a, "STARTED", now)
	switch a.decl.typeKey() {
	case "Build/CodeBuild", "Test/CodeBuild":
		s.startBuild(e, a, now)
	case "Deploy/ECS":
		s.startECSDeploy(e, a, now)
	}
	if a.status == failed {
		s.actionEvent(e, st, a, "FAILED", now)
	}
}

// pollAction checks a running action; true when it changed.
func (s *Server) pollAction(p *pipeline, e *execution, st *stageRun, a *actionRun, now time.Time) bool {
	switch a.decl.typeKey() {
	case "Source/CodeStarSourceConnection", "Source/CodeCommit", "Source/S3", "Source/ECR":
		if now.Before(a.start.Add(sourceActionFor)) {
			return false
		}
		s.finishSource(e, a, now)
	case "Build/CodeBuild", "Test/CodeBuild":
		if !s.pollBuild(e, a, now) {
			return false
		}
	case "Deploy/ECS":
		if !s.pollECSDeploy(e, a, now) {
			return false
		}
	case "Approval/Manual":
		return false // waits for an approval the emulation does not take
	default:
		if now.Before(a.start.Add(sourceActionFor)) {
			return false
		}
		a.status, a.end = succeeded, now
	}
	state := "SUCCEEDED"
	if a.status == failed {
		state = "FAILED"
	}
	s.actionEvent(e, st, a, state, now)
	return true
}

// finishSource delivers the execution's revision: the output artifact (a
// zip of the pushed files) in the artifact store and the source variables
// (action-reference-CodestarConnectionSource.html "Output variables").
func (s *Server) finishSource(e *execution, a *actionRun, now time.Time) {
	files := map[string][]byte{}
	for n, c := range e.rev.Files {
		files[n] = []byte(c)
	}
	for _, out := range a.decl.OutputArtifacts {
		name := deref(out.Name)
		if loc, ok := e.artifacts[name]; ok && e.execType == "ROLLBACK" {
			a.outputs = append(a.outputs, loc.key)
			continue
		}
		key := artifactKey(e.pipeline, name)
		if err := codebuildemu.PutObject(s.service("s3"), e.bucket(), key, codebuildemu.Zip(files)); err != nil {
			a.fail("JobFailed", fmt.Sprintf("Unable to upload the source artifact to the artifact store %s: %v", e.bucket(), err), now)
			return
		}
		e.artifacts[name] = artifactLoc{e.bucket(), key}
		a.outputs = append(a.outputs, key)
	}
	a.outVars = map[string]string{"CommitId": e.rev.Commit, "BranchName": e.rev.Branch, "CommitMessage": e.rev.Message,
		"FullRepositoryId": e.rev.Repository, "ConnectionArn": a.resolved["ConnectionArn"], "AuthorDate": e.start.UTC().Format(time.RFC3339),
		"ProviderType": "GitHub"}
	if ns := deref(a.decl.Namespace); ns != "" {
		e.ns[ns] = a.outVars
	}
	a.externalID = e.rev.Commit
	a.summary = e.rev.Message
	a.status, a.end = succeeded, now
}

// startBuild starts the CodeBuild build of a Build or Test action: the
// primary input artifact as an S3 source, the output artifact written to
// the artifact store (action-reference-CodeBuild.html).
func (s *Server) startBuild(e *execution, a *actionRun, now time.Time) {
	project := a.resolved["ProjectName"]
	in := map[string]any{"projectName": project, "sourceVersion": e.rev.Commit, "idempotencyToken": "codepipeline/" + e.pipeline}
	if len(a.decl.InputArtifacts) > 0 {
		loc, ok := e.artifacts[deref(a.decl.InputArtifacts[0].Name)]
		if !ok {
			a.fail("JobFailed", "Input artifact "+deref(a.decl.InputArtifacts[0].Name)+" was not found", now)
			return
		}
		in["sourceTypeOverride"] = "S3"
		in["sourceLocationOverride"] = loc.bucket + "/" + loc.key
	} else {
		in["sourceTypeOverride"] = "NO_SOURCE"
	}
	if len(a.decl.OutputArtifacts) > 0 {
		name := deref(a.decl.OutputArtifacts[0].Name)
		key := artifactKey(e.pipeline, name)
		dir, file := key[:strings.LastIndex(key, "/")], key[strings.LastIndex(key, "/")+1:]
		in["artifactsOverride"] = map[string]any{"type": "S3", "location": e.bucket(), "path": dir, "name": file, "packaging": "ZIP"}
		a.outputs = []string{key}
	} else {
		in["artifactsOverride"] = map[string]any{"type": "NO_ARTIFACTS"}
	}
	var env []map[string]string
	if raw := a.resolved["EnvironmentVariables"]; raw != "" {
		json.Unmarshal([]byte(raw), &env)
	}
	env = append(env, map[string]string{"name": "CODEBUILD_RESOLVED_SOURCE_VERSION", "value": e.rev.Commit, "type": "PLAINTEXT"})
	in["environmentVariablesOverride"] = env
	var out struct {
		Build struct {
			ID string `json:"id"`
		} `json:"build"`
	}
	if err := codebuildemu.CallJSON(s.service("codebuild"), "CodeBuild_20161006", "StartBuild", in, &out); err != nil {
		a.fail("JobFailed", "Error calling startBuild: "+messageOf(err), now)
		return
	}
	a.externalID = out.Build.ID
	a.externalURL = fmt.Sprintf("https://console.aws.amazon.com/codebuild/home?region=%s#/builds/%s/view/new", s.Region, out.Build.ID)
}

func messageOf(err error) string {
	if ce, ok := err.(*codebuildemu.CallError); ok {
		return ce.Message
	}
	return err.Error()
}

// pollBuild follows the build; true when it completed.
func (s *Server) pollBuild(e *execution, a *actionRun, now time.Time) bool {
	var out struct {
		Builds []struct {
			BuildComplete bool   `json:"buildComplete"`
			BuildStatus   string `json:"buildStatus"`
			Exported      []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"exportedEnvironmentVariables"`
		} `json:"builds"`
	}
	h := s.service("codebuild")
	if err := codebuildemu.CallJSON(h, "CodeBuild_20161006", "BatchGetBuilds", map[string]any{"ids": []string{a.externalID}}, &out); err != nil || len(out.Builds) == 0 {
		a.fail("JobFailed", "Build "+a.externalID+" was not found", now)
		return true
	}
	b := out.Builds[0]
	if !b.BuildComplete {
		return false
	}
	if b.BuildStatus != "SUCCEEDED" {
		// What CodePipeline reports for a failed CodeBuild action.
		a.fail("JobFailed", "Build terminated with state: "+b.BuildStatus, now)
		return true
	}
	a.outVars = map[string]string{}
	for _, v := range b.Exported {
		a.outVars[v.Name] = v.Value
	}
	if ns := deref(a.decl.Namespace); ns != "" {
		e.ns[ns] = a.outVars
	}
	if len(a.outputs) > 0 {
		e.artifacts[deref(a.decl.OutputArtifacts[0].Name)] = artifactLoc{e.bucket(), a.outputs[0]}
	}
	a.summary = "Build succeeded"
	a.status, a.end = succeeded, now
	return true
}

func ecsCall(h http.Handler, op string, in, out any) error {
	return codebuildemu.CallJSON(h, "AmazonEC2ContainerServiceV20141113", op, in, out)
}

// startECSDeploy is the ECS standard deploy action
// (action-reference-ECS.html): it reads the image definitions file from the
// input artifact, registers a revision of the task definition the service
// runs with the new images, and updates the service.
func (s *Server) startECSDeploy(e *execution, a *actionRun, now time.Time) {
	a.cluster, a.service = a.resolved["ClusterName"], a.resolved["ServiceName"]
	file := a.resolved["FileName"]
	if file == "" {
		file = "imagedefinitions.json"
	}
	artifact := deref(a.decl.InputArtifacts[0].Name)
	loc, ok := e.artifacts[artifact]
	var files map[string][]byte
	if ok {
		zipped, err := codebuildemu.GetObject(s.service("s3"), loc.bucket, loc.key)
		if err == nil {
			files, err = codebuildemu.Unzip(zipped)
		}
		ok = err == nil
	}
	data, found := files[file]
	if !ok || !found {
		// troubleshooting.html.
		a.fail("JobFailed", "Exception while trying to read the task definition artifact file from: "+artifact, now)
		return
	}
	var defs []struct {
		Name     string `json:"name"`
		ImageURI string `json:"imageUri"`
	}
	if err := json.Unmarshal(data, &defs); err != nil || len(defs) == 0 {
		a.fail("JobFailed", fmt.Sprintf("Invalid image definitions file %s in the artifact %s: it must be a JSON array of {\"name\",\"imageUri\"} objects", file, artifact), now)
		return
	}
	ecs := s.service("ecs")
	var svc struct {
		Services []struct {
			Status         string `json:"status"`
			TaskDefinition string `json:"taskDefinition"`
		} `json:"services"`
	}
	if err := ecsCall(ecs, "DescribeServices", map[string]any{"cluster": a.cluster, "services": []string{a.service}}, &svc); err != nil {
		a.fail("JobFailed", messageOf(err), now)
		return
	}
	if len(svc.Services) == 0 || svc.Services[0].Status != "ACTIVE" {
		a.fail("JobFailed", fmt.Sprintf("The Amazon ECS service %s does not exist in the cluster %s.", a.service, a.cluster), now)
		return
	}
	var td struct {
		TaskDefinition map[string]any `json:"taskDefinition"`
		Tags           []any          `json:"tags"`
	}
	if err := ecsCall(ecs, "DescribeTaskDefinition", map[string]any{"taskDefinition": svc.Services[0].TaskDefinition, "include": []string{"TAGS"}}, &td); err != nil {
		a.fail("JobFailed", messageOf(err), now)
		return
	}
	containers, _ := td.TaskDefinition["containerDefinitions"].([]any)
	for _, d := range defs {
		found := false
		for _, c := range containers {
			if cm, ok := c.(map[string]any); ok && cm["name"] == d.Name {
				cm["image"] = d.ImageURI
				found = true
			}
		}
		if !found {
			a.fail("JobFailed", fmt.Sprintf("The container %s does not exist in the task definition.", d.Name), now)
			return
		}
	}
	reg := map[string]any{}
	for k, v := range td.TaskDefinition {
		switch k {
		case "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt":
		default:
			reg[k] = v
		}
	}
	if len(td.Tags) > 0 {
		reg["tags"] = td.Tags
	}
	var regOut struct {
		TaskDefinition struct {
			Arn string `json:"taskDefinitionArn"`
		} `json:"taskDefinition"`
	}
	if err := ecsCall(ecs, "RegisterTaskDefinition", reg, &regOut); err != nil {
		a.fail("JobFailed", "Failed to register a task definition revision: "+messageOf(err), now)
		return
	}
	var upd struct {
		Service struct {
			Deployments []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"deployments"`
		} `json:"service"`
	}
	if err := ecsCall(ecs, "UpdateService", map[string]any{"cluster": a.cluster, "service": a.service, "taskDefinition": regOut.TaskDefinition.Arn}, &upd); err != nil {
		a.fail("JobFailed", messageOf(err), now)
		return
	}
	for _, d := range upd.Service.Deployments {
		if d.Status == "PRIMARY" {
			a.deployment = d.ID
		}
	}
	a.externalID = a.deployment
	a.externalURL = fmt.Sprintf("https://console.aws.amazon.com/ecs/v2/clusters/%s/services/%s/deployments", a.cluster, a.service)
}

// pollECSDeploy: the action succeeds when the deployment reaches COMPLETED
// and fails when it fails (the circuit breaker), is replaced, or outlasts
// DeploymentTimeout minutes (default 60).
func (s *Server) pollECSDeploy(e *execution, a *actionRun, now time.Time) bool {
	var svc struct {
		Services []struct {
			Deployments []struct {
				ID           string `json:"id"`
				Status       string `json:"status"`
				RolloutState string `json:"rolloutState"`
				Reason       string `json:"rolloutStateReason"`
			} `json:"deployments"`
		} `json:"services"`
	}
	if err := ecsCall(s.service("ecs"), "DescribeServices", map[string]any{"cluster": a.cluster, "services": []string{a.service}}, &svc); err != nil || len(svc.Services) == 0 {
		a.fail("JobFailed", fmt.Sprintf("The Amazon ECS service %s does not exist in the cluster %s.", a.service, a.cluster), now)
		return true
	}
	timeout := 60 * time.Minute
	if v := a.resolved["DeploymentTimeout"]; v != "" {
		var m int
		fmt.Sscan(v, &m)
		if m > 0 {
			timeout = time.Duration(m) * time.Minute
		}
	}
	for _, d := range svc.Services[0].Deployments {
		if d.ID != a.deployment {
			continue
		}
		switch {
		case d.RolloutState == "COMPLETED":
			a.summary = "Deployment " + d.ID + " completed"
			a.status, a.end = succeeded, now
			return true
		case d.RolloutState == "FAILED":
			a.fail("JobFailed", "Deployment "+d.ID+" failed: "+d.Reason, now)
			return true
		}
	}
	found := false
	for _, d := range svc.Services[0].Deployments {
		found = found || d.ID == a.deployment
	}
	if !found {
		a.fail("JobFailed", "Deployment "+a.deployment+" was replaced by another deployment before it completed", now)
		return true
	}
	if now.Sub(a.start) > timeout {
		a.fail("JobFailed", fmt.Sprintf("The Amazon ECS deployment %s did not complete within %s", a.deployment, timeout), now)
		return true
	}
	return false
}
