package deploy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/wait"
)

// DefaultRolloutTimeout is how long rollout, wait and rollback follow a
// deployment unless told otherwise. Unlike the SDK's ServicesStable waiter
// (40 polls of 15 s), it is not capped at 10 minutes.
const DefaultRolloutTimeout = 30 * time.Minute

// Poll cadence while following a deployment: every 10 s at first, backing off
// to 15 s (the ServicesStable waiter's delay). One DescribeServices per poll;
// ListTasks and DescribeTasks only when new tasks failed.
const (
	followInterval    = 10 * time.Second
	followMaxInterval = 15 * time.Second
)

// Rollout outcomes (RolloutResult.State).
const (
	StateCompleted  = "completed"   // this deployment reached COMPLETED
	StateUnchanged  = "unchanged"   // the service already runs the image: nothing written
	StateInProgress = "in_progress" // --no-wait: started, not followed
	StateRolledBack = "rolled_back" // the deployment failed and ECS rolled back
	StateFailed     = "failed"      // the deployment failed without a rollback
	StateSuperseded = "superseded"  // another deployment replaced it
	StateTimedOut   = "timed_out"   // still going when the timeout passed
)

// RolloutOptions are the inputs of `deploy rollout`.
type RolloutOptions struct {
	Cluster, Service string
	// Image is the new image reference (repository[:tag][@digest]).
	Image string
	// Container whose image changes; empty means the task definition's only
	// container (an error when it has several).
	Container string
	// Timeout for following the deployment (0: DefaultRolloutTimeout).
	Timeout time.Duration
	// NoWait returns right after the deployment started.
	NoWait bool
	// PollInterval between looks at the deployment (0: 10 s backing off to 15 s).
	PollInterval time.Duration
	// SpotAfter is how long the deployment's tasks may fail to be placed on
	// spot before the service moves to on-demand (0: DefaultSpotAfter;
	// negative: never), as `deploy spot-check --after` decides it.
	SpotAfter time.Duration
}

// resourceNameRe is ECS's rule for cluster and service names (botocore ecs
// CreateCluster.clusterName / CreateService.serviceName: up to 255 letters,
// numbers, underscores and hyphens).
var resourceNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func validateNames(cluster, service string) error {
	if cluster == "" {
		return opserr.Usagef("--cluster is required")
	}
	if !resourceNameRe.MatchString(cluster) {
		return opserr.Usagef("invalid --cluster %q: up to 255 letters, digits, hyphens and underscores", cluster)
	}
	if service == "" {
		return opserr.Usagef("--service is required")
	}
	if !resourceNameRe.MatchString(service) {
		return opserr.Usagef("invalid --service %q: up to 255 letters, digits, hyphens and underscores", service)
	}
	return nil
}

func validateTimeout(d time.Duration) error {
	if d < 0 {
		return opserr.Usagef("invalid --timeout %s: must be positive", d)
	}
	return nil
}

func validatePoll(d time.Duration) error {
	if d != 0 && d < time.Second {
		return opserr.Usagef("invalid --poll-interval %s: at least 1s", d)
	}
	return nil
}

// Validate checks the options before any AWS call.
func (o RolloutOptions) Validate() error {
	if err := validateNames(o.Cluster, o.Service); err != nil {
		return err
	}
	if o.Image == "" {
		return opserr.Usagef("--image is required")
	}
	if _, err := parseRolloutImage(o.Image); err != nil {
		return opserr.Usagef("invalid --image %q: %v", o.Image, err)
	}
	if o.Container != "" && !resourceNameRe.MatchString(o.Container) {
		return opserr.Usagef("invalid --container %q: up to 255 letters, digits, hyphens and underscores", o.Container)
	}
	if err := validatePoll(o.PollInterval); err != nil {
		return err
	}
	return validateTimeout(o.Timeout)
}

// rolloutImage is a parsed image reference.
type rolloutImage struct {
	registry, repository, tag, digest string
	// ECR: the registry's account and region (empty for other registries).
	ecrAccount, ecrRegion string
}

