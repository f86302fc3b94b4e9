package deploy

// `opsctl deploy service create|update`: an ECS service on the cluster's
// capacity, through plan → diff → apply.
//
// What a service is made of, in the order the plan applies it:
//   - the log group /ecs/CLUSTER/NAME with a retention (so `opsctl alarm add`
//     and --alarm-email can watch it);
//   - the execution role opsctl-CLUSTER-NAME-exec: trusted by
//     ecs-tasks.amazonaws.com only for this account's ECS resources in this
//     region (aws:SourceAccount and aws:SourceArn, the confused-deputy
//     conditions of the ECS developer guide), allowed to pull the one ECR
//     repository, write its log group and read only the named secrets;
//   - a task definition revision (family CLUSTER-NAME), registered only when
//     what opsctl manages differs from the revision the service runs:
//     awsvpc, awslogs, stopTimeout 110 s (spot gives 120 s notice);
//   - the service: the cluster's capacity provider strategy (or the
//     on-demand strategy while spot fallback is on, see spot.go), rolling
//     updates with minimum healthy 100% and maximum 200%, the deployment
//     circuit breaker with rollback, deployment alarms with --alarm-email,
//     awsvpc networking in the cluster's subnets and security group;
//   - Application Auto Scaling: the scalable target (--min/--max) and target
//     tracking on average CPU (and memory) utilization.
//
// Before any write it checks what can be checked: the cluster (created by
// opsctl), the ECR image (tag or digest), the secrets, and on update that the
// container is in the running task definition.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// Tags on a service that record spot fallback (see spot.go).
const (
	TagService       = "opsctl:service"
	TagSpotFallback  = "opsctl:spot-fallback" // RFC 3339 time the service moved to on-demand
	TagSpotUnplaced  = "opsctl:spot-unplaced" // RFC 3339 time spot placement failures were first seen
	TagSpotProbe     = "opsctl:spot-probe"    // ARN of the probe task checking spot again
	TagSpotProbeTime = "opsctl:spot-probe-at" // RFC 3339 time the probe started
)

// ServicePolicies are the documents a service plan writes (--dry-run shows them).
type ServicePolicies struct {
	ExecutionTrust       string `json:"execution_trust"`
	ExecutionPermissions string `json:"execution_permissions"`
	TaskDefinition       string `json:"task_definition"`
}

// Scaling is a service's Application Auto Scaling setup.
type Scaling struct {
	Min          int     `json:"min"`
	Max          int     `json:"max"`
	CPUTarget    float64 `json:"cpu_target"`
	MemoryTarget float64 `json:"memory_target,omitempty"`
}

// ServiceResult is what service create/update (or diff) did or would do.
type ServiceResult struct {
	Cluster        string          `json:"cluster"`
	Service        string          `json:"service"`
	Image          string          `json:"image"`
	Container      string          `json:"container"`
	TaskDefinition string          `json:"task_definition"`
	LogGroup       string          `json:"log_group"`
	ExecutionRole  string          `json:"execution_role"`
	Strategy       []StrategyItem  `json:"capacity_provider_strategy"`
	SpotFallback   bool            `json:"spot_fallback"`
	SpotCheck      string          `json:"spot_check,omitempty"` // what the spot check before the update saw or did
	Scaling        *Scaling        `json:"auto_scaling,omitempty"`
	Alarm          string          `json:"alarm,omitempty"`
	DryRun         bool            `json:"dry_run"`
	Changes        []plan.Change   `json:"changes"`
	Counts         plan.Counts     `json:"counts"`
	Policies       ServicePolicies `json:"policies"`
	// LoadBalancer is set for a --public service (lb.go).
	LoadBalancer *LoadBalancerInfo `json:"load_balancer,omitempty"`
}

// clusterInfo is what a service takes from its opsctl cluster.
type clusterInfo struct {
	name, arn, mode string
	subnets         []string
	securityGroup   string
	strategy        []ecstypes.CapacityProviderStrategyItem
}

