// Package ecsemu is the local endpoint's Amazon ECS emulation (awsJson1.1,
// X-Amz-Target AmazonEC2ContainerServiceV20141113.*, SigV4 name "ecs"):
// clusters, capacity providers (Auto Scaling group providers, FARGATE and
// FARGATE_SPOT), task definitions, services with rolling deployments and the
// deployment circuit breaker, tasks, container instances, the service
// deployments API (List/Describe/StopServiceDeployment) and tags.
//
// Validation, enums, error codes and messages follow botocore's
// ecs/2014-11-13/service-2.json and the ECS API reference.
//
// # Time
//
// Nothing runs in the background. State that changes over time is computed
// from the endpoint's clock when a request arrives: the service scheduler
// runs on a fixed 5-second grid of endpoint time up to "now" (skipping ahead
// while nothing is happening), and each task carries its own timeline
// (PROVISIONING → PENDING → RUNNING, or STOPPED with AWS's stopCode and
// stoppedReason), so a test that moves a clock.Fake 30 minutes sees exactly
// what 30 minutes of ECS would have done. A task is PROVISIONING for 10 s,
// PENDING (pulling) for 20 s and RUNNING after 30 s; a task without a
// container health check counts as healthy 40 s after it started (as ECS
// counts it toward minimumHealthyPercent), one with a health check after its
// first interval.
//
// Rolling deployments honour minimumHealthyPercent and maximumPercent
// (defaults 100 and 200), reach rolloutState COMPLETED with AWS's events
// ("(service S) (deployment ecs-svc/N) deployment completed.", "(service S)
// has reached a steady state."), and the circuit breaker fails a deployment
// when its consecutively failed tasks reach the threshold: by default
// BOUNDED_PERCENT 50, i.e. ceil(0.5 × desired) clamped to [3, 200];
// UNBOUNDED_PERCENT without the clamps; COUNT as given
// (DeploymentCircuitBreaker.thresholdConfiguration). With rollback on, a new
// PRIMARY deployment of the last COMPLETED task definition follows ("(service
// S) rolling back to deployment ecs-svc/N."). Deployment alarms fire when
// the AlarmState getter reports one of them in ALARM ("deployment failed:
// alarm detected."), with the same rollback. The endpoint wires AlarmState
// to the CloudWatch emulation (cwemu.Server.AlarmStateValue), so an alarm
// put into ALARM by SetAlarmState or by evaluation fails the deployment;
// without a getter they never fire.
//
// # Test control
//
// By convention, in the image reference of a task's essential container:
//
//   - "fail-pull" anywhere in the image (for example repo:fail-pull): the task
//     stops before it runs, stopCode TaskFailedToStart, stoppedReason
//     "CannotPullContainerError: ...".
//   - "exit-1": the task runs for 10 s, then its essential container exits
//     with code 1 (stopCode EssentialContainerExited, "Essential container in
//     task exited"), before it ever counts as healthy.
//   - "unhealthy": the container's health check fails; service tasks are
//     stopped by the scheduler ("Task failed container health checks").
//
// A task started by RunTask with a command (in the container definition or
// an override) runs for 20 s and exits; its exit code is N when the command
// contains "exit N", else 0. Without a command it runs until stopped.
//
// Spot capacity is FARGATE_SPOT and every Auto Scaling group capacity
// provider whose name contains "spot" (any case). Tag a cluster (TagResource)
// with
//
//   - localaws:spot=unavailable: spot capacity cannot place tasks in that
//     cluster ("was unable to place a task. Reason: Capacity is unavailable
//     at this time. ...") and its running spot tasks are interrupted
//     (stopCode SpotInterruption, "Your Spot Task was interrupted.");
//     localaws:spot=available, or untagging the key, brings it back;
//   - localaws:spot-interrupt (any value): interrupts the running spot tasks
//     once, now; the tag is consumed.
//
// In process, SetSpotAvailable and InterruptSpot do the same.
//
// Capacity: FARGATE and FARGATE_SPOT always have room (unless spot is made
// unavailable); an Auto Scaling group provider gets container instances
// created as tasks need them (managed scaling), four tasks each; the EC2
// launch type without a capacity provider has no container instances, so it
// cannot place tasks.
package ecsemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// tick is the scheduler's grid of endpoint time.
const tick = 5 * time.Second