var (
	imagePathRe   = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	imageTagRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestRe = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	ecrHostRe     = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)
)

// parseRolloutImage parses [registry/]repository[:tag][@sha256:digest] by the
// OCI distribution reference grammar.
func parseRolloutImage(ref string) (rolloutImage, error) {
	var img rolloutImage
	if len(ref) > 1024 {
		return img, errors.New("longer than 1024 characters")
	}
	rest := ref
	if i := strings.Index(rest, "@"); i >= 0 {
		img.digest = rest[i+1:]
		rest = rest[:i]
		if !imageDigestRe.MatchString(img.digest) {
			return img, errors.New("the digest must be sha256: followed by 64 lowercase hex digits")
		}
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		img.tag = rest[i+1:]
		rest = rest[:i]
		if !imageTagRe.MatchString(img.tag) {
			return img, errors.New("the tag must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
		}
	}
	if first, after, ok := strings.Cut(rest, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		img.registry, rest = first, after
	}
	if rest == "" || !imagePathRe.MatchString(rest) {
		return img, errors.New("the repository must be lowercase letters, digits and separators ('.', '_', '-', '/')")
	}
	img.repository = rest
	if m := ecrHostRe.FindStringSubmatch(img.registry); m != nil {
		img.ecrAccount, img.ecrRegion = m[1], m[2]
	}
	return img, nil
}

// RolloutResult is what rollout, wait and rollback report.
type RolloutResult struct {
	Cluster              string `json:"cluster"`
	Service              string `json:"service"`
	DeploymentID         string `json:"deployment_id,omitempty"`
	ServiceDeploymentArn string `json:"service_deployment_arn,omitempty"`
	TaskDefinition       string `json:"task_definition,omitempty"`
	Revision             int    `json:"revision,omitempty"`
	PreviousRevision     int    `json:"previous_revision,omitempty"`
	Image                string `json:"image,omitempty"`
	State                string `json:"state"`
	// Reason says in plain words why the deployment did not complete.
	Reason         string `json:"reason,omitempty"`
	RolledBackTo   int    `json:"rolled_back_to_revision,omitempty"`
	RunningCount   int32  `json:"running_count"`
	DesiredCount   int32  `json:"desired_count"`
	FailedTasks    int32  `json:"failed_tasks"`
	ElapsedSeconds int64  `json:"elapsed_seconds"`
	// Events are the service events seen while following, oldest first.
	Events []string `json:"events,omitempty"`
	// StoppedTasks are the reasons of this deployment's stopped tasks.
	StoppedTasks []string `json:"stopped_tasks,omitempty"`
	// Targets are this deployment's load balancer targets (lb_health.go).
	Targets []TargetStatus `json:"targets,omitempty"`
	// SpotFallback says why the service moved to on-demand while this
	// deployment could not place its tasks on spot (empty: it did not).
	SpotFallback string `json:"spot_fallback,omitempty"`
	// Stages are the lifecycle stages of a blue-green, canary or linear
	// deployment, in the order seen (strategy_follow.go).
	Stages []string `json:"stages,omitempty"`
}

// revisionOf returns the revision number of a task definition ARN or
// family:revision (0 when it has none).
func revisionOf(td string) int {
	i := strings.LastIndexByte(td, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(td[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// describeService returns the service or a "not found" error.
func describeService(ctx context.Context, d Deps, cluster, service string) (types.Service, error) {
	out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return types.Service{}, fmt.Errorf("describe service %s in cluster %s: %w", service, cluster, err)
	}
	if len(out.Services) == 0 {
		return types.Service{}, fmt.Errorf("service %s not found in cluster %s", service, cluster)
	}
	svc := out.Services[0]
	if s := aws.ToString(svc.Status); s != "ACTIVE" {
		return svc, fmt.Errorf("service %s in cluster %s is %s, not ACTIVE", service, cluster, s)
	}
	return svc, nil
}

func primaryOf(svc types.Service) *types.Deployment {
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Status) == "PRIMARY" {
			return &svc.Deployments[i]
		}
	}
	return nil
}

// pickContainer finds the container whose image a rollout changes.
func pickContainer(td *types.TaskDefinition, name string) (int, error) {
	var names []string
	for i, c := range td.ContainerDefinitions {
		names = append(names, aws.ToString(c.Name))
		if name != "" && aws.ToString(c.Name) == name {
			return i, nil
		}
	}
	rev := fmt.Sprintf("%s:%d", aws.ToString(td.Family), td.Revision)
	if name != "" {
		return -1, opserr.Usagef("container %q is not in task definition %s (its containers: %s)", name, rev, strings.Join(names, ", "))
	}
	if len(names) != 1 {
		return -1, opserr.Usagef("task definition %s has %d containers (%s): name one with --container", rev, len(names), strings.Join(names, ", "))
	}
	return 0, nil
}

// checkImageExists asks ECR whether an ECR image exists (tag or digest), so a
// missing image fails in a second rather than after a CannotPullContainerError
// rollout. Images outside ECR are not checked.
func checkImageExists(ctx context.Context, d Deps, ref string) error {
	img, err := parseRolloutImage(ref)
	if err != nil {
		return opserr.Usagef("invalid image %q: %v", ref, err)
	}
	if img.ecrAccount == "" || d.ECR == nil {
		d.log().Debug("image not in ECR; not checked", "image", ref)
		return nil
	}
	id := ecrtypes.ImageIdentifier{}
	if img.digest != "" {
		id.ImageDigest = aws.String(img.digest)
	} else {
		tag := img.tag
		if tag == "" {
			tag = "latest"
		}
		id.ImageTag = aws.String(tag)
	}
	_, err = d.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RegistryId: aws.String(img.ecrAccount), RepositoryName: aws.String(img.repository), ImageIds: []ecrtypes.ImageIdentifier{id},
	})
	var ae smithy.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && ae.ErrorCode() == "ImageNotFoundException":
		return fmt.Errorf("image %s does not exist in ECR repository %s: push it first (nothing was changed)", ref, img.repository)
	case errors.As(err, &ae) && ae.ErrorCode() == "RepositoryNotFoundException":
		return fmt.Errorf("image %s: ECR repository %s does not exist in account %s (nothing was changed)", ref, img.repository, img.ecrAccount)
	}
	return fmt.Errorf("check image %s in ECR: %w", ref, err)
}