func readCluster(ctx context.Context, d Deps, name string) (clusterInfo, error) {
	out, err := d.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil {
		return clusterInfo{}, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	for _, c := range out.Clusters {
		if aws.ToString(c.Status) != "ACTIVE" {
			continue
		}
		tags := map[string]string{}
		for _, t := range c.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if tags[TagCluster] != name {
			return clusterInfo{}, fmt.Errorf("cluster %s was not created by opsctl (no tag %s=%s): create it with `opsctl deploy cluster create %s`", name, TagCluster, name, name)
		}
		ci := clusterInfo{name: name, arn: aws.ToString(c.ClusterArn), mode: tags[TagMode], securityGroup: tags[TagSecurityGroup],
			subnets: splitComma(tags[TagSubnets]), strategy: c.DefaultCapacityProviderStrategy}
		if len(ci.subnets) == 0 || ci.securityGroup == "" {
			return ci, fmt.Errorf("cluster %s has no subnets or security group recorded (tags %s, %s): re-run `opsctl deploy cluster create %s`", name, TagSubnets, TagSecurityGroup, name)
		}
		if len(ci.strategy) == 0 {
			return ci, fmt.Errorf("cluster %s has no default capacity provider strategy: re-run `opsctl deploy cluster create %s`", name, name)
		}
		return ci, nil
	}
	return clusterInfo{}, fmt.Errorf("cluster %s not found in %s: create it with `opsctl deploy cluster create %s`", name, d.Region, name)
}

// splitComma splits the cluster's subnets tag (space-separated: ECS tag
// values allow no commas; commas accepted too).
func splitComma(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// isSpotProvider: FARGATE_SPOT, or an Auto Scaling group provider of spot
// instances (opsctl names them opsctl-CLUSTER-spot).
func isSpotProvider(name string) bool {
	return name == "FARGATE_SPOT" || strings.Contains(strings.ToLower(name), "spot")
}

// onDemandStrategy is strategy without its spot providers: the on-demand
// provider keeps its base and takes every further task.
func onDemandStrategy(strategy []ecstypes.CapacityProviderStrategyItem) []ecstypes.CapacityProviderStrategyItem {
	var out []ecstypes.CapacityProviderStrategyItem
	for _, it := range strategy {
		if isSpotProvider(aws.ToString(it.CapacityProvider)) {
			continue
		}
		it.Weight = 1
		out = append(out, it)
	}
	return out
}

func usesSpot(strategy []ecstypes.CapacityProviderStrategyItem) bool {
	for _, it := range strategy {
		if isSpotProvider(aws.ToString(it.CapacityProvider)) && it.Weight > 0 {
			return true
		}
	}
	return false
}

func toItems(s []ecstypes.CapacityProviderStrategyItem) []StrategyItem {
	out := []StrategyItem{}
	for _, it := range s {
		out = append(out, StrategyItem{Provider: aws.ToString(it.CapacityProvider), Base: it.Base, Weight: it.Weight})
	}
	return out
}

// liveService finds an ACTIVE service (nil if none).
func liveService(ctx context.Context, d Deps, cluster, name string) (*ecstypes.Service, error) {
	out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", name, err)
	}
	for i, s := range out.Services {
		if aws.ToString(s.Status) == "ACTIVE" {
			return &out.Services[i], nil
		}
	}
	return nil, nil
}

func serviceTags(s *ecstypes.Service) map[string]string {
	m := map[string]string{}
	if s != nil {
		for _, t := range s.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return m
}

// CreateService makes a service exist as o says (converging an existing one).
func CreateService(ctx context.Context, d Deps, o ServiceOptions) (ServiceResult, error) {
	o.Update = false
	return applyService(ctx, d, o)
}

// UpdateService changes an existing service to what o says.
func UpdateService(ctx context.Context, d Deps, o ServiceOptions) (ServiceResult, error) {
	o.Update = true
	return applyService(ctx, d, o)
}

// DiffService shows what UpdateService would change, field by field, and
// writes nothing.
func DiffService(ctx context.Context, d Deps, o ServiceOptions) (ServiceResult, error) {
	o.Update, o.DryRun = true, true
	return applyService(ctx, d, o)
}

type serviceBuilder struct {
	d       Deps
	o       ServiceOptions
	img     ImageRef
	account string
	cl      clusterInfo
	live    *ecstypes.Service
	liveTD  *ecstypes.TaskDefinition
	res     *ServiceResult
	tdArn   string   // the revision the service should run (known, or set by its register step)
	lb      *lbState // --public: the load balancer's side (lb.go)
	// spotFallbackNow: this run's spot check moved the service to on-demand.
	spotFallbackNow bool
}

func (b *serviceBuilder) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", b.d.partition(), service, b.d.Region, b.account, resource)
}

func (b *serviceBuilder) roleArn() string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", b.d.partition(), b.account, executionRoleName(b.o.Cluster, b.o.Name))
}

func applyService(ctx context.Context, d Deps, o ServiceOptions) (ServiceResult, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return ServiceResult{}, err
	}
	if err := o.LB.ValidateFor(d.partition(), d.Region); err != nil {
		return ServiceResult{}, err
	}
	img, _ := ParseImage(o.Image)
	res := ServiceResult{Cluster: o.Cluster, Service: o.Name, Image: o.Image, Container: o.Container, DryRun: o.DryRun,
		LogGroup: logGroupName(o.Cluster, o.Name), ExecutionRole: executionRoleName(o.Cluster, o.Name), Changes: []plan.Change{}}
	if o.Max > 0 {
		res.Scaling = &Scaling{Min: o.Min, Max: o.Max, CPUTarget: o.CPUTarget, MemoryTarget: o.MemoryTarget}
	}
	account, err := d.account(ctx)
	if err != nil {
		return res, err
	}
	b := &serviceBuilder{d: d, o: o, img: img, account: account, res: &res}
	if b.cl, err = readCluster(ctx, d, o.Cluster); err != nil {
		return res, err
	}
	if b.live, err = liveService(ctx, d, o.Cluster, o.Name); err != nil {
		return res, err
	}
	if o.Update && b.live == nil {
		return res, fmt.Errorf("service %s not found in cluster %s: create it with `opsctl deploy service create %s --cluster %s …`", o.Name, o.Cluster, o.Name, o.Cluster)
	}
	if err := b.preflight(ctx); err != nil {
		return res, err
	}
	if err := b.spotCheck(ctx); err != nil {
		return res, fmt.Errorf("service %s: spot fallback: %w", o.Name, err)
	}
	steps, err := b.plan(ctx)
	if err != nil {
		return res, err
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: o.DryRun, OnChange: d.OnChange, Log: d.log()})
	res.Changes = append(res.Changes, changes...)
	res.Counts = plan.Count(res.Changes)
	if b.tdArn != "" {
		res.TaskDefinition = b.tdArn
	}
	if err == nil && o.AlarmEmail != "" {
		ach, aerr := b.alarm(ctx)
		res.Changes = append(res.Changes, ach...)
		res.Counts = plan.Count(res.Changes)
		err = aerr
	}
	if err != nil {
		if plan.Partial(res.Changes) {
			return res, opserr.Partialf("service %s: %v (re-run to finish)", o.Name, err)
		}
		return res, fmt.Errorf("service %s: %w", o.Name, err)
	}
	return res, nil
}

