package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codeconnections/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// Resource kinds in the plan.
const (
	ResConnection   = "codeconnections connection"
	ResBucket       = "s3 bucket"
	ResBucketConfig = "s3 bucket setting"
	ResRepository   = "ecr repository"
	ResRepoConfig   = "ecr setting"
	ResRole         = "iam role"
	ResRolePolicy   = "iam role policy"
	ResProject      = "codebuild project"
	ResPipeline     = "codepipeline pipeline"
	ResTopicPolicy  = "sns topic policy"
	ResRule         = "eventbridge rule"
	ResRuleTarget   = "eventbridge target"
)

// BuildImage is the CodeBuild image: the current Amazon Linux standard image
// (CodeBuild user guide, "Docker images provided by CodeBuild":
// aws/codebuild/amazonlinux-x86_64-standard:5.0, Amazon Linux 2023).
const BuildImage = "aws/codebuild/amazonlinux-x86_64-standard:5.0"

// Stage and action names.
const (
	StageSource, StageBuild, StageDeploy, StageTest = "Source", "Build", "Deploy", "Test"
	SourceNamespace                                 = "SourceVariables"
)

// inline policy name of every role.
const policyName = "opsctl"

// tags on what opsctl creates.
func managedTags() map[string]string {
	return map[string]string{"opsctl:managed": "true", "opsctl:component": "pipeline"}
}

// CreateResult is what `pipeline create` did.
type CreateResult struct {
	Names
	DryRun bool `json:"dry_run"`
	// Container is the container the pipeline deploys (checked against the
	// live task definition).
	Container string `json:"container"`
	// ConnectionARN and ConnectionStatus describe a connection source.
	ConnectionARN    string `json:"connection_arn,omitempty"`
	ConnectionStatus string `json:"connection_status,omitempty"`
	// Todo says what a person must do before the pipeline can run.
	Todo    []string      `json:"todo,omitempty"`
	Changes []plan.Change `json:"changes"`
	Counts  plan.Counts   `json:"counts"`
	// Documents are the generated documents (buildspecs, policies) by name,
	// printed by --dry-run.
	Documents map[string]string `json:"documents"`
	TopicARN  string            `json:"topic_arn,omitempty"`
}

type planner struct {
	deps  *Deps
	o     CreateOptions
	n     Names
	a     arns
	steps []plan.Step
	res   *CreateResult
	live  struct {
		taskRoles []string
	}
}

func (p *planner) add(s plan.Step) { p.steps = append(p.steps, s) }

func (p *planner) doc(name, text string) { p.res.Documents[name] = text }

// Create plans and applies a pipeline. It reads everything first (the
// service and its task definition, so a wrong container name fails before
// any write), then writes only what differs: a second run makes no write
// call. With DryRun nothing is written.
func Create(ctx context.Context, deps Deps, o CreateOptions) (CreateResult, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return CreateResult{}, err
	}
	account, err := deps.account(ctx)
	if err != nil {
		return CreateResult{}, err
	}
	n := NamesOf(o.Name, deps.Region, account)
	if o.Repo.Connection() {
		n.Connection = connectionName(o.Name)
	}
	if len(o.TestBranches) > 0 {
		n.TestProject = n.testProject()
	}
	if o.Notify == "" {
		n.Rule = ""
	}
	res := &CreateResult{Names: n, DryRun: o.DryRun, Documents: map[string]string{}}
	p := &planner{deps: &deps, o: o, n: n, res: res,
		a: arns{partition: deps.partition(), region: deps.Region, account: account, n: n, repo: o.Repo, cluster: o.Cluster, service: o.Service, test: len(o.TestBranches) > 0}}
	for _, step := range []func(context.Context) error{p.checkService, p.connection, p.bucket, p.repository, p.roles, p.projects, p.pipeline} {
		if err := step(ctx); err != nil {
			return *res, err
		}
	}
	changes, err := plan.Execute(ctx, p.steps, plan.Options{DryRun: o.DryRun, OnChange: deps.OnChange, Log: deps.Log})
	res.Changes = changes
	if err == nil && o.Notify != "" {
		var more []plan.Change
		more, err = p.notifications(ctx)
		res.Changes = append(res.Changes, more...)
	}
	res.Counts = plan.Count(res.Changes)
	if err == nil && o.Wait && res.ConnectionStatus == string(cctypes.ConnectionStatusPending) && !o.DryRun {
		err = p.waitConnection(ctx)
	}
	if err != nil && plan.Partial(res.Changes) {
		// Part of the plan was written (exit 3); a re-run completes it.
		return *res, &opserr.PartialError{Err: err}
	}
	return *res, err
}

func connectionName(pipeline string) string {
	// botocore codeconnections ConnectionName: 1-32 characters.
	if n := "opsctl-" + pipeline; len(n) <= 32 {
		return n
	}
	return pipeline
}