// registerInput copies a task definition into a RegisterTaskDefinition
// request (the revision differs only where the caller changes it).
func registerInput(td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: append([]types.ContainerDefinition(nil), td.ContainerDefinitions...),
		TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn, NetworkMode: td.NetworkMode,
		Volumes: td.Volumes, PlacementConstraints: td.PlacementConstraints, RequiresCompatibilities: td.RequiresCompatibilities,
		Cpu: td.Cpu, Memory: td.Memory, PidMode: td.PidMode, IpcMode: td.IpcMode, ProxyConfiguration: td.ProxyConfiguration,
		InferenceAccelerators: td.InferenceAccelerators, EphemeralStorage: td.EphemeralStorage, RuntimePlatform: td.RuntimePlatform,
		EnableFaultInjection: td.EnableFaultInjection,
	}
	if len(tags) > 0 {
		in.Tags = tags
	}
	return in
}

// Rollout registers a revision of the service's task definition that differs
// only in one container's image, updates the service and follows this
// deployment by its id until it completes (see Follow). Checks before any
// write: the service and its task definition, the container, (for ECR
// images) that the image exists, and that the roles and secrets the revision
// refers to exist.
func Rollout(ctx context.Context, d Deps, o RolloutOptions) (RolloutResult, error) {
	res := RolloutResult{Cluster: o.Cluster, Service: o.Service, Image: o.Image}
	if err := o.Validate(); err != nil {
		return res, err
	}
	svc, err := describeService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	cur, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: svc.TaskDefinition, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return res, fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
	}
	idx, err := pickContainer(cur.TaskDefinition, o.Container)
	if err != nil {
		return res, err
	}
	res.PreviousRevision = int(cur.TaskDefinition.Revision)
	container := aws.ToString(cur.TaskDefinition.ContainerDefinitions[idx].Name)
	primary := primaryOf(svc)

	if aws.ToString(cur.TaskDefinition.ContainerDefinitions[idx].Image) == o.Image && primary != nil {
		// Nothing to register: the service already runs (or is rolling out) this image.
		res.TaskDefinition, res.Revision = aws.ToString(svc.TaskDefinition), int(cur.TaskDefinition.Revision)
		res.DeploymentID = aws.ToString(primary.Id)
		if primary.RolloutState == types.DeploymentRolloutStateCompleted || primary.RolloutState == "" {
			res.State = StateUnchanged
			res.RunningCount, res.DesiredCount = svc.RunningCount, svc.DesiredCount
			d.log().Info("the service already runs this image; nothing to do", "service", o.Service, "image", o.Image, "revision", res.Revision)
			return res, nil
		}
		if o.NoWait {
			res.State = StateInProgress
			return res, nil
		}
		d.log().Info("a deployment of this image is already in progress; following it", "deployment", res.DeploymentID)
		return follow(ctx, d, res, o.Timeout, o.PollInterval, time.Time{}, o.SpotAfter)
	}

	if err := checkImageExists(ctx, d, o.Image); err != nil {
		return res, err
	}
	if err := checkReferences(ctx, d, cur.TaskDefinition); err != nil {
		return res, err
	}

	in := registerInput(cur.TaskDefinition, cur.Tags)
	cd := in.ContainerDefinitions[idx]
	cd.Image = aws.String(o.Image)
	in.ContainerDefinitions[idx] = cd
	reg, err := reuseOrRegister(ctx, d, in, cur.TaskDefinition)
	if err != nil {
		return res, err
	}
	res.TaskDefinition = aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	res.Revision = int(reg.TaskDefinition.Revision)
	d.log().Info("registered task definition", "revision", fmt.Sprintf("%s:%d", aws.ToString(reg.TaskDefinition.Family), res.Revision), "container", container, "image", o.Image)

	started := d.clock().Now()
	up, err := d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(o.Cluster), Service: aws.String(o.Service), TaskDefinition: aws.String(res.TaskDefinition),
	})
	if err != nil {
		return res, fmt.Errorf("update service %s to %s:%d (registered, not deployed): %w", o.Service, aws.ToString(reg.TaskDefinition.Family), res.Revision, err)
	}
	for _, dep := range up.Service.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.TaskDefinition) == res.TaskDefinition {
			res.DeploymentID = aws.ToString(dep.Id)
		}
	}
	if res.DeploymentID == "" {
		return res, fmt.Errorf("update service %s: ECS reported no PRIMARY deployment of %s", o.Service, res.TaskDefinition)
	}
	res.ServiceDeploymentArn = findServiceDeployment(ctx, d, o.Cluster, o.Service, started)
	d.log().Info("deployment started", "deployment", res.DeploymentID, "service_deployment", res.ServiceDeploymentArn)
	if o.NoWait {
		res.State = StateInProgress
		return res, nil
	}
	return follow(ctx, d, res, o.Timeout, o.PollInterval, started, o.SpotAfter)
}