// ---- checks before any write ----

func (b *serviceBuilder) preflight(ctx context.Context) error {
	// The ECR image, by tag or digest: fail now, not after a 10-minute wait
	// for CannotPullContainerError.
	if b.img.ECRAccount != "" {
		if b.img.ECRAccount != b.account || b.img.ECRRegion != b.d.Region {
			b.d.log().Warn("the image is in another account or region: not checked", "image", b.o.Image)
		} else {
			id := ecrtypes.ImageIdentifier{}
			if b.img.Digest != "" {
				id.ImageDigest = aws.String(b.img.Digest)
			} else {
				id.ImageTag = aws.String(b.img.Tag)
			}
			_, err := b.d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(b.img.Repository), ImageIds: []ecrtypes.ImageIdentifier{id}})
			switch awsx.ErrorCode(err) {
			case "":
			case "ImageNotFoundException":
				return fmt.Errorf("image %s does not exist: %s (push it first)", b.o.Image, apiMessage(err))
			case "RepositoryNotFoundException":
				return fmt.Errorf("image %s: ECR repository %s does not exist", b.o.Image, b.img.Repository)
			default:
				return fmt.Errorf("check image %s: %w", b.o.Image, err)
			}
		}
	}
	// Secrets: every SSM parameter and Secrets Manager secret must exist.
	var params []string
	for _, s := range b.o.Secrets {
		if s.Kind == "ssm" {
			params = append(params, s.Ref)
			continue
		}
		if _, err := b.d.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.Ref)}); err != nil {
			if awsx.ErrorCode(err) == "ResourceNotFoundException" {
				return fmt.Errorf("--secret %s: secret %s does not exist", s.Name, s.Ref)
			}
			return fmt.Errorf("check secret %s: %w", s.Ref, err)
		}
	}
	if len(params) > 0 && b.d.SSM == nil {
		return missingClient("SSM", "checking the SSM parameters named by --secret")
	}
	for i := 0; i < len(params); i += 10 { // GetParameters takes at most 10 names
		chunk := params[i:min(i+10, len(params))]
		out, err := b.d.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk})
		if err != nil {
			return fmt.Errorf("check SSM parameters %s: %w", strings.Join(chunk, ", "), err)
		}
		if len(out.InvalidParameters) > 0 {
			return fmt.Errorf("--secret: SSM parameter %s does not exist", strings.Join(out.InvalidParameters, ", "))
		}
	}
	// The task definition the service runs: its container must be the one
	// we deploy to.
	if b.live != nil {
		out, err := b.d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: b.live.TaskDefinition})
		if err != nil {
			return fmt.Errorf("describe task definition %s: %w", aws.ToString(b.live.TaskDefinition), err)
		}
		b.liveTD = out.TaskDefinition
		var names []string
		found := false
		for _, c := range b.liveTD.ContainerDefinitions {
			names = append(names, aws.ToString(c.Name))
			found = found || aws.ToString(c.Name) == b.o.Container
		}
		if !found {
			return fmt.Errorf("container %s is not in task definition %s (containers: %s): pass --container", b.o.Container, shortTD(aws.ToString(b.live.TaskDefinition)), strings.Join(names, ", "))
		}
	} else {
		// A revision left by an earlier, interrupted run is reused when it
		// already is what we want.
		out, err := b.d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(familyName(b.o.Cluster, b.o.Name))})
		switch {
		case err == nil:
			b.liveTD = out.TaskDefinition
		case awsx.ErrorCode(err) == "ClientException":
		default:
			return fmt.Errorf("describe task definition family %s: %w", familyName(b.o.Cluster, b.o.Name), err)
		}
	}
	return nil
}

