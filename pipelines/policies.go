package pipelines

import (
	"encoding/json"
	"fmt"
)

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal any            `json:"Principal,omitempty"`
	Action    any            `json:"Action"`
	Resource  any            `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

func render(d policyDoc) string {
	b, _ := json.MarshalIndent(d, "", "  ")
	return string(b)
}

// arns are the ARNs the policies name.
type arns struct {
	partition, region, account string
	n                          Names
	repo                       Repo
	connection                 string // connection ARN (connection sources)
	cluster, service           string
	passRoles                  []string // the live task definition's task and execution roles
	test                       bool
}

func (a arns) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.partition, service, a.region, a.account, resource)
}

func (a arns) pipelineARN() string { return a.arn("codepipeline", a.n.Pipeline) }
func (a arns) projectARN(p string) string {
	return a.arn("codebuild", "project/"+p)
}
func (a arns) bucketARN() string { return fmt.Sprintf("arn:%s:s3:::%s", a.partition, a.n.Bucket) }
func (a arns) repoARN() string   { return a.arn("ecr", "repository/"+a.n.Repository) }
func (a arns) serviceARN() string {
	return a.arn("ecs", "service/"+a.cluster+"/"+a.service)
}
func (a arns) ruleARN() string { return a.arn("events", "rule/"+a.n.Rule) }

func (a arns) projects() []string {
	ps := []string{a.projectARN(a.n.BuildProject)}
	if a.test {
		ps = append(ps, a.projectARN(a.n.testProject()))
	}
	return ps
}

// trust is a role's trust policy: only the service, acting for this
// account's one resource (aws:SourceAccount and aws:SourceArn, AWS's
// confused-deputy protection), may assume it.
func (a arns) trust(service string, sourceArns []string) string {
	var src any = sourceArns
	if len(sourceArns) == 1 {
		src = sourceArns[0]
	}
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]any{"Service": service}, Action: "sts:AssumeRole",
		Condition: map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": a.account},
			"ArnLike":      map[string]any{"aws:SourceArn": src},
		},
	}}})
}

// BuildTrust is the CodeBuild role's trust policy.
func (a arns) BuildTrust() string { return a.trust("codebuild.amazonaws.com", a.projects()) }

// PipelineTrust is the pipeline role's trust policy.
func (a arns) PipelineTrust() string {
	return a.trust("codepipeline.amazonaws.com", []string{a.pipelineARN()})
}

// BuildPolicy lets the build and test projects write their logs, read and
// write the pipeline's artifacts, push to the one ECR repository (the
// registry login token cannot be scoped: ecr:GetAuthorizationToken needs
// "*") and read the service and its task definitions for the container check
// (DescribeTaskDefinition supports no resource-level permissions).
func (a arns) BuildPolicy() string {
	var logs []string
	for _, p := range append([]string{a.n.BuildProject}, map[bool][]string{true: {a.n.testProject()}}[a.test]...) {
		logs = append(logs, a.arn("logs", "log-group:/aws/codebuild/"+p), a.arn("logs", "log-group:/aws/codebuild/"+p+":*"))
	}
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "BuildLogs", Effect: "Allow", Action: []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, Resource: logs},
		{Sid: "PipelineArtifacts", Effect: "Allow", Action: []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, Resource: a.bucketARN() + "/*"},
		{Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*"},
		{Sid: "PushAndCacheImages", Effect: "Allow", Action: []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
			"ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"}, Resource: a.repoARN()},
		{Sid: "ReadService", Effect: "Allow", Action: "ecs:DescribeServices", Resource: a.serviceARN()},
		{Sid: "ReadTaskDefinitions", Effect: "Allow", Action: "ecs:DescribeTaskDefinition", Resource: "*"},
	}})
}

// PipelinePolicy lets the pipeline read its source, use its artifact
// bucket, run its CodeBuild projects, and deploy the one ECS service (the ECS
// action registers a task definition revision, which supports no
// resource-level permissions, and passes the task's own roles to ECS).
func (a arns) PipelinePolicy() string {
	st := []statement{
		{Sid: "Artifacts", Effect: "Allow", Action: []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, Resource: a.bucketARN() + "/*"},
		{Sid: "ArtifactBucket", Effect: "Allow", Action: []string{"s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:ListBucket"}, Resource: a.bucketARN()},
	}
	switch a.repo.Kind {
	case SourceS3:
		st = append(st,
			statement{Sid: "SourceObject", Effect: "Allow", Action: []string{"s3:GetObject", "s3:GetObjectVersion"}, Resource: fmt.Sprintf("arn:%s:s3:::%s/%s", a.partition, a.repo.Bucket, a.repo.Key)},
			statement{Sid: "SourceBucket", Effect: "Allow", Action: []string{"s3:GetBucketVersioning", "s3:ListBucket"}, Resource: fmt.Sprintf("arn:%s:s3:::%s", a.partition, a.repo.Bucket)})
	case SourceCodeCommit:
		st = append(st, statement{Sid: "SourceRepository", Effect: "Allow", Action: []string{"codecommit:GetBranch", "codecommit:GetCommit",
			"codecommit:UploadArchive", "codecommit:GetUploadArchiveStatus", "codecommit:CancelUploadArchive", "codecommit:GetRepository"}, Resource: a.arn("codecommit", a.repo.ID)})
	default:
		st = append(st, statement{Sid: "SourceConnection", Effect: "Allow", Action: []string{"codeconnections:UseConnection", "codestar-connections:UseConnection"},
			Resource: a.connectionResource()})
	}
	st = append(st,
		statement{Sid: "RunBuilds", Effect: "Allow", Action: []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"}, Resource: a.projects()},
		statement{Sid: "DeployService", Effect: "Allow", Action: []string{"ecs:DescribeServices", "ecs:UpdateService"}, Resource: a.serviceARN()},
		statement{Sid: "RegisterTaskDefinitions", Effect: "Allow", Action: []string{"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:TagResource"}, Resource: "*"},
	)
	if len(a.passRoles) > 0 {
		st = append(st, statement{Sid: "PassTaskRoles", Effect: "Allow", Action: "iam:PassRole", Resource: a.passRoles,
			Condition: map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
	}
	return render(policyDoc{Version: "2012-10-17", Statement: st})
}

func (a arns) connectionResource() string {
	if a.connection != "" {
		return a.connection
	}
	return a.arn("codeconnections", "connection/*")
}

// TopicStatement is the statement opsctl adds to the alarms topic's policy
// so that only this pipeline's failure rule may publish to it (SNS targets
// take no role: EventBridge publishes under the topic policy).
func (a arns) TopicStatement(topicARN string) string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid: topicSid(a.n.Pipeline), Effect: "Allow", Principal: map[string]any{"Service": "events.amazonaws.com"},
		Action: "sns:Publish", Resource: topicARN,
		Condition: map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": a.ruleARN()}},
	}}})
}

func topicSid(pipeline string) string { return "OpsctlPipeline" + sidSafe(pipeline) + "Failures" }

func sidSafe(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			out = append(out, c)
		}
	}
	return string(out)
}

// BucketPolicy refuses every request to the artifact bucket that is not
// over TLS.
func (a arns) BucketPolicy() string {
	return render(policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
		Resource:  []string{a.bucketARN(), a.bucketARN() + "/*"},
		Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}}})
}

// LifecyclePolicy keeps the newest keep images of the repository (ECR
// lifecycle policy parameters: one rule, tagStatus any, imageCountMoreThan).
func LifecyclePolicy(keep int) string {
	b, _ := json.MarshalIndent(map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1,
		"description":  fmt.Sprintf("opsctl pipeline: keep the newest %d images", keep),
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
		"action":       map[string]any{"type": "expire"},
	}}}, "", "  ")
	return string(b)
}