// checkService reads the live service and its task definition: the
// container must exist there, or the deploy action would fail with a broken
// imagedefinitions.json.
func (p *planner) checkService(ctx context.Context) error {
	if p.deps.ECS == nil {
		return errors.New("check the ECS service: no ECS client")
	}
	out, err := p.deps.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(p.o.Cluster), Services: []string{p.o.Service}})
	if err != nil {
		return fmt.Errorf("read ECS service %s in cluster %s: %w", p.o.Service, p.o.Cluster, err)
	}
	td := ""
	for _, s := range out.Services {
		if aws.ToString(s.Status) == "ACTIVE" {
			td = aws.ToString(s.TaskDefinition)
		}
	}
	if td == "" {
		return fmt.Errorf("ECS service %s is not active in cluster %s: create it first (opsctl deploy service create)", p.o.Service, p.o.Cluster)
	}
	d, err := p.deps.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return fmt.Errorf("read task definition %s of service %s: %w", td, p.o.Service, err)
	}
	var names []string
	for _, c := range d.TaskDefinition.ContainerDefinitions {
		names = append(names, aws.ToString(c.Name))
	}
	switch {
	case p.o.Container == "" && len(names) == 1:
		p.o.Container = names[0]
	case p.o.Container == "":
		return fmt.Errorf("service %s runs %d containers (%s): name the one the pipeline builds with --container", p.o.Service, len(names), strings.Join(names, ", "))
	case !contains(names, p.o.Container):
		return fmt.Errorf("container %q is not in the live task definition %s of service %s (its containers: %s): imagedefinitions.json would not match and the deploy would fail; pass --container with one of them",
			p.o.Container, td, p.o.Service, strings.Join(names, ", "))
	}
	p.res.Container = p.o.Container
	for _, r := range []*string{d.TaskDefinition.TaskRoleArn, d.TaskDefinition.ExecutionRoleArn} {
		if aws.ToString(r) != "" && !contains(p.a.passRoles, aws.ToString(r)) {
			p.a.passRoles = append(p.a.passRoles, aws.ToString(r))
		}
	}
	sort.Strings(p.a.passRoles)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ConnectionConsoleURL is where a person completes a connection's handshake.
func ConnectionConsoleURL(region, account, arn string) string {
	id := arn[strings.LastIndex(arn, "/")+1:]
	return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/settings/%s/%s/connections/%s?region=%s", region, account, region, id, region)
}

// HandshakeTodo says what to click for a pending connection.
func HandshakeTodo(provider, url string) string {
	return fmt.Sprintf("The %s connection is PENDING until you complete its handshake: open %s, choose \"Update pending connection\", "+
		"sign in to %s and authorize (\"Install a new app\" or pick the existing one), then choose \"Connect\". "+
		"Until then the Source action fails. `opsctl pipeline create … --wait` waits for it.", provider, url, provider)
}

func (p *planner) connection(ctx context.Context) error {
	if !p.o.Repo.Connection() {
		return nil
	}
	if p.deps.Connections == nil {
		return errors.New("plan the connection: no CodeConnections client")
	}
	provider := cctypes.ProviderType(p.o.Repo.ProviderType())
	var found *cctypes.Connection
	in := &codeconnections.ListConnectionsInput{ProviderTypeFilter: provider}
	for {
		out, err := p.deps.Connections.ListConnections(ctx, in)
		if err != nil {
			return fmt.Errorf("list CodeConnections connections: %w", err)
		}
		for i, c := range out.Connections {
			if aws.ToString(c.ConnectionName) == p.n.Connection {
				found = &out.Connections[i]
			}
		}
		if out.NextToken == nil || found != nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if found != nil {
		p.res.ConnectionARN, p.res.ConnectionStatus = aws.ToString(found.ConnectionArn), string(found.ConnectionStatus)
		p.a.connection = p.res.ConnectionARN
		p.add(plan.Unchanged(ResConnection, p.n.Connection))
		p.pendingTodo()
		return nil
	}
	p.res.ConnectionStatus = string(cctypes.ConnectionStatusPending)
	p.add(plan.New(ResConnection, p.n.Connection, plan.ActionCreate, []plan.FieldDiff{{Field: "provider", Old: "(none)", New: string(provider)}},
		func(ctx context.Context) error {
			out, err := p.deps.Connections.CreateConnection(ctx, &codeconnections.CreateConnectionInput{ConnectionName: aws.String(p.n.Connection),
				ProviderType: provider, Tags: ccTags(managedTags())})
			if err != nil {
				return fmt.Errorf("create %s connection %s: %w", provider, p.n.Connection, err)
			}
			p.res.ConnectionARN = aws.ToString(out.ConnectionArn)
			p.a.connection = p.res.ConnectionARN
			p.pendingTodo()
			return nil
		}))
	if p.o.DryRun {
		p.res.Todo = append(p.res.Todo, fmt.Sprintf("After create, complete the %s connection's handshake in the console (opsctl prints the link).", provider))
	}
	return nil
}

func (p *planner) pendingTodo() {
	if p.res.ConnectionStatus != string(cctypes.ConnectionStatusAvailable) && p.res.ConnectionARN != "" {
		p.res.Todo = append(p.res.Todo, HandshakeTodo(p.o.Repo.ProviderType(), ConnectionConsoleURL(p.deps.Region, p.a.account, p.res.ConnectionARN)))
	}
}

func ccTags(m map[string]string) []cctypes.Tag {
	var out []cctypes.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, cctypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// waitConnection polls the connection until a person completed its handshake.
func (p *planner) waitConnection(ctx context.Context) error {
	_, err := wait.Until(ctx, wait.Options{What: "connection " + p.n.Connection + " handshake", Clock: p.deps.Clock, Timeout: 30 * time.Minute,
		Interval: 5 * time.Second, MaxInterval: 30 * time.Second, Progress: p.deps.OnTick},
		func(ctx context.Context) (wait.Status, error) {
			out, err := p.deps.Connections.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: aws.String(p.res.ConnectionARN)})
			if err != nil {
				return wait.Status{}, fmt.Errorf("read connection %s: %w", p.n.Connection, err)
			}
			st := out.Connection.ConnectionStatus
			p.res.ConnectionStatus = string(st)
			if st == cctypes.ConnectionStatusError {
				return wait.Status{}, fmt.Errorf("connection %s is in ERROR: the provider refused the handshake; delete it in the console and re-run", p.n.Connection)
			}
			return wait.Status{Done: st == cctypes.ConnectionStatusAvailable, State: string(st)}, nil
		})
	if err == nil {
		p.res.Todo = nil
	}
	return err
}