// shortTD is family:revision from a task definition ARN.
func shortTD(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// ---- the plan ----

func (b *serviceBuilder) plan(ctx context.Context) ([]plan.Step, error) {
	var steps []plan.Step
	for _, f := range []func(context.Context) ([]plan.Step, error){b.logGroup, b.executionRole, b.taskDefinition, b.loadBalancer, b.service, b.scaling} {
		s, err := f(ctx)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	return steps, nil
}

func (b *serviceBuilder) logGroup(ctx context.Context) ([]plan.Step, error) {
	name := logGroupName(b.o.Cluster, b.o.Name)
	out, err := b.d.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("look up log group %s: %w", name, err)
	}
	retention := int32(b.o.LogRetention)
	setRetention := func(ctx context.Context) error {
		_, err := b.d.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(retention)})
		return err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) != name {
			continue
		}
		if aws.ToInt32(g.RetentionInDays) == retention {
			return []plan.Step{plan.Unchanged("log-group", name)}, nil
		}
		old := "never expire"
		if g.RetentionInDays != nil {
			old = fmt.Sprintf("%d days", *g.RetentionInDays)
		}
		return []plan.Step{plan.Update("log-group", name, []plan.FieldDiff{{Field: "retention", Old: old, New: fmt.Sprintf("%d days", retention)}}, setRetention)}, nil
	}
	return []plan.Step{plan.Create("log-group", name, func(ctx context.Context) error {
		_, err := b.d.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name),
			Tags: map[string]string{TagCluster: b.o.Cluster, TagService: b.o.Name}})
		if err != nil && awsx.ErrorCode(err) != "ResourceAlreadyExistsException" {
			return err
		}
		return setRetention(ctx)
	})}, nil
}

// ExecutionTrustPolicy lets ECS tasks of this account and region assume the
// role, with the confused-deputy conditions of the ECS developer guide
// ("Amazon ECS task execution IAM role": aws:SourceArn and aws:SourceAccount).
func ExecutionTrustPolicy(partition, region, account string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"},
			"Action":    "sts:AssumeRole",
			"Condition": map[string]any{
				"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:%s:ecs:%s:%s:*", partition, region, account)},
				"StringEquals": map[string]any{"aws:SourceAccount": account},
			},
		}},
	}
	bs, _ := json.MarshalIndent(doc, "", "  ")
	return string(bs)
}

// ExecutionPermissions is the execution role's inline policy: pull the one
// ECR repository (GetAuthorizationToken has no resource-level permission),
// write the service's log group, read only the named secrets.
func (b *serviceBuilder) executionPermissions() string {
	var stmts []any
	if b.img.ECRAccount != "" {
		stmts = append(stmts,
			map[string]any{"Sid": "Auth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
			map[string]any{"Sid": "Pull", "Effect": "Allow", "Action": []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"},
				"Resource": fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", b.d.partition(), b.img.ECRRegion, b.img.ECRAccount, b.img.Repository)})
	}
	stmts = append(stmts, map[string]any{"Sid": "Logs", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		"Resource": b.arn("logs", "log-group:"+logGroupName(b.o.Cluster, b.o.Name)+":*")})
	var params, secrets []string
	for _, s := range b.o.Secrets {
		if s.Kind == "ssm" {
			params = append(params, b.paramArn(s.Ref))
		} else {
			secrets = append(secrets, s.Ref)
		}
	}
	sort.Strings(params)
	sort.Strings(secrets)
	if len(params) > 0 {
		stmts = append(stmts, map[string]any{"Sid": "Parameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": params})
	}
	if len(secrets) > 0 {
		stmts = append(stmts, map[string]any{"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets})
	}
	bs, _ := json.MarshalIndent(map[string]any{"Version": "2012-10-17", "Statement": stmts}, "", "  ")
	return string(bs)
}

func (b *serviceBuilder) paramArn(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return b.arn("ssm", "parameter/"+strings.TrimPrefix(ref, "/"))
}

const executionPolicyName = "opsctl-execution"

func decodeDoc(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func (b *serviceBuilder) executionRole(ctx context.Context) ([]plan.Step, error) {
	name := executionRoleName(b.o.Cluster, b.o.Name)
	trust := ExecutionTrustPolicy(b.d.partition(), b.d.Region, b.account)
	perms := b.executionPermissions()
	b.res.Policies.ExecutionTrust, b.res.Policies.ExecutionPermissions = trust, perms
	putPerms := func(ctx context.Context) error {
		_, err := b.d.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(executionPolicyName), PolicyDocument: aws.String(perms)})
		return err
	}
	out, err := b.d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return []plan.Step{
			plan.Create("iam-role", name, func(ctx context.Context) error {
				_, err := b.d.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
					Description: aws.String("ECS task execution role of service " + b.o.Name + " in cluster " + b.o.Cluster + " (opsctl)"),
					Tags:        []iamtypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Cluster)}, {Key: aws.String(TagService), Value: aws.String(b.o.Name)}}})
				return err
			}).WithDocument(trust),
			plan.Create("iam-role-policy", name+"/"+executionPolicyName, putPerms).WithDocument(perms),
		}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role %s: %w", name, err)
	}
	tagged := false
	for _, t := range out.Role.Tags {
		tagged = tagged || aws.ToString(t.Key) == TagService && aws.ToString(t.Value) == b.o.Name
	}
	if !tagged {
		return nil, fmt.Errorf("role %s exists but was not created by opsctl (no tag %s=%s): opsctl will not change it", name, TagService, b.o.Name)
	}
	var steps []plan.Step
	if plan.SameJSON(decodeDoc(aws.ToString(out.Role.AssumeRolePolicyDocument)), trust) {
		steps = append(steps, plan.Unchanged("iam-role", name))
	} else {
		steps = append(steps, plan.Update("iam-role", name, []plan.FieldDiff{{Field: "trust policy", Old: "(differs)", New: "ecs-tasks with SourceAccount/SourceArn conditions"}}, func(ctx context.Context) error {
			_, err := b.d.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust)})
			return err
		}).WithDocument(trust))
	}
	pol, err := b.d.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(executionPolicyName)})
	switch {
	case awsx.ErrorCode(err) == "NoSuchEntity":
		steps = append(steps, plan.Create("iam-role-policy", name+"/"+executionPolicyName, putPerms).WithDocument(perms))
	case err != nil:
		return nil, fmt.Errorf("read policy of role %s: %w", name, err)
	case plan.SameJSON(decodeDoc(aws.ToString(pol.PolicyDocument)), perms):
		steps = append(steps, plan.Unchanged("iam-role-policy", name+"/"+executionPolicyName))
	default:
		var dd plan.Differ
		dd.JSON("permissions", decodeDoc(aws.ToString(pol.PolicyDocument)), perms)
		steps = append(steps, plan.Update("iam-role-policy", name+"/"+executionPolicyName, dd, putPerms).WithDocument(perms))
	}
	return steps, nil
}