// reuseOrRegister returns the family's latest ACTIVE revision when it is
// exactly the wanted one (a re-run after a failed UpdateService registers
// nothing new), else registers the wanted revision.
func reuseOrRegister(ctx context.Context, d Deps, in *ecs.RegisterTaskDefinitionInput, cur *types.TaskDefinition) (*ecs.RegisterTaskDefinitionOutput, error) {
	latest, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: cur.Family})
	if err == nil && latest.TaskDefinition.Revision != cur.Revision {
		want := *in
		want.Tags = nil
		have := registerInput(latest.TaskDefinition, nil)
		if reflect.DeepEqual(&want, have) {
			d.log().Info("reusing the identical latest revision", "revision", latest.TaskDefinition.Revision)
			return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: latest.TaskDefinition}, nil
		}
	}
	reg, err := d.ECS.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("register a revision of %s: %w", aws.ToString(cur.Family), err)
	}
	return reg, nil
}

// findServiceDeployment returns the ARN of the service deployment created at
// or after since (the one an UpdateService just started); "" when the
// service deployments API has none (or is not available).
func findServiceDeployment(ctx context.Context, d Deps, cluster, service string, since time.Time) string {
	out, err := d.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(cluster), Service: aws.String(service), MaxResults: aws.Int32(5),
	})
	if err != nil {
		d.log().Debug("list service deployments", "error", err)
		return ""
	}
	for _, sd := range out.ServiceDeployments {
		if sd.CreatedAt != nil && !sd.CreatedAt.Before(since.Add(-time.Minute)) {
			return aws.ToString(sd.ServiceDeploymentArn)
		}
	}
	return ""
}

