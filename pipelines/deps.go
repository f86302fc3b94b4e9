package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// S3API is the part of S3 the package calls (the artifact bucket).
type S3API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
}

// ECRAPI is the part of ECR the package calls.
type ECRAPI interface {
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	GetLifecyclePolicy(ctx context.Context, in *ecr.GetLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.GetLifecyclePolicyOutput, error)
	PutLifecyclePolicy(ctx context.Context, in *ecr.PutLifecyclePolicyInput, optFns ...func(*ecr.Options)) (*ecr.PutLifecyclePolicyOutput, error)
	PutImageScanningConfiguration(ctx context.Context, in *ecr.PutImageScanningConfigurationInput, optFns ...func(*ecr.Options)) (*ecr.PutImageScanningConfigurationOutput, error)
	PutImageTagMutability(ctx context.Context, in *ecr.PutImageTagMutabilityInput, optFns ...func(*ecr.Options)) (*ecr.PutImageTagMutabilityOutput, error)
}

// ConnectionsAPI is the part of CodeConnections the package calls.
type ConnectionsAPI interface {
	ListConnections(ctx context.Context, in *codeconnections.ListConnectionsInput, optFns ...func(*codeconnections.Options)) (*codeconnections.ListConnectionsOutput, error)
	CreateConnection(ctx context.Context, in *codeconnections.CreateConnectionInput, optFns ...func(*codeconnections.Options)) (*codeconnections.CreateConnectionOutput, error)
	GetConnection(ctx context.Context, in *codeconnections.GetConnectionInput, optFns ...func(*codeconnections.Options)) (*codeconnections.GetConnectionOutput, error)
	DeleteConnection(ctx context.Context, in *codeconnections.DeleteConnectionInput, optFns ...func(*codeconnections.Options)) (*codeconnections.DeleteConnectionOutput, error)
	ListTagsForResource(ctx context.Context, in *codeconnections.ListTagsForResourceInput, optFns ...func(*codeconnections.Options)) (*codeconnections.ListTagsForResourceOutput, error)
}

// CodeBuildAPI is the part of CodeBuild the package calls.
type CodeBuildAPI interface {
	BatchGetProjects(ctx context.Context, in *codebuild.BatchGetProjectsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetProjectsOutput, error)
	CreateProject(ctx context.Context, in *codebuild.CreateProjectInput, optFns ...func(*codebuild.Options)) (*codebuild.CreateProjectOutput, error)
	UpdateProject(ctx context.Context, in *codebuild.UpdateProjectInput, optFns ...func(*codebuild.Options)) (*codebuild.UpdateProjectOutput, error)
	DeleteProject(ctx context.Context, in *codebuild.DeleteProjectInput, optFns ...func(*codebuild.Options)) (*codebuild.DeleteProjectOutput, error)
	BatchGetBuilds(ctx context.Context, in *codebuild.BatchGetBuildsInput, optFns ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error)
}

// CodePipelineAPI is the part of CodePipeline the package calls.
type CodePipelineAPI interface {
	GetPipeline(ctx context.Context, in *codepipeline.GetPipelineInput, optFns ...func(*codepipeline.Options)) (*codepipeline.GetPipelineOutput, error)
	CreatePipeline(ctx context.Context, in *codepipeline.CreatePipelineInput, optFns ...func(*codepipeline.Options)) (*codepipeline.CreatePipelineOutput, error)
	UpdatePipeline(ctx context.Context, in *codepipeline.UpdatePipelineInput, optFns ...func(*codepipeline.Options)) (*codepipeline.UpdatePipelineOutput, error)
	DeletePipeline(ctx context.Context, in *codepipeline.DeletePipelineInput, optFns ...func(*codepipeline.Options)) (*codepipeline.DeletePipelineOutput, error)
	GetPipelineState(ctx context.Context, in *codepipeline.GetPipelineStateInput, optFns ...func(*codepipeline.Options)) (*codepipeline.GetPipelineStateOutput, error)
	ListPipelineExecutions(ctx context.Context, in *codepipeline.ListPipelineExecutionsInput, optFns ...func(*codepipeline.Options)) (*codepipeline.ListPipelineExecutionsOutput, error)
	ListActionExecutions(ctx context.Context, in *codepipeline.ListActionExecutionsInput, optFns ...func(*codepipeline.Options)) (*codepipeline.ListActionExecutionsOutput, error)
	StartPipelineExecution(ctx context.Context, in *codepipeline.StartPipelineExecutionInput, optFns ...func(*codepipeline.Options)) (*codepipeline.StartPipelineExecutionOutput, error)
}