// taskDefinitionInput is the revision opsctl wants.
func (b *serviceBuilder) taskDefinitionInput() *ecs.RegisterTaskDefinitionInput {
	compat := ecstypes.CompatibilityEc2
	if b.cl.mode == ModeFargate {
		compat = ecstypes.CompatibilityFargate
	}
	c := ecstypes.ContainerDefinition{
		Name: aws.String(b.o.Container), Image: aws.String(b.o.Image), Essential: aws.Bool(true),
		StopTimeout: aws.Int32(StopTimeout),
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": logGroupName(b.o.Cluster, b.o.Name), "awslogs-region": b.d.Region, "awslogs-stream-prefix": "ecs"}},
	}
	if b.o.Port > 0 {
		c.PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(int32(b.o.Port)), Protocol: ecstypes.TransportProtocolTcp}}
	}
	for _, k := range sortedEnv(b.o.Env) {
		c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(b.o.Env[k])})
	}
	secrets := append([]SecretRef(nil), b.o.Secrets...)
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].Name < secrets[j].Name })
	for _, s := range secrets {
		from := s.Ref
		if s.Kind == "ssm" {
			from = b.paramArn(s.Ref)
		}
		c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String(s.Name), ValueFrom: aws.String(from)})
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(familyName(b.o.Cluster, b.o.Name)), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{compat},
		Cpu:                     aws.String(strconv.Itoa(b.o.CPU)), Memory: aws.String(strconv.Itoa(b.o.Memory)),
		ExecutionRoleArn:     aws.String(b.roleArn()),
		ContainerDefinitions: []ecstypes.ContainerDefinition{c},
		Tags:                 []ecstypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Cluster)}, {Key: aws.String(TagService), Value: aws.String(b.o.Name)}},
	}
}

// tdDocument renders a registration in the ECS task definition JSON shape
// (what `aws ecs register-task-definition --cli-input-json` takes).
func tdDocument(in *ecs.RegisterTaskDefinitionInput) string {
	var cds []any
	for _, c := range in.ContainerDefinitions {
		cd := map[string]any{"name": aws.ToString(c.Name), "image": aws.ToString(c.Image), "essential": aws.ToBool(c.Essential),
			"stopTimeout": aws.ToInt32(c.StopTimeout)}
		var pms []any
		for _, p := range c.PortMappings {
			pms = append(pms, map[string]any{"containerPort": aws.ToInt32(p.ContainerPort), "protocol": string(p.Protocol)})
		}
		if pms != nil {
			cd["portMappings"] = pms
		}
		var env, sec []any
		for _, e := range c.Environment {
			env = append(env, map[string]string{"name": aws.ToString(e.Name), "value": aws.ToString(e.Value)})
		}
		for _, s := range c.Secrets {
			sec = append(sec, map[string]string{"name": aws.ToString(s.Name), "valueFrom": aws.ToString(s.ValueFrom)})
		}
		if env != nil {
			cd["environment"] = env
		}
		if sec != nil {
			cd["secrets"] = sec
		}
		if lc := c.LogConfiguration; lc != nil {
			cd["logConfiguration"] = map[string]any{"logDriver": string(lc.LogDriver), "options": lc.Options}
		}
		cds = append(cds, cd)
	}
	doc := map[string]any{"family": aws.ToString(in.Family), "networkMode": string(in.NetworkMode), "requiresCompatibilities": in.RequiresCompatibilities,
		"cpu": aws.ToString(in.Cpu), "memory": aws.ToString(in.Memory), "executionRoleArn": aws.ToString(in.ExecutionRoleArn), "containerDefinitions": cds}
	bs, _ := json.MarshalIndent(doc, "", "  ")
	return string(bs)
}