// follower keeps what one follow has seen between polls.
type follower struct {
	d         Deps
	res       *RolloutResult
	seenEvent map[string]bool
	seenTask  map[string]bool
	failed    int32
	// seenTarget: unhealthy targets already logged; unhealthy: the last
	// one's reason in plain words (lb_health.go).
	seenTarget map[string]bool
	unhealthy  string
	since      time.Time
	spot       spotWatch
}

// Follow polls the service until the deployment res.DeploymentID completes
// (nil error, State completed), fails (an error that says why: rolled back,
// failed, superseded), or the timeout passes. It logs new service events and
// stopped-task reasons as it goes and reports each poll to Deps.OnTick.
func follow(ctx context.Context, d Deps, res RolloutResult, timeout, poll time.Duration, since time.Time, spotAfter time.Duration) (RolloutResult, error) {
	if timeout <= 0 {
		timeout = DefaultRolloutTimeout
	}
	interval, maxInterval := followInterval, followMaxInterval
	if poll > 0 {
		interval, maxInterval = poll, poll
	}
	f := &follower{d: d, res: &res, seenEvent: map[string]bool{}, seenTask: map[string]bool{}, seenTarget: map[string]bool{}, since: since,
		spot: newSpotWatch(spotAfter)}
	clk := d.clock()
	start := clk.Now()
	var outcome error
	_, err := wait.Until(ctx, wait.Options{
		What: "deployment " + res.DeploymentID, Clock: clk, Timeout: timeout,
		Interval: interval, MaxInterval: maxInterval, Progress: d.OnTick,
	}, func(ctx context.Context) (wait.Status, error) {
		st, done, err := f.poll(ctx)
		if done {
			outcome = err
			return wait.Status{Done: true, State: st.State, Fraction: 1}, nil
		}
		return st, err
	})
	res.ElapsedSeconds = int64(clk.Now().Sub(start) / time.Second)
	var te *wait.TimeoutError
	switch {
	case errors.As(err, &te):
		res.State = StateTimedOut
		res.Reason = fmt.Sprintf("not complete after %s (%d/%d tasks running)", timeout, res.RunningCount, res.DesiredCount)
		return res, fmt.Errorf("deployment %s of service %s did not complete within %s (%d/%d tasks running); it keeps going: follow it with `opsctl deploy wait --cluster %s --service %s --deployment %s`: %w",
			res.DeploymentID, res.Service, timeout, res.RunningCount, res.DesiredCount, res.Cluster, res.Service, res.DeploymentID, err)
	case err != nil:
		return res, err
	}
	return res, outcome
}