func (p *planner) bucket(ctx context.Context) error {
	if p.deps.S3 == nil {
		return errors.New("plan the artifact bucket: no S3 client")
	}
	b := aws.String(p.n.Bucket)
	policy := p.a.BucketPolicy()
	p.doc("artifact bucket policy", policy)
	_, err := p.deps.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read artifact bucket %s: %w", p.n.Bucket, err)
	}
	putEnc := func(ctx context.Context) error {
		_, err := p.deps.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}, BucketKeyEnabled: aws.Bool(true)}}}})
		return wrap(err, "encrypt artifact bucket %s", p.n.Bucket)
	}
	putPAB := func(ctx context.Context) error {
		_, err := p.deps.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
		return wrap(err, "block public access to artifact bucket %s", p.n.Bucket)
	}
	putPolicy := func(ctx context.Context) error {
		_, err := p.deps.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)})
		return wrap(err, "set the TLS-only policy of artifact bucket %s", p.n.Bucket)
	}
	if !exists {
		p.add(plan.Create(ResBucket, p.n.Bucket, func(ctx context.Context) error {
			in := &s3.CreateBucketInput{Bucket: b}
			if p.deps.Region != "" && p.deps.Region != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(p.deps.Region)}
			}
			_, err := p.deps.S3.CreateBucket(ctx, in)
			return wrap(err, "create artifact bucket %s", p.n.Bucket)
		}))
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" encryption", plan.ActionCreate, set("encryption", "SSE-S3 (AES256)"), putEnc))
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" public access block", plan.ActionCreate, set("block public access", "all four settings"), putPAB))
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" policy", plan.ActionCreate, set("policy", "deny requests without TLS"), putPolicy).WithDocument(policy))
		return nil
	}
	enc, err := p.deps.S3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		return fmt.Errorf("read encryption of artifact bucket %s: %w", p.n.Bucket, err)
	}
	if enc == nil || enc.ServerSideEncryptionConfiguration == nil || len(enc.ServerSideEncryptionConfiguration.Rules) == 0 ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault == nil {
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" encryption", plan.ActionUpdate, change("encryption", "none", "SSE-S3 (AES256)"), putEnc))
	} else {
		p.add(plan.Unchanged(ResBucketConfig, p.n.Bucket+" encryption"))
	}
	pab, err := p.deps.S3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		return fmt.Errorf("read public access block of artifact bucket %s: %w", p.n.Bucket, err)
	}
	if c := pabOf(pab); c == nil || !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" public access block", plan.ActionUpdate, change("block public access", "not all set", "all four settings"), putPAB))
	} else {
		p.add(plan.Unchanged(ResBucketConfig, p.n.Bucket+" public access block"))
	}
	pol, err := p.deps.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchBucketPolicy" {
		return fmt.Errorf("read policy of artifact bucket %s: %w", p.n.Bucket, err)
	}
	if pol == nil || !plan.SameJSON(aws.ToString(pol.Policy), policy) {
		p.add(plan.New(ResBucketConfig, p.n.Bucket+" policy", plan.ActionUpdate, change("policy", "differs", "deny requests without TLS"), putPolicy).WithDocument(policy))
	} else {
		p.add(plan.Unchanged(ResBucketConfig, p.n.Bucket+" policy"))
	}
	return nil
}