// Server is the ECS emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC

	Region, Account string

	clk clock.Clock

	// AlarmState, when set, tells the state ("OK", "ALARM",
	// "INSUFFICIENT_DATA"; "" for no such alarm) of a CloudWatch alarm named
	// in a service's deployment alarms. A deployment fails when one of them
	// is in ALARM, unless it already was when the deployment started. The
	// endpoint (internal/localaws/services.go) sets it to the CloudWatch
	// emulation's cwemu.Server.AlarmStateValue. Nil: deployment alarms never
	// fire. Set it before the server handles requests.
	AlarmState func(name string) string

	lb LoadBalancing // the ELBv2 emulation (lb.go); nil: load balancers unused
	// TaskLog, when set, receives what an emulated container writes (see
	// tasklogs.go) for each container with the awslogs driver; the endpoint
	// sets it to the Logs emulation's AppendContainerLog. Nil: no logs.
	TaskLog func(group, stream string, createGroup bool, at time.Time, lines []string) error

	// AutoScalingGroupExists, when set, tells whether an Auto Scaling group
	// (ARN or name) exists; CreateCapacityProvider rejects one that does not
	// with a ClientException. The endpoint sets it from the Auto Scaling
	// emulation (autoscalingemu.Server.Group). Nil: not checked.
	AutoScalingGroupExists func(nameOrARN string) bool

	mu        sync.Mutex
	clusters  map[string]*cluster
	providers map[string]*provider // Auto Scaling group providers, by name
	families  map[string][]*taskDef
	sdeps     map[string]*svcDeployment // by ARN
	tagsOf    map[string][]types.Tag    // task definitions' and tasks' tags, by ARN
}

// New returns an empty emulation for region and account, on clk (nil: real time).
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{
		Region: region, Account: account, clk: clock.Or(clk),
		clusters:  map[string]*cluster{},
		providers: map[string]*provider{},
		families:  map[string][]*taskDef{},
		sdeps:     map[string]*svcDeployment{},
		tagsOf:    map[string][]types.Tag{},
	}
	ops := map[string]func(now time.Time, dec awsproto.Decoder) (any, error){
		"CreateCluster":               s.createCluster,
		"DescribeClusters":            s.describeClusters,
		"ListClusters":                s.listClusters,
		"DeleteCluster":               s.deleteCluster,
		"UpdateCluster":               s.updateCluster,
		"PutClusterCapacityProviders": s.putClusterCapacityProviders,
		"CreateCapacityProvider":      s.createCapacityProvider,
		"DescribeCapacityProviders":   s.describeCapacityProviders,
		"UpdateCapacityProvider":      s.updateCapacityProvider,
		"DeleteCapacityProvider":      s.deleteCapacityProvider,
		"RegisterTaskDefinition":      s.registerTaskDefinition,
		"DescribeTaskDefinition":      s.describeTaskDefinition,
		"DeregisterTaskDefinition":    s.deregisterTaskDefinition,
		"DeleteTaskDefinitions":       s.deleteTaskDefinitions,
		"ListTaskDefinitions":         s.listTaskDefinitions,
		"ListTaskDefinitionFamilies":  s.listTaskDefinitionFamilies,
		"CreateService":               s.createService,
		"UpdateService":               s.updateService,
		"DescribeServices":            s.describeServices,
		"DeleteService":               s.deleteService,
		"ListServices":                s.listServices,
		"ListTasks":                   s.listTasks,
		"DescribeTasks":               s.describeTasks,
		"RunTask":                     s.runTask,
		"StopTask":                    s.stopTask,
		"ListServiceDeployments":      s.listServiceDeployments,
		"DescribeServiceDeployments":  s.describeServiceDeployments,
		"StopServiceDeployment":       s.stopServiceDeployment,
		"ListContainerInstances":      s.listContainerInstances,
		"DescribeContainerInstances":  s.describeContainerInstances,
		"TagResource":                 s.tagResource,
		"UntagResource":               s.untagResource,
		"ListTagsForResource":         s.listTagsForResource,
	}
	s.RPC.Ops = map[string]awsproto.Handler{}
	for name, op := range ops {
		op := op
		s.RPC.Ops[name] = func(r *http.Request, dec awsproto.Decoder) (any, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			now := s.clk.Now()
			s.advance(now)
			out, err := op(now, dec)
			if err != nil {
				return nil, err
			}
			return wire(out), nil
		}
	}
	return s
}