// tdView is the part of a task definition opsctl manages, for comparison.
type tdView struct {
	Image, CPU, Memory, NetworkMode, ExecutionRole, Compat string
	Port                                                   int32
	StopTimeout                                            int32
	Env, Secrets, Logs                                     []string
}

func viewOf(cpu, memory *string, nm ecstypes.NetworkMode, role *string, compat []ecstypes.Compatibility, c ecstypes.ContainerDefinition) tdView {
	v := tdView{Image: aws.ToString(c.Image), CPU: aws.ToString(cpu), Memory: aws.ToString(memory), NetworkMode: string(nm),
		ExecutionRole: aws.ToString(role), StopTimeout: aws.ToInt32(c.StopTimeout)}
	if len(compat) > 0 {
		v.Compat = string(compat[0])
	}
	if len(c.PortMappings) > 0 {
		v.Port = aws.ToInt32(c.PortMappings[0].ContainerPort)
	}
	for _, e := range c.Environment {
		v.Env = append(v.Env, aws.ToString(e.Name)+"="+aws.ToString(e.Value))
	}
	for _, s := range c.Secrets {
		v.Secrets = append(v.Secrets, aws.ToString(s.Name)+"="+aws.ToString(s.ValueFrom))
	}
	if lc := c.LogConfiguration; lc != nil {
		v.Logs = append(v.Logs, "driver="+string(lc.LogDriver))
		for _, k := range sortedEnv(lc.Options) {
			v.Logs = append(v.Logs, k+"="+lc.Options[k])
		}
	}
	sort.Strings(v.Env)
	sort.Strings(v.Secrets)
	return v
}

func (b *serviceBuilder) taskDefinition(ctx context.Context) ([]plan.Step, error) {
	in := b.taskDefinitionInput()
	doc := tdDocument(in)
	b.res.Policies.TaskDefinition = doc
	want := viewOf(in.Cpu, in.Memory, in.NetworkMode, in.ExecutionRoleArn, in.RequiresCompatibilities, in.ContainerDefinitions[0])
	family := aws.ToString(in.Family)
	register := func(ctx context.Context) error {
		out, err := b.d.ECS.RegisterTaskDefinition(ctx, in)
		if err != nil {
			return err
		}
		b.tdArn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		return nil
	}
	if b.liveTD == nil || aws.ToString(b.liveTD.Family) != family {
		b.tdArn = ""
		return []plan.Step{plan.Create("task-definition", family, register).WithDocument(doc)}, nil
	}
	var cd ecstypes.ContainerDefinition
	for _, c := range b.liveTD.ContainerDefinitions {
		if aws.ToString(c.Name) == b.o.Container {
			cd = c
		}
	}
	have := viewOf(b.liveTD.Cpu, b.liveTD.Memory, b.liveTD.NetworkMode, b.liveTD.ExecutionRoleArn, b.liveTD.RequiresCompatibilities, cd)
	var diff plan.Differ
	diff.Str("image", have.Image, want.Image)
	diff.Str("cpu", have.CPU, want.CPU)
	diff.Str("memory", have.Memory, want.Memory)
	diff.Int("port", int64(have.Port), int64(want.Port))
	diff.Set("environment", have.Env, want.Env)
	diff.Set("secrets", have.Secrets, want.Secrets)
	diff.Set("log configuration", have.Logs, want.Logs)
	diff.Int("stop timeout", int64(have.StopTimeout), int64(want.StopTimeout))
	diff.Str("execution role", have.ExecutionRole, want.ExecutionRole)
	diff.Str("network mode", have.NetworkMode, want.NetworkMode)
	diff.Str("compatibility", have.Compat, want.Compat)
	if len(b.liveTD.ContainerDefinitions) != 1 {
		diff.Int("containers", int64(len(b.liveTD.ContainerDefinitions)), 1)
	}
	liveArn := aws.ToString(b.liveTD.TaskDefinitionArn)
	if len(diff) == 0 {
		b.tdArn = liveArn
		return []plan.Step{plan.Unchanged("task-definition", shortTD(liveArn))}, nil
	}
	b.tdArn = ""
	return []plan.Step{plan.Update("task-definition", family, diff, register).WithDocument(doc)}, nil
}

func (b *serviceBuilder) desiredStrategy() ([]ecstypes.CapacityProviderStrategyItem, bool) {
	if (serviceTags(b.live)[TagSpotFallback] != "" || b.spotFallbackNow) && usesSpot(b.cl.strategy) {
		return onDemandStrategy(b.cl.strategy), true
	}
	return b.cl.strategy, false
}

func (b *serviceBuilder) deploymentConfiguration() *ecstypes.DeploymentConfiguration {
	cb := &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	if b.o.FailureThreshold > 0 {
		cb.ThresholdConfiguration = &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeCount, Value: int32(b.o.FailureThreshold)}
	}
	dc := &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200), DeploymentCircuitBreaker: cb}
	if b.o.AlarmEmail != "" {
		dc.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: []string{alarmsName(alarmName(b.o.Cluster, b.o.Name))}, Enable: true, Rollback: true}
	}
	b.lbStrategy(dc)
	return dc
}