func pabOf(o *s3.GetPublicAccessBlockOutput) *s3types.PublicAccessBlockConfiguration {
	if o == nil {
		return nil
	}
	return o.PublicAccessBlockConfiguration
}

func isNotFound(err error) bool {
	switch awsx.ErrorCode(err) {
	case "NotFound", "NoSuchBucket", "NoSuchEntity", "ResourceNotFoundException", "RepositoryNotFoundException", "PipelineNotFoundException", "LifecyclePolicyNotFoundException":
		return true
	}
	return false
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func set(field, value string) []plan.FieldDiff {
	return []plan.FieldDiff{{Field: field, Old: "(none)", New: value}}
}

func change(field, old, new string) []plan.FieldDiff {
	return []plan.FieldDiff{{Field: field, Old: old, New: new}}
}

func (p *planner) repository(ctx context.Context) error {
	if p.deps.ECR == nil {
		return errors.New("plan the ECR repository: no ECR client")
	}
	name := aws.String(p.n.Repository)
	lifecycle := LifecyclePolicy(p.o.KeepImages)
	p.doc("ecr lifecycle policy", lifecycle)
	putLifecycle := func(ctx context.Context) error {
		_, err := p.deps.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(lifecycle)})
		return wrap(err, "set the lifecycle policy of ECR repository %s", p.n.Repository)
	}
	out, err := p.deps.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{p.n.Repository}})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read ECR repository %s: %w", p.n.Repository, err)
	}
	if err != nil || len(out.Repositories) == 0 {
		p.add(plan.New(ResRepository, p.n.Repository, plan.ActionCreate, []plan.FieldDiff{
			{Field: "scan on push", Old: "(none)", New: "true"}, {Field: "tag mutability", Old: "(none)", New: "IMMUTABLE"}},
			func(ctx context.Context) error {
				var tags []ecrtypes.Tag
				for _, k := range sortedKeys(managedTags()) {
					tags = append(tags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(managedTags()[k])})
				}
				_, err := p.deps.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: name, ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
					ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
					EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeAes256}, Tags: tags})
				return wrap(err, "create ECR repository %s", p.n.Repository)
			}))
		p.add(plan.New(ResRepoConfig, p.n.Repository+" lifecycle policy", plan.ActionCreate, set("keep", fmt.Sprintf("newest %d images", p.o.KeepImages)), putLifecycle).WithDocument(lifecycle))
		return nil
	}
	r := out.Repositories[0]
	if r.ImageScanningConfiguration == nil || !r.ImageScanningConfiguration.ScanOnPush {
		p.add(plan.Update(ResRepoConfig, p.n.Repository+" scan on push", change("scan on push", "false", "true"), func(ctx context.Context) error {
			_, err := p.deps.ECR.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: name,
				ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}})
			return wrap(err, "turn on scan on push for ECR repository %s", p.n.Repository)
		}))
	} else {
		p.add(plan.Unchanged(ResRepoConfig, p.n.Repository+" scan on push"))
	}
	if r.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable {
		p.add(plan.Update(ResRepoConfig, p.n.Repository+" tag mutability", change("tag mutability", string(r.ImageTagMutability), "IMMUTABLE"), func(ctx context.Context) error {
			_, err := p.deps.ECR.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable})
			return wrap(err, "make the tags of ECR repository %s immutable", p.n.Repository)
		}))
	} else {
		p.add(plan.Unchanged(ResRepoConfig, p.n.Repository+" tag mutability"))
	}
	lp, err := p.deps.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read the lifecycle policy of ECR repository %s: %w", p.n.Repository, err)
	}
	if err != nil || !plan.SameJSON(aws.ToString(lp.LifecyclePolicyText), lifecycle) {
		p.add(plan.New(ResRepoConfig, p.n.Repository+" lifecycle policy", plan.ActionUpdate, change("keep", "differs", fmt.Sprintf("newest %d images", p.o.KeepImages)), putLifecycle).WithDocument(lifecycle))
	} else {
		p.add(plan.Unchanged(ResRepoConfig, p.n.Repository+" lifecycle policy"))
	}
	return nil
}

// roles plans the build and pipeline roles. Their policies depend on the
// connection ARN, known only after the connection is created, so they are
// rendered when applied; the plan shows the documents as they will be.
func (p *planner) roles(ctx context.Context) error {
	if p.deps.IAM == nil {
		return errors.New("plan the IAM roles: no IAM client")
	}
	if err := p.role(ctx, p.n.BuildRole, "CodeBuild role of pipeline "+p.n.Pipeline, p.a.BuildTrust, p.a.BuildPolicy); err != nil {
		return err
	}
	return p.role(ctx, p.n.PipelineRole, "CodePipeline role of pipeline "+p.n.Pipeline, p.a.PipelineTrust,
		func() string {
			a := p.a
			if p.res.ConnectionARN != "" {
				a.connection = p.res.ConnectionARN
			}
			return a.PipelinePolicy()
		})
}