var _ http.Handler = (*Server)(nil)

// ---- errors (botocore ecs service-2.json error shapes) ----

func errClusterNotFound() error {
	return awsproto.Errf("ClusterNotFoundException", "Cluster not found.")
}

func errServiceNotFound() error {
	return awsproto.Errf("ServiceNotFoundException", "Service not found.")
}

func errServiceNotActive() error {
	return awsproto.Errf("ServiceNotActiveException", "Service was not ACTIVE.")
}

func invalid(format string, args ...any) error {
	return awsproto.Errf("InvalidParameterException", format, args...)
}

func clientErr(format string, args ...any) error {
	return awsproto.Errf("ClientException", format, args...)
}

// ---- names, ARNs and ids ----

// nameRe is the rule for cluster, service, family and capacity provider
// names: "Up to 255 letters (uppercase and lowercase), numbers, underscores,
// and hyphens are allowed."
var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *Server) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.Region, s.Account, resource)
}

// lastSegment returns the part of an ARN (or a bare name) after the last "/".
func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// resourceOf splits an ECS ARN into its resource type and the path after it
// ("cluster", "prod"); ok is false for anything else.
func resourceOf(arn string) (kind, path string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	kind, path, found := strings.Cut(parts[5], "/")
	if !found {
		return "", "", false
	}
	return kind, path, true
}

func hexID(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// digits returns a random decimal string of n digits without a leading zero
// (deployment ids are ecs-svc/<19 digits>).
func digits(n int) string {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n-1)), nil)
	v, _ := rand.Int(rand.Reader, new(big.Int).Mul(max, big.NewInt(9)))
	return v.Add(v, max).String()
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func shortID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkMaxResults(p *int32, max int32) error {
	if p == nil {
		return nil
	}
	if *p < 1 || *p > max {
		return invalid("maxResults must be between 1 and %d.", max)
	}
	return nil
}

// ---- tags (botocore ecs Tag, Tags: 0..50; TagKey 1..128, TagValue 0..256) ----

var tagKeyRe = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)

func checkTags(tags []types.Tag) error {
	if len(tags) > 50 {
		return invalid("Tags can have at most 50 items.")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		k := str(t.Key)
		if len(k) < 1 || len(k) > 128 {
			return invalid("Tag keys must be between 1 and 128 characters.")
		}
		if !tagKeyRe.MatchString(k) || !tagKeyRe.MatchString(str(t.Value)) {
			return invalid("Tag key or value contains characters that are not allowed.")
		}
		if len(str(t.Value)) > 256 {
			return invalid("Tag values must be at most 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalid("Tag keys with the aws: prefix are reserved for AWS use.")
		}
		if seen[k] {
			return invalid("Duplicate tag key %q.", k)
		}
		seen[k] = true
	}
	return nil
}

// mergeTags adds or replaces tags by key.
func mergeTags(have, add []types.Tag) []types.Tag {
	out := append([]types.Tag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if str(out[i].Key) == str(t.Key) {
				out[i].Value = t.Value
				replaced = true
			}
		}
		if !replaced {
			out = append(out, types.Tag{Key: t.Key, Value: t.Value})
		}
	}
	return out
}

func removeTags(have []types.Tag, keys []string) []types.Tag {
	var out []types.Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if str(t.Key) == k {
				drop = true
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}