func (b *serviceBuilder) network() *ecstypes.NetworkConfiguration {
	vpc := &ecstypes.AwsVpcConfiguration{Subnets: b.cl.subnets, SecurityGroups: []string{b.cl.securityGroup}}
	if b.cl.mode == ModeFargate {
		// Default-VPC subnets are public: a Fargate task needs a public IP
		// to reach ECR without a NAT gateway.
		vpc.AssignPublicIp = ecstypes.AssignPublicIpEnabled
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: vpc}
}

func strategyText(s []ecstypes.CapacityProviderStrategyItem) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strategyString(s)
}

func cbText(cb *ecstypes.DeploymentCircuitBreaker) string {
	if cb == nil || !cb.Enable {
		return "off"
	}
	s := "on"
	if cb.Rollback {
		s += ", rollback"
	}
	if t := cb.ThresholdConfiguration; t != nil {
		s += fmt.Sprintf(", threshold %s %d", t.Type, t.Value)
	}
	return s
}

func alarmsText(a *ecstypes.DeploymentAlarms) string {
	if a == nil || !a.Enable {
		return "(none)"
	}
	return strings.Join(a.AlarmNames, ",") + fmt.Sprintf(" (rollback %v)", a.Rollback)
}

func netText(n *ecstypes.NetworkConfiguration) string {
	if n == nil || n.AwsvpcConfiguration == nil {
		return "(none)"
	}
	v := n.AwsvpcConfiguration
	subnets := append([]string(nil), v.Subnets...)
	sort.Strings(subnets)
	sgs := append([]string(nil), v.SecurityGroups...)
	sort.Strings(sgs)
	ip := string(v.AssignPublicIp)
	if ip == "" {
		ip = string(ecstypes.AssignPublicIpDisabled)
	}
	return fmt.Sprintf("subnets %s; security groups %s; public IP %s", strings.Join(subnets, ","), strings.Join(sgs, ","), ip)
}

func (b *serviceBuilder) service(ctx context.Context) ([]plan.Step, error) {
	strategy, fallback := b.desiredStrategy()
	b.res.Strategy, b.res.SpotFallback = toItems(strategy), fallback
	dc := b.deploymentConfiguration()
	net := b.network()
	tdLabel := func() string {
		if b.tdArn != "" {
			return shortTD(b.tdArn)
		}
		return familyName(b.o.Cluster, b.o.Name) + ":(new revision)"
	}
	if b.live == nil {
		desired := int32(b.o.Desired)
		return []plan.Step{plan.Create("ecs-service", b.o.Name, func(ctx context.Context) error {
			_, err := b.d.ECS.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster: aws.String(b.o.Cluster), ServiceName: aws.String(b.o.Name), TaskDefinition: aws.String(b.tdArn),
				DesiredCount: aws.Int32(desired), CapacityProviderStrategy: strategy, DeploymentConfiguration: dc,
				DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
				NetworkConfiguration: net, PropagateTags: ecstypes.PropagateTagsService, EnableECSManagedTags: true,
				LoadBalancers: b.lbLoadBalancers(), HealthCheckGracePeriodSeconds: b.lbGrace(),
				Tags: []ecstypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Cluster)}, {Key: aws.String(TagService), Value: aws.String(b.o.Name)}},
			})
			return err
		})}, nil
	}
	l := b.live
	var diff plan.Differ
	diff.Str("task definition", shortTD(aws.ToString(l.TaskDefinition)), tdLabel())
	setDesired := b.o.Max == 0 // with auto scaling, Application Auto Scaling owns the desired count
	if setDesired {
		diff.Int("desired count", int64(l.DesiredCount), int64(b.o.Desired))
	}
	strategyChanged := strategyText(l.CapacityProviderStrategy) != strategyText(strategy)
	diff.Str("capacity provider strategy", strategyText(l.CapacityProviderStrategy), strategyText(strategy))
	var lmin, lmax int32
	var lcb *ecstypes.DeploymentCircuitBreaker
	var lal *ecstypes.DeploymentAlarms
	if c := l.DeploymentConfiguration; c != nil {
		lmin, lmax, lcb, lal = aws.ToInt32(c.MinimumHealthyPercent), aws.ToInt32(c.MaximumPercent), c.DeploymentCircuitBreaker, c.Alarms
	}
	diff.Int("minimum healthy percent", int64(lmin), 100)
	diff.Int("maximum percent", int64(lmax), 200)
	diff.Str("circuit breaker", cbText(lcb), cbText(dc.DeploymentCircuitBreaker))
	diff.Str("deployment alarms", alarmsText(lal), alarmsText(dc.Alarms))
	diff.Str("network", netText(l.NetworkConfiguration), netText(net))
	lbChanged := b.lbDiff(&diff, l, dc)
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("ecs-service", b.o.Name)}, nil
	}
	return []plan.Step{plan.Update("ecs-service", b.o.Name, diff, func(ctx context.Context) error {
		in := &ecs.UpdateServiceInput{Cluster: aws.String(b.o.Cluster), Service: aws.String(b.o.Name), TaskDefinition: aws.String(b.tdArn),
			CapacityProviderStrategy: strategy, DeploymentConfiguration: dc, NetworkConfiguration: net,
			// ECS requires a new deployment to change a capacity provider strategy.
			ForceNewDeployment: strategyChanged}
		if setDesired {
			in.DesiredCount = aws.Int32(int32(b.o.Desired))
		}
		if lbChanged {
			in.LoadBalancers, in.HealthCheckGracePeriodSeconds = b.lbLoadBalancers(), b.lbGrace()
			if in.LoadBalancers == nil {
				in.LoadBalancers = []ecstypes.LoadBalancer{}
			}
		}
		if dc.Alarms == nil && lal != nil && lal.Enable {
			in.DeploymentConfiguration.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: []string{}, Enable: false, Rollback: false}
		}
		_, err := b.d.ECS.UpdateService(ctx, in)
		return err
	})}, nil
}