// poll looks once. done reports a terminal state; err is then its failure.
func (f *follower) poll(ctx context.Context) (wait.Status, bool, error) {
	res := f.res
	svc, err := describeService(ctx, f.d, res.Cluster, res.Service)
	if err != nil {
		return wait.Status{}, false, err
	}
	res.DesiredCount = svc.DesiredCount
	var mine, primary *types.Deployment
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if aws.ToString(dep.Id) == res.DeploymentID {
			mine = dep
		}
		if aws.ToString(dep.Status) == "PRIMARY" {
			primary = dep
		}
	}
	if f.since.IsZero() && mine != nil && mine.CreatedAt != nil {
		f.since = *mine.CreatedAt // wait: show the events of this deployment only
	}
	if p := f.followNewPrimary(ctx, primary); p != nil {
		mine = p
	}
	f.logEvents(svc)
	if mine == nil {
		return f.vanished(ctx)
	}
	f.spotCheck(ctx, svc, mine)
	res.RunningCount, res.FailedTasks = mine.RunningCount, mine.FailedTasks
	if res.TaskDefinition == "" {
		res.TaskDefinition = aws.ToString(mine.TaskDefinition)
		res.Revision = revisionOf(res.TaskDefinition)
	}
	if mine.FailedTasks > f.failed || mine.RolloutState == types.DeploymentRolloutStateFailed {
		f.stoppedReasons(ctx, aws.ToString(mine.TaskDefinition))
	}
	f.failed = mine.FailedTasks
	state := fmt.Sprintf("%d/%d running, %d pending", mine.RunningCount, mine.DesiredCount, mine.PendingCount)
	if mine.FailedTasks > 0 {
		state += fmt.Sprintf(", %d failed", mine.FailedTasks)
	}
	fraction := 0.0
	if mine.DesiredCount > 0 {
		fraction = min(float64(mine.RunningCount)/float64(mine.DesiredCount), 1)
	}
	lbDone, lbState, err := f.healthyTargets(ctx, svc, mine)
	if err != nil {
		return wait.Status{}, false, err
	}
	if stage, err := f.followStage(ctx, svc); err != nil {
		return wait.Status{}, false, err
	} else if stage != "" {
		state += ", " + stage
	}
	switch {
	case mine.RolloutState == types.DeploymentRolloutStateCompleted && !lbDone:
		return wait.Status{State: "waiting for healthy targets: " + lbState, Fraction: 0.95}, false, nil
	case mine.RolloutState == types.DeploymentRolloutStateCompleted:
		res.State = StateCompleted
		f.d.log().Info("deployment completed", "deployment", res.DeploymentID, "revision", res.Revision)
		return wait.Status{State: "completed"}, true, nil
	case mine.RolloutState == types.DeploymentRolloutStateFailed:
		return f.failedState(mine, primary)
	case aws.ToString(mine.Status) != "PRIMARY" && primary != nil && !isRollback(primary):
		res.State = StateSuperseded
		res.Reason = fmt.Sprintf("replaced by deployment %s (revision %d) before it completed", aws.ToString(primary.Id), revisionOf(aws.ToString(primary.TaskDefinition)))
		return wait.Status{State: res.State}, true, fmt.Errorf("deployment %s of service %s was %s", res.DeploymentID, res.Service, res.Reason)
	}
	return wait.Status{State: state, Fraction: fraction}, false, nil
}

func isRollback(dep *types.Deployment) bool {
	return strings.Contains(aws.ToString(dep.RolloutStateReason), "rolling back to deploymentId")
}

// plainReason turns ECS's rolloutStateReason into plain words.
func plainReason(r string) string {
	r = strings.TrimPrefix(r, "ECS deployment circuit breaker: ")
	r = strings.TrimSuffix(strings.TrimSpace(r), ".")
	if r == "" {
		return "the deployment failed"
	}
	return r
}

func (f *follower) failedState(mine, primary *types.Deployment) (wait.Status, bool, error) {
	res := f.res
	why := plainReason(aws.ToString(mine.RolloutStateReason))
	if len(res.StoppedTasks) > 0 {
		why += ": " + res.StoppedTasks[len(res.StoppedTasks)-1]
	}
	if u := f.unhealthyReason(); u != "" {
		why += "; " + u
	}
	if primary != nil && primary != mine {
		res.State = StateRolledBack
		res.RolledBackTo = revisionOf(aws.ToString(primary.TaskDefinition))
		res.Reason = fmt.Sprintf("rolled back to revision %d: %s", res.RolledBackTo, why)
	} else {
		res.State = StateFailed
		res.Reason = why + " (no rollback configured: the service keeps its old tasks)"
	}
	return wait.Status{State: res.State}, true, fmt.Errorf("deployment %s of service %s (revision %d) failed and was %s", res.DeploymentID, res.Service, res.Revision, reasonPhrase(res))
}