func (p *planner) role(ctx context.Context, name, description string, trust, policy func() string) error {
	p.doc(name+" trust policy", trust())
	p.doc(name+" permissions", policy())
	putPolicy := func(ctx context.Context) error {
		_, err := p.deps.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(policy())})
		return wrap(err, "set the permissions of IAM role %s", name)
	}
	out, err := p.deps.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read IAM role %s: %w", name, err)
	}
	if err != nil {
		p.add(plan.Create(ResRole, name, func(ctx context.Context) error {
			var tags []iamtypes.Tag
			for _, k := range sortedKeys(managedTags()) {
				tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(managedTags()[k])})
			}
			_, err := p.deps.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust()),
				Description: aws.String(description), Tags: tags})
			return wrap(err, "create IAM role %s", name)
		}).WithDocument(trust()))
		p.add(plan.Create(ResRolePolicy, name+"/"+policyName, putPolicy).WithDocument(policy()))
		return nil
	}
	if cur := decodePolicy(aws.ToString(out.Role.AssumeRolePolicyDocument)); !plan.SameJSON(cur, trust()) {
		p.add(plan.Update(ResRole, name, change("trust policy", "differs", "this account's "+strings.TrimSuffix(description, "")), func(ctx context.Context) error {
			_, err := p.deps.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust())})
			return wrap(err, "update the trust policy of IAM role %s", name)
		}).WithDocument(trust()))
	} else {
		p.add(plan.Unchanged(ResRole, name))
	}
	pol, err := p.deps.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read the permissions of IAM role %s: %w", name, err)
	}
	if err != nil || !plan.SameJSON(decodePolicy(aws.ToString(pol.PolicyDocument)), policy()) {
		p.add(plan.Update(ResRolePolicy, name+"/"+policyName, change("permissions", "differ", "least privilege for this pipeline"), putPolicy).WithDocument(policy()))
	} else {
		p.add(plan.Unchanged(ResRolePolicy, name+"/"+policyName))
	}
	return nil
}

// decodePolicy undoes IAM's URL encoding of policy documents.
func decodePolicy(s string) string {
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		if d, err := url.QueryUnescape(s); err == nil {
			return d
		}
	}
	return s
}

func (p *planner) roleARN(name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", p.a.partition, p.a.account, name)
}

func (p *planner) projects(ctx context.Context) error {
	if p.deps.CodeBuild == nil {
		return errors.New("plan the CodeBuild projects: no CodeBuild client")
	}
	bs := Buildspec(p.n.buildspecSpec(p.o.Cluster, p.o.Service, p.o.Container, p.o.Dockerfile))
	p.doc("buildspec of "+p.n.BuildProject, bs)
	want := []projectSpec{{name: p.n.BuildProject, buildspec: bs, privileged: true, description: "opsctl pipeline " + p.n.Pipeline + ": Docker build and push to ECR"}}
	if len(p.o.TestBranches) > 0 {
		ts := TestBuildspec(TestBuildspecSpec{Cluster: p.o.Cluster, Service: p.o.Service, Command: p.o.TestCommand})
		p.doc("buildspec of "+p.n.testProject(), ts)
		want = append(want, projectSpec{name: p.n.testProject(), buildspec: ts, description: "opsctl pipeline " + p.n.Pipeline + ": integration tests"})
	}
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.name
	}
	out, err := p.deps.CodeBuild.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: names})
	if err != nil {
		return fmt.Errorf("read CodeBuild projects %s: %w", strings.Join(names, ", "), err)
	}
	live := map[string]cbtypes.Project{}
	for _, pr := range out.Projects {
		live[aws.ToString(pr.Name)] = pr
	}
	for _, w := range want {
		w := w
		env, src, arts, logs := p.projectShape(w)
		cur, ok := live[w.name]
		if !ok {
			p.add(plan.New(ResProject, w.name, plan.ActionCreate, []plan.FieldDiff{{Field: "image", Old: "(none)", New: BuildImage},
				{Field: "privileged", Old: "(none)", New: fmt.Sprint(w.privileged)}}, func(ctx context.Context) error {
				var tags []cbtypes.Tag
				for _, k := range sortedKeys(managedTags()) {
					tags = append(tags, cbtypes.Tag{Key: aws.String(k), Value: aws.String(managedTags()[k])})
				}
				_, err := p.deps.CodeBuild.CreateProject(ctx, &codebuild.CreateProjectInput{Name: aws.String(w.name), Description: aws.String(w.description),
					Source: src, Artifacts: arts, Environment: env, ServiceRole: aws.String(p.roleARN(p.n.BuildRole)), LogsConfig: logs,
					TimeoutInMinutes: aws.Int32(60), Tags: tags})
				return wrap(err, "create CodeBuild project %s", w.name)
			}).WithDocument(w.buildspec))
			continue
		}
		var d plan.Differ
		d.Str("buildspec", aws.ToString(sourceOf(cur).Buildspec), w.buildspec)
		d.Str("image", aws.ToString(envOf(cur).Image), BuildImage)
		d.Bool("privileged", aws.ToBool(envOf(cur).PrivilegedMode), w.privileged)
		d.Str("compute type", string(envOf(cur).ComputeType), string(env.ComputeType))
		d.Str("service role", aws.ToString(cur.ServiceRole), p.roleARN(p.n.BuildRole))
		d.Str("source type", string(sourceOf(cur).Type), string(src.Type))
		if len(d) == 0 {
			p.add(plan.Unchanged(ResProject, w.name))
			continue
		}
		for i := range d {
			if d[i].Field == "buildspec" {
				d[i].Old, d[i].New = "differs", "generated (see --dry-run)"
			}
		}
		p.add(plan.Update(ResProject, w.name, d, func(ctx context.Context) error {
			_, err := p.deps.CodeBuild.UpdateProject(ctx, &codebuild.UpdateProjectInput{Name: aws.String(w.name), Description: aws.String(w.description),
				Source: src, Artifacts: arts, Environment: env, ServiceRole: aws.String(p.roleARN(p.n.BuildRole)), LogsConfig: logs})
			return wrap(err, "update CodeBuild project %s", w.name)
		}).WithDocument(w.buildspec))
	}
	return nil
}