func resourceID(cluster, service string) string { return "service/" + cluster + "/" + service }

func (b *serviceBuilder) scaling(ctx context.Context) ([]plan.Step, error) {
	id := resourceID(b.o.Cluster, b.o.Name)
	tg, err := b.d.AppScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceIds: []string{id}, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return nil, fmt.Errorf("look up auto scaling of %s: %w", id, err)
	}
	var live *aastypes.ScalableTarget
	if len(tg.ScalableTargets) > 0 {
		live = &tg.ScalableTargets[0]
	}
	pols := map[string]aastypes.ScalingPolicy{}
	if live != nil {
		out, err := b.d.AppScaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
		if err != nil {
			return nil, fmt.Errorf("look up scaling policies of %s: %w", id, err)
		}
		for _, p := range out.ScalingPolicies {
			pols[aws.ToString(p.PolicyName)] = p
		}
	}
	var steps []plan.Step
	if b.o.Max == 0 {
		// No auto scaling wanted: remove only what opsctl made.
		for _, n := range []string{policyCPU, policyMemory} {
			if _, ok := pols[n]; ok {
				name := n
				steps = append(steps, plan.Delete("scaling-policy", id+"/"+name, func(ctx context.Context) error {
					_, err := b.d.AppScaling.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs,
						ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
					return err
				}))
			}
		}
		return steps, nil
	}
	register := func(ctx context.Context) error {
		_, err := b.d.AppScaling.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
			MinCapacity: aws.Int32(int32(b.o.Min)), MaxCapacity: aws.Int32(int32(b.o.Max))})
		return err
	}
	switch {
	case live == nil:
		steps = append(steps, plan.Create("scalable-target", id, register))
	case aws.ToInt32(live.MinCapacity) != int32(b.o.Min) || aws.ToInt32(live.MaxCapacity) != int32(b.o.Max):
		var d plan.Differ
		d.Int("min", int64(aws.ToInt32(live.MinCapacity)), int64(b.o.Min))
		d.Int("max", int64(aws.ToInt32(live.MaxCapacity)), int64(b.o.Max))
		steps = append(steps, plan.Update("scalable-target", id, d, register))
	default:
		steps = append(steps, plan.Unchanged("scalable-target", id))
	}
	want := map[string]struct {
		metric aastypes.MetricType
		target float64
	}{policyCPU: {aastypes.MetricTypeECSServiceAverageCPUUtilization, b.o.CPUTarget}}
	if b.o.MemoryTarget > 0 {
		want[policyMemory] = struct {
			metric aastypes.MetricType
			target float64
		}{aastypes.MetricTypeECSServiceAverageMemoryUtilization, b.o.MemoryTarget}
	}
	for _, n := range []string{policyCPU, policyMemory} {
		name := n
		w, wanted := want[name]
		p, have := pols[name]
		put := func(ctx context.Context) error {
			_, err := b.d.AppScaling.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs,
				ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
				TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(w.target),
					PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: w.metric},
					ScaleOutCooldown:              aws.Int32(60), ScaleInCooldown: aws.Int32(300)}})
			return err
		}
		switch {
		case wanted && !have:
			steps = append(steps, plan.Create("scaling-policy", id+"/"+name, put))
		case wanted:
			var d plan.Differ
			var old float64
			var oldMetric string
			if c := p.TargetTrackingScalingPolicyConfiguration; c != nil {
				old = aws.ToFloat64(c.TargetValue)
				if c.PredefinedMetricSpecification != nil {
					oldMetric = string(c.PredefinedMetricSpecification.PredefinedMetricType)
				}
			}
			d.Num("target", old, w.target)
			d.Str("metric", oldMetric, string(w.metric))
			if len(d) == 0 {
				steps = append(steps, plan.Unchanged("scaling-policy", id+"/"+name))
			} else {
				steps = append(steps, plan.Update("scaling-policy", id+"/"+name, d, put))
			}
		case have:
			steps = append(steps, plan.Delete("scaling-policy", id+"/"+name, func(ctx context.Context) error {
				_, err := b.d.AppScaling.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs,
					ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
				return err
			}))
		}
	}
	return steps, nil
}

// errNoAlarmDeps is returned when --alarm-email is used without the alarms
// library's clients.
var errNoAlarmDeps = errors.New("--alarm-email: no CloudWatch/SNS clients configured")