func reasonPhrase(res *RolloutResult) string {
	if res.State == StateRolledBack {
		return res.Reason
	}
	return "not rolled back: " + res.Reason
}

// vanished handles a deployment that is no longer listed: the service
// deployments API still knows how it ended.
func (f *follower) vanished(ctx context.Context) (wait.Status, bool, error) {
	res := f.res
	if res.ServiceDeploymentArn == "" {
		res.State = StateFailed
		res.Reason = "ECS no longer lists the deployment (it was replaced or rolled back); pass its service deployment ARN to --deployment to see how it ended"
		return wait.Status{}, true, fmt.Errorf("deployment %s of service %s: %s", res.DeploymentID, res.Service, res.Reason)
	}
	out, err := f.d.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.ServiceDeploymentArn}})
	if err != nil {
		return wait.Status{}, false, fmt.Errorf("describe service deployment %s: %w", res.ServiceDeploymentArn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		res.State = StateFailed
		res.Reason = "ECS lists neither the deployment nor its service deployment"
		return wait.Status{}, true, fmt.Errorf("deployment %s of service %s: %s", res.DeploymentID, res.Service, res.Reason)
	}
	sd := out.ServiceDeployments[0]
	why := aws.ToString(sd.StatusReason)
	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful:
		res.State = StateCompleted
		return wait.Status{State: "completed"}, true, nil
	case types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentStatusRollbackRequested:
		res.State = StateRolledBack
		if sd.Rollback != nil && sd.Rollback.Reason != nil {
			why = aws.ToString(sd.Rollback.Reason)
		}
		res.Reason = "rolled back: " + why
	default:
		res.State = StateFailed
		res.Reason = fmt.Sprintf("service deployment %s: %s", strings.ToLower(string(sd.Status)), why)
	}
	return wait.Status{State: res.State}, true, fmt.Errorf("deployment %s of service %s did not complete: %s", res.DeploymentID, res.Service, res.Reason)
}

// logEvents logs the service events not seen before, oldest first. The first
// poll shows only the events since the follow started.
func (f *follower) logEvents(svc types.Service) {
	for i := len(svc.Events) - 1; i >= 0; i-- {
		ev := svc.Events[i]
		id := aws.ToString(ev.Id)
		if f.seenEvent[id] {
			continue
		}
		f.seenEvent[id] = true
		if ev.CreatedAt != nil && ev.CreatedAt.Before(f.since) {
			continue
		}
		msg := aws.ToString(ev.Message)
		f.res.Events = append(f.res.Events, msg)
		f.d.log().Info("service event", "message", msg)
	}
}

// stoppedReasons logs why this task definition's tasks stopped (new ones only).
func (f *follower) stoppedReasons(ctx context.Context, taskDef string) {
	list, err := f.d.ECS.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster: aws.String(f.res.Cluster), ServiceName: aws.String(f.res.Service), DesiredStatus: types.DesiredStatusStopped,
	})
	if err != nil || len(list.TaskArns) == 0 {
		if err != nil {
			f.d.log().Debug("list stopped tasks", "error", err)
		}
		return
	}
	var fresh []string
	for _, arn := range list.TaskArns {
		if !f.seenTask[arn] {
			fresh = append(fresh, arn)
		}
	}
	if len(fresh) > 100 {
		fresh = fresh[len(fresh)-100:]
	}
	if len(fresh) == 0 {
		return
	}
	out, err := f.d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.res.Cluster), Tasks: fresh})
	if err != nil {
		f.d.log().Debug("describe stopped tasks", "error", err)
		return
	}
	for _, t := range out.Tasks {
		if aws.ToString(t.LastStatus) != "STOPPED" {
			continue // asked to stop, not yet stopped: look again next time
		}
		f.seenTask[aws.ToString(t.TaskArn)] = true
		if aws.ToString(t.TaskDefinitionArn) != taskDef {
			continue
		}
		reason := taskStopReason(t)
		f.res.StoppedTasks = append(f.res.StoppedTasks, reason)
		f.d.log().Warn("task stopped", "task", lastPart(aws.ToString(t.TaskArn)), "reason", reason)
	}
}