type projectSpec struct {
	name, buildspec, description string
	privileged                   bool
}

func (p *planner) projectShape(w projectSpec) (*cbtypes.ProjectEnvironment, *cbtypes.ProjectSource, *cbtypes.ProjectArtifacts, *cbtypes.LogsConfig) {
	return &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String(BuildImage),
			ComputeType: cbtypes.ComputeTypeBuildGeneral1Small, PrivilegedMode: aws.Bool(w.privileged), ImagePullCredentialsType: cbtypes.ImagePullCredentialsTypeCodebuild},
		&cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline, Buildspec: aws.String(w.buildspec)},
		&cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline},
		&cbtypes.LogsConfig{CloudWatchLogs: &cbtypes.CloudWatchLogsConfig{Status: cbtypes.LogsConfigStatusTypeEnabled, GroupName: aws.String("/aws/codebuild/" + w.name)}}
}

func sourceOf(p cbtypes.Project) cbtypes.ProjectSource {
	if p.Source == nil {
		return cbtypes.ProjectSource{}
	}
	return *p.Source
}

func envOf(p cbtypes.Project) cbtypes.ProjectEnvironment {
	if p.Environment == nil {
		return cbtypes.ProjectEnvironment{}
	}
	return *p.Environment
}

// Declaration is the pipeline opsctl wants.
func (p *planner) declaration() *cptypes.PipelineDeclaration {
	str := aws.String
	src := cptypes.ActionDeclaration{Name: str("Source"), RunOrder: aws.Int32(1), Namespace: str(SourceNamespace),
		OutputArtifacts: []cptypes.OutputArtifact{{Name: str("SourceOutput")}}}
	switch p.o.Repo.Kind {
	case SourceS3:
		src.ActionTypeId = &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: str("S3"), Version: str("1")}
		src.Configuration = map[string]string{"S3Bucket": p.o.Repo.Bucket, "S3ObjectKey": p.o.Repo.Key, "PollForSourceChanges": "true"}
	case SourceCodeCommit:
		src.ActionTypeId = &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: str("CodeCommit"), Version: str("1")}
		src.Configuration = map[string]string{"RepositoryName": p.o.Repo.ID, "BranchName": p.o.Branch, "PollForSourceChanges": "true"}
	default:
		conn := p.res.ConnectionARN
		if conn == "" {
			conn = p.a.arn("codeconnections", "connection/(created-by-this-run)")
		}
		src.ActionTypeId = &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: str("CodeStarSourceConnection"), Version: str("1")}
		src.Configuration = map[string]string{"ConnectionArn": conn, "FullRepositoryId": p.o.Repo.ID, "BranchName": p.o.Branch, "OutputArtifactFormat": "CODE_ZIP"}
	}
	deploy := func(name string) cptypes.ActionDeclaration {
		return cptypes.ActionDeclaration{Name: str(name), RunOrder: aws.Int32(1),
			ActionTypeId:   &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerAws, Provider: str("ECS"), Version: str("1")},
			Configuration:  map[string]string{"ClusterName": p.o.Cluster, "ServiceName": p.o.Service, "FileName": ImageDefinitionsFile},
			InputArtifacts: []cptypes.InputArtifact{{Name: str("BuildOutput")}}}
	}
	decl := &cptypes.PipelineDeclaration{
		Name: str(p.n.Pipeline), RoleArn: str(p.roleARN(p.n.PipelineRole)), PipelineType: cptypes.PipelineTypeV2, ExecutionMode: cptypes.ExecutionModeQueued,
		ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: str(p.n.Bucket)},
		Stages: []cptypes.StageDeclaration{
			{Name: str(StageSource), Actions: []cptypes.ActionDeclaration{src}},
			{Name: str(StageBuild), Actions: []cptypes.ActionDeclaration{{Name: str("Build"), RunOrder: aws.Int32(1),
				ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategoryBuild, Owner: cptypes.ActionOwnerAws, Provider: str("CodeBuild"), Version: str("1")},
				Configuration:   map[string]string{"ProjectName": p.n.BuildProject},
				InputArtifacts:  []cptypes.InputArtifact{{Name: str("SourceOutput")}},
				OutputArtifacts: []cptypes.OutputArtifact{{Name: str("BuildOutput")}}}}},
			{Name: str(StageDeploy), Actions: []cptypes.ActionDeclaration{deploy("Deploy")},
				OnFailure: &cptypes.FailureConditions{Result: cptypes.ResultRollback}},
		},
	}
	if len(p.o.TestBranches) > 0 {
		// The Test stage runs only for the test branches: its entry
		// condition checks the source branch and skips the stage otherwise.
		// It deploys the image again and then tests it, so that its
		// automatic rollback on failure (stage rollback re-runs the stage
		// with the last execution that succeeded in it) puts the last
		// tested image back on the service.
		decl.Stages = append(decl.Stages, cptypes.StageDeclaration{Name: str(StageTest),
			BeforeEntry: &cptypes.BeforeEntryConditions{Conditions: []cptypes.Condition{{Result: cptypes.ResultSkip, Rules: []cptypes.RuleDeclaration{{
				Name:       str("OnTestBranch"),
				RuleTypeId: &cptypes.RuleTypeId{Category: cptypes.RuleCategoryRule, Owner: cptypes.RuleOwnerAws, Provider: str("VariableCheck"), Version: str("1")},
				Configuration: map[string]string{"Variable": "#{" + SourceNamespace + ".BranchName}", "Operator": "MATCHES",
					"Value": GlobRegexp(p.o.TestBranches)},
			}}}}},
			OnFailure: &cptypes.FailureConditions{Result: cptypes.ResultRollback},
			Actions: []cptypes.ActionDeclaration{deploy("DeployForTest"), {Name: str("IntegrationTest"), RunOrder: aws.Int32(2),
				ActionTypeId:   &cptypes.ActionTypeId{Category: cptypes.ActionCategoryTest, Owner: cptypes.ActionOwnerAws, Provider: str("CodeBuild"), Version: str("1")},
				Configuration:  map[string]string{"ProjectName": p.n.testProject(), "EnvironmentVariables": testEnvironment()},
				InputArtifacts: []cptypes.InputArtifact{{Name: str("SourceOutput")}}}},
		})
	}
	if p.o.Repo.Connection() {
		decl.Triggers = []cptypes.PipelineTriggerDeclaration{{ProviderType: cptypes.PipelineTriggerProviderTypeCodeStarSourceConnection,
			GitConfiguration: &cptypes.GitConfiguration{SourceActionName: str("Source"),
				Push: []cptypes.GitPushFilter{{Branches: &cptypes.GitBranchFilterCriteria{Includes: p.o.TriggerBranches}}}}}}
	}
	return decl
}