// IAMAPI is the part of IAM the package calls (the three service roles).
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
}

// EventsAPI is the part of EventBridge the package calls.
type EventsAPI interface {
	DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	PutRule(ctx context.Context, in *eventbridge.PutRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error)
	ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
	PutTargets(ctx context.Context, in *eventbridge.PutTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error)
	RemoveTargets(ctx context.Context, in *eventbridge.RemoveTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error)
	DeleteRule(ctx context.Context, in *eventbridge.DeleteRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error)
}

// ECSAPI is the part of ECS the package reads (the container-name check).
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// LogsAPI is the part of CloudWatch Logs the package reads (build logs).
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// STSAPI gives the account the ARNs name.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Deps are the clients and hooks a pipeline command uses. A nil client is
// one the command does not call.
type Deps struct {
	S3          S3API
	ECR         ECRAPI
	Connections ConnectionsAPI
	CodeBuild   CodeBuildAPI
	Pipeline    CodePipelineAPI
	IAM         IAMAPI
	Events      EventsAPI
	ECS         ECSAPI
	Logs        LogsAPI
	STS         STSAPI
	// Alarms are the alarms package's clients: the SNS topic failures go to.
	Alarms alarms.Deps

	// Region and Partition name ARNs; Account is looked up through STS when empty.
	Region, Account, Partition string

	Clock    clock.Clock
	Log      *slog.Logger
	OnChange func(plan.Change)
	OnTick   func(wait.Tick)
}

func (d Deps) clock() clock.Clock { return clock.Or(d.Clock) }

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d Deps) partition() string {
	if d.Partition != "" {
		return d.Partition
	}
	switch {
	case strings.HasPrefix(d.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(d.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// account returns the caller's account, asking STS once.
func (d *Deps) account(ctx context.Context) (string, error) {
	if d.Account != "" {
		return d.Account, nil
	}
	if d.STS == nil {
		return "", fmt.Errorf("look up the AWS account: no STS client")
	}
	out, err := d.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("look up the AWS account: %w", err)
	}
	d.Account = aws.ToString(out.Account)
	return d.Account, nil
}

// Names opsctl gives a pipeline's resources.
type Names struct {
	Pipeline        string `json:"pipeline"`
	Bucket          string `json:"artifact_bucket"`
	Repository      string `json:"ecr_repository"`
	RepositoryURI   string `json:"image_repository_uri"`
	Connection      string `json:"connection,omitempty"`
	BuildProject    string `json:"build_project"`
	TestProject     string `json:"test_project,omitempty"`
	PipelineRole    string `json:"pipeline_role"`
	BuildRole       string `json:"build_role"`
	EventsRole      string `json:"events_role,omitempty"`
	Rule            string `json:"event_rule,omitempty"`
	BuildLogGroup   string `json:"build_log_group"`
	ConsoleURL      string `json:"console_url"`
	region, account string
}

// NamesOf derives every resource name from the pipeline name.
func NamesOf(name, region, account string) Names {
	n := Names{
		Pipeline:      name,
		Bucket:        BucketName(name, account, region),
		Repository:    name,
		BuildProject:  name + "-build",
		PipelineRole:  "opsctl-pipeline-" + name,
		BuildRole:     "opsctl-pipeline-" + name + "-build",
		EventsRole:    "opsctl-pipeline-" + name + "-events",
		Rule:          "opsctl-pipeline-" + name + "-failed",
		BuildLogGroup: "/aws/codebuild/" + name + "-build",
		region:        region, account: account,
	}
	n.RepositoryURI = fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", account, region, dnsSuffix(region), name)
	n.ConsoleURL = fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codepipeline/pipelines/%s/view?region=%s", region, name, region)
	return n
}

// BucketName is the artifact bucket: opsctl-pipeline-NAME-HASH, HASH being
// 8 hex digits of the account and region, so that the name is unique to
// them and fits S3's 63 characters with a 30-character pipeline name.
func BucketName(name, account, region string) string {
	h := sha256.Sum256([]byte(account + "/" + region))
	return fmt.Sprintf("opsctl-pipeline-%s-%s", name, hex.EncodeToString(h[:4]))
}

func dnsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}