// taskStopReason says in plain words why a task stopped.
func taskStopReason(t types.Task) string {
	reason := aws.ToString(t.StoppedReason)
	for _, c := range t.Containers {
		if c.Reason != nil && aws.ToString(c.Reason) != reason {
			reason += " (" + aws.ToString(c.Name) + ": " + aws.ToString(c.Reason) + ")"
		}
		if c.ExitCode != nil && *c.ExitCode != 0 && t.StopCode == types.TaskStopCodeEssentialContainerExited {
			reason += fmt.Sprintf(" (container %s exited with code %d)", aws.ToString(c.Name), *c.ExitCode)
		}
	}
	if reason == "" {
		reason = string(t.StopCode)
	}
	return reason
}

func lastPart(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// WaitOptions are the inputs of `deploy wait`.
type WaitOptions struct {
	Cluster, Service string
	// Deployment is an ecs-svc/… id or a service deployment ARN; empty means
	// the service's PRIMARY deployment.
	Deployment   string
	Timeout      time.Duration
	PollInterval time.Duration
	// SpotAfter: as RolloutOptions.SpotAfter.
	SpotAfter time.Duration
}

var deploymentIDRe = regexp.MustCompile(`^ecs-svc/[0-9]{1,30}$`)

// Validate checks the options before any AWS call.
func (o WaitOptions) Validate() error {
	if err := validateNames(o.Cluster, o.Service); err != nil {
		return err
	}
	if o.Deployment != "" && !deploymentIDRe.MatchString(o.Deployment) && !strings.Contains(o.Deployment, ":service-deployment/") {
		return opserr.Usagef("invalid --deployment %q: want an ecs-svc/… deployment id or a service deployment ARN", o.Deployment)
	}
	if err := validatePoll(o.PollInterval); err != nil {
		return err
	}
	return validateTimeout(o.Timeout)
}

// Wait follows a deployment (by default the service's PRIMARY one) like
// Rollout does after it started one.
func Wait(ctx context.Context, d Deps, o WaitOptions) (RolloutResult, error) {
	res := RolloutResult{Cluster: o.Cluster, Service: o.Service}
	if err := o.Validate(); err != nil {
		return res, err
	}
	svc, err := describeService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	switch {
	case o.Deployment == "":
		p := primaryOf(svc)
		if p == nil {
			return res, fmt.Errorf("service %s has no PRIMARY deployment", o.Service)
		}
		res.DeploymentID = aws.ToString(p.Id)
	case strings.HasPrefix(o.Deployment, "arn:"):
		res.ServiceDeploymentArn = o.Deployment
		out, err := d.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{o.Deployment}})
		if err != nil {
			return res, fmt.Errorf("describe service deployment %s: %w", o.Deployment, err)
		}
		if len(out.ServiceDeployments) == 0 {
			return res, fmt.Errorf("service deployment %s not found", o.Deployment)
		}
		// The PRIMARY deployment of the service is this service deployment's
		// while it is ongoing; once it ended, its status is the answer.
		sd := out.ServiceDeployments[0]
		p := primaryOf(svc)
		if p != nil && (sd.Status == types.ServiceDeploymentStatusInProgress || sd.Status == types.ServiceDeploymentStatusPending) {
			res.DeploymentID = aws.ToString(p.Id)
		} else {
			f := &follower{d: d, res: &res}
			_, _, err := f.vanished(ctx)
			return res, err
		}
	default:
		res.DeploymentID = o.Deployment
	}
	return follow(ctx, d, res, o.Timeout, o.PollInterval, time.Time{}, o.SpotAfter)
}