// testEnvironment passes the source revision to the tests
// (action-reference-CodeBuild: EnvironmentVariables, a JSON array of
// {name, value, type}; the values are the source action's output
// variables, action-reference-CodestarConnectionSource and -CodeCommit:
// BranchName, CommitId, CommitMessage).
func testEnvironment() string {
	vars := []map[string]string{}
	for _, v := range [][2]string{{"SOURCE_BRANCH", "BranchName"}, {"SOURCE_COMMIT", "CommitId"}, {"SOURCE_MESSAGE", "CommitMessage"}} {
		vars = append(vars, map[string]string{"name": v[0], "value": "#{" + SourceNamespace + "." + v[1] + "}", "type": "PLAINTEXT"})
	}
	b, _ := json.Marshal(vars)
	return string(b)
}

// comparable renders the parts of a declaration opsctl sets as canonical
// JSON (version and metadata excluded).
func comparable(d *cptypes.PipelineDeclaration) string {
	c := *d
	c.Version = nil
	b, _ := json.Marshal(struct {
		Name, RoleArn *string
		Type, Mode    string
		Store         *cptypes.ArtifactStore
		Stages        []cptypes.StageDeclaration
		Triggers      []cptypes.PipelineTriggerDeclaration
	}{c.Name, c.RoleArn, string(c.PipelineType), string(c.ExecutionMode), c.ArtifactStore, c.Stages, c.Triggers})
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.Marshal(prune(v))
	return string(b)
}

// prune drops nulls, empty lists and empty objects: the service answers
// "inputArtifacts": [] where the request left the member out.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = prune(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, prune(e))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}

func (p *planner) pipeline(ctx context.Context) error {
	if p.deps.Pipeline == nil {
		return errors.New("plan the pipeline: no CodePipeline client")
	}
	want := p.declaration()
	wantDoc, _ := json.MarshalIndent(want, "", "  ")
	p.doc("pipeline "+p.n.Pipeline, string(wantDoc))
	out, err := p.deps.Pipeline.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(p.n.Pipeline)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read pipeline %s: %w", p.n.Pipeline, err)
	}
	if err != nil {
		p.add(plan.New(ResPipeline, p.n.Pipeline, plan.ActionCreate, p.pipelineSummary(), func(ctx context.Context) error {
			var tags []cptypes.Tag
			for _, k := range sortedKeys(managedTags()) {
				tags = append(tags, cptypes.Tag{Key: aws.String(k), Value: aws.String(managedTags()[k])})
			}
			_, err := p.deps.Pipeline.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: p.declaration(), Tags: tags})
			return wrap(err, "create pipeline %s", p.n.Pipeline)
		}).WithDocument(string(wantDoc)))
		return nil
	}
	live := out.Pipeline
	if comparable(live) == comparable(want) {
		p.add(plan.Unchanged(ResPipeline, p.n.Pipeline))
		return nil
	}
	p.add(plan.Update(ResPipeline, p.n.Pipeline, diffPipelines(live, want), func(ctx context.Context) error {
		d := p.declaration()
		d.Version = live.Version
		_, err := p.deps.Pipeline.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: d})
		return wrap(err, "update pipeline %s", p.n.Pipeline)
	}).WithDocument(string(wantDoc)))
	return nil
}

func (p *planner) pipelineSummary() []plan.FieldDiff {
	stages := []string{StageSource, StageBuild, StageDeploy}
	if len(p.o.TestBranches) > 0 {
		stages = append(stages, StageTest+" (on "+strings.Join(p.o.TestBranches, ", ")+")")
	}
	d := []plan.FieldDiff{{Field: "stages", Old: "(none)", New: strings.Join(stages, " → ")}, {Field: "execution mode", Old: "(none)", New: "QUEUED"}}
	if len(p.o.TriggerBranches) > 0 {
		d = append(d, plan.FieldDiff{Field: "push triggers", Old: "(none)", New: strings.Join(p.o.TriggerBranches, ", ")})
	}
	return d
}

// diffPipelines names what differs, field by field, in the parts opsctl sets.
func diffPipelines(live, want *cptypes.PipelineDeclaration) []plan.FieldDiff {
	var d plan.Differ
	d.Str("role", aws.ToString(live.RoleArn), aws.ToString(want.RoleArn))
	d.Str("execution mode", string(live.ExecutionMode), string(want.ExecutionMode))
	d.Str("type", string(live.PipelineType), string(want.PipelineType))
	stageNames := func(x *cptypes.PipelineDeclaration) []string {
		var out []string
		for _, s := range x.Stages {
			out = append(out, aws.ToString(s.Name))
		}
		return out
	}
	d.Str("stages", strings.Join(stageNames(live), " → "), strings.Join(stageNames(want), " → "))
	d.Str("push triggers", strings.Join(triggerBranches(live), ", "), strings.Join(triggerBranches(want), ", "))
	d.Str("source", sourceSummary(live), sourceSummary(want))
	if len(d) == 0 {
		lj, _ := json.Marshal(live.Stages)
		wj, _ := json.Marshal(want.Stages)
		d = append(d, plan.FieldDiff{Field: "stage settings", Old: fmt.Sprintf("%d bytes", len(lj)), New: fmt.Sprintf("%d bytes", len(wj))})
	}
	return d
}

func triggerBranches(x *cptypes.PipelineDeclaration) []string {
	var out []string
	for _, t := range x.Triggers {
		if t.GitConfiguration == nil {
			continue
		}
		for _, f := range t.GitConfiguration.Push {
			if f.Branches != nil {
				out = append(out, f.Branches.Includes...)
			}
		}
	}
	return out
}

func sourceSummary(x *cptypes.PipelineDeclaration) string {
	if len(x.Stages) == 0 || len(x.Stages[0].Actions) == 0 {
		return ""
	}
	c := x.Stages[0].Actions[0].Configuration
	return strings.TrimSpace(c["FullRepositoryId"] + c["RepositoryName"] + c["S3Bucket"] + " " + c["BranchName"] + c["S3ObjectKey"])
}
