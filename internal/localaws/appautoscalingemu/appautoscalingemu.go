// Package appautoscalingemu is the local endpoint's Application Auto Scaling
// emulation (awsJson1.1, X-Amz-Target AnyScaleFrontendService.*, SigV4 name
// "application-autoscaling"): scalable targets, target tracking and step
// scaling policies, and scaling activities, with the constraints, enums and
// error codes of botocore's application-autoscaling service-2.json.
//
// ECS is the namespace deploy uses. When Capacity is set (the ECS emulation's
// desired counts), registering a target whose bounds exclude the current
// desired count moves it into the bounds and records the activity, as AWS
// does; ScaleTo lets a test play a target-tracking scale-out.
package appautoscalingemu

import (
	"crypto/rand"
	"encoding/hex"
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

const pageSize = 10

// Capacity reads and sets the current capacity of a scalable resource (for
// ECS: a service's desiredCount). ok is false for an unknown resource.
type Capacity interface {
	Desired(namespace, resourceID, dimension string) (n int, ok bool)
	SetDesired(namespace, resourceID, dimension string, n int) error
}

// Server is the Application Auto Scaling emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	// Capacity, when set, is consulted by RegisterScalableTarget (an unknown
	// ECS service is a ValidationException) and moved by ScaleTo.
	Capacity Capacity

	clk        clock.Clock
	mu         sync.Mutex
	targets    map[string]*target // key: ns|id|dim
	activities []*activity
}

type target struct {
	ns, id, dim string
	min, max    int
	role, arn   string
	created     time.Time
	suspended   map[string]bool
	policies    map[string]*policy
}

type policy struct {
	name, arn, typ string
	tt             map[string]any
	step           map[string]any
	alarms         []alarm
	created        time.Time
}

type alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

type activity struct {
	ID, NS, ResourceID, Dim, Description, Cause, Status, Message string
	Start, End                                                   time.Time
}

// New returns an empty emulation.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), targets: map[string]*target{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"RegisterScalableTarget":    s.registerScalableTarget,
		"DescribeScalableTargets":   s.describeScalableTargets,
		"DeregisterScalableTarget":  s.deregisterScalableTarget,
		"PutScalingPolicy":          s.putScalingPolicy,
		"DescribeScalingPolicies":   s.describeScalingPolicies,
		"DeleteScalingPolicy":       s.deleteScalingPolicy,
		"DescribeScalingActivities": s.describeScalingActivities,
	}
	return s
}

// Enums from botocore application-autoscaling service-2.json.
var namespaces = []string{"ecs", "elasticmapreduce", "ec2", "appstream", "dynamodb", "rds", "sagemaker", "custom-resource", "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune", "workspaces"}

var dimensions = []string{"ecs:service:DesiredCount", "ec2:spot-fleet-request:TargetCapacity", "elasticmapreduce:instancegroup:InstanceCount", "appstream:fleet:DesiredCapacity", "dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits", "dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits", "rds:cluster:ReadReplicaCount", "sagemaker:variant:DesiredInstanceCount", "custom-resource:ResourceType:Property", "comprehend:document-classifier-endpoint:DesiredInferenceUnits", "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits", "lambda:function:ProvisionedConcurrency", "cassandra:table:ReadCapacityUnits", "cassandra:table:WriteCapacityUnits", "kafka:broker-storage:VolumeSize", "elasticache:cache-cluster:Nodes", "elasticache:replication-group:NodeGroups", "elasticache:replication-group:Replicas", "neptune:cluster:ReadReplicaCount", "sagemaker:variant:DesiredProvisionedConcurrency", "sagemaker:inference-component:DesiredCopyCount", "workspaces:workspacespool:DesiredUserSessions"}

var policyTypes = []string{"StepScaling", "TargetTrackingScaling", "PredictiveScaling"}

var metricTypes = []string{"DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization", "ALBRequestCountPerTarget", "RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections", "EC2SpotFleetRequestAverageCPUUtilization", "EC2SpotFleetRequestAverageNetworkIn", "EC2SpotFleetRequestAverageNetworkOut", "SageMakerVariantInvocationsPerInstance", "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "AppStreamAverageCapacityUtilization", "ComprehendInferenceUtilization", "LambdaProvisionedConcurrencyUtilization", "CassandraReadCapacityUtilization", "CassandraWriteCapacityUtilization", "KafkaBrokerStorageUtilization", "ElastiCacheEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsagePercentage", "ElastiCachePrimaryEngineCPUUtilization", "ElastiCacheReplicaEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage", "NeptuneReaderAverageCPUUtilization", "SageMakerVariantProvisionedConcurrencyUtilization", "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage", "SageMakerInferenceComponentInvocationsPerCopy", "WorkSpacesAverageUserSessionsCapacityUtilization", "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution", "SageMakerVariantConcurrentRequestsPerModelHighResolution", "ECSServiceAverageCPUUtilizationHighResolution", "ECSServiceAverageMemoryUtilizationHighResolution"}

// ecsResourceRe: "ECS service - The resource type is service and the unique
// identifier is the cluster name and service name. Example:
// service/my-cluster/my-service." (RegisterScalableTarget ResourceId docs).
var ecsResourceRe = regexp.MustCompile(`^service/[A-Za-z0-9_-]{1,255}/[A-Za-z0-9_-]{1,255}$`)

func in(v string, enum []string) bool {
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}

func validation(format string, args ...any) error {
	return awsproto.Errf("ValidationException", format, args...)
}

func enumErr(value, member string, enum []string) error {
	return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", value, member, strings.Join(enum, ", "))
}

func notNull(member string) error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ident is the (namespace, resource id, dimension) triple most calls carry.
type ident struct {
	ServiceNamespace  *string
	ResourceId        *string
	ScalableDimension *string
}

func (x ident) check(needID, needDim bool) error {
	if x.ServiceNamespace == nil {
		return notNull("serviceNamespace")
	}
	if !in(*x.ServiceNamespace, namespaces) {
		return enumErr(*x.ServiceNamespace, "serviceNamespace", namespaces)
	}
	if x.ResourceId == nil && needID {
		return notNull("resourceId")
	}
	if x.ResourceId != nil && (len(*x.ResourceId) < 1 || len(*x.ResourceId) > 1600) {
		return validation("1 validation error detected: Value '%s' at 'resourceId' failed to satisfy constraint: Member must have length less than or equal to 1600", *x.ResourceId)
	}
	if x.ScalableDimension == nil && needDim {
		return notNull("scalableDimension")
	}
	if x.ScalableDimension != nil {
		if !in(*x.ScalableDimension, dimensions) {
			return enumErr(*x.ScalableDimension, "scalableDimension", dimensions)
		}
		if !strings.HasPrefix(*x.ScalableDimension, *x.ServiceNamespace+":") {
			return validation("Unsupported scalable dimension '%s' for service namespace '%s'", *x.ScalableDimension, *x.ServiceNamespace)
		}
	}
	if x.ResourceId != nil && *x.ServiceNamespace == "ecs" && !ecsResourceRe.MatchString(*x.ResourceId) {
		return validation("Unsupported service namespace, resource type or scalable dimension")
	}
	return nil
}

func key(ns, id, dim string) string { return ns + "|" + id + "|" + dim }

func (s *Server) notRegistered(ns, id, dim string) error {
	return awsproto.Errf("ObjectNotFoundException", "No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", ns, id, dim)
}

func (s *Server) registerScalableTarget(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ident
		MinCapacity, MaxCapacity *int
		RoleARN                  *string
		SuspendedState           map[string]bool
		Tags                     map[string]string
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if err := req.check(true, true); err != nil {
		return nil, err
	}
	ns, id, dim := *req.ServiceNamespace, *req.ResourceId, *req.ScalableDimension
	if req.MinCapacity != nil && *req.MinCapacity < 0 || req.MaxCapacity != nil && *req.MaxCapacity < 0 {
		return nil, validation("Minimum and maximum capacity must be non-negative")
	}
	s.mu.Lock()
	t := s.targets[key(ns, id, dim)]
	s.mu.Unlock()
	if t == nil && (req.MinCapacity == nil || req.MaxCapacity == nil) {
		return nil, validation("MinCapacity and MaxCapacity are required for registering a new scalable target")
	}
	min, max := 0, 0
	if t != nil {
		min, max = t.min, t.max
	}
	if req.MinCapacity != nil {
		min = *req.MinCapacity
	}
	if req.MaxCapacity != nil {
		max = *req.MaxCapacity
	}
	if min > max {
		return nil, validation("Minimum capacity cannot be greater than maximum capacity")
	}
	if s.Capacity != nil && ns == "ecs" {
		if _, ok := s.Capacity.Desired(ns, id, dim); !ok {
			parts := strings.Split(id, "/")
			return nil, validation("ECS service doesn't exist: service/%s/%s", parts[1], parts[2])
		}
	}
	s.mu.Lock()
	now := s.clk.Now()
	if t == nil {
		t = &target{ns: ns, id: id, dim: dim, created: now, policies: map[string]*policy{},
			arn:  fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", s.Region, s.Account, strings.ReplaceAll(uuid(), "-", "")[:28]),
			role: s.serviceLinkedRole(ns), suspended: map[string]bool{}}
		s.targets[key(ns, id, dim)] = t
	}
	t.min, t.max = min, max
	if req.RoleARN != nil {
		t.role = *req.RoleARN
	}
	for k, v := range req.SuspendedState {
		t.suspended[k] = v
	}
	arn := t.arn
	s.mu.Unlock()
	// Bounds that exclude the current capacity move it into them.
	if s.Capacity != nil {
		if cur, ok := s.Capacity.Desired(ns, id, dim); ok {
			switch {
			case cur < min:
				s.ScaleTo(ns, id, dim, min, fmt.Sprintf("minimum capacity was set to %d", min))
			case cur > max:
				s.ScaleTo(ns, id, dim, max, fmt.Sprintf("maximum capacity was set to %d", max))
			}
		}
	}
	return map[string]any{"ScalableTargetARN": arn}, nil
}

func (s *Server) serviceLinkedRole(ns string) string {
	if ns == "ecs" {
		return fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService", s.Account)
	}
	return fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/%s.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling", s.Account, ns)
}

// ScaleTo sets a registered target's capacity to n (clamped to its bounds)
// and records a successful scaling activity with cause, as a target tracking
// alarm would. It reports whether the target exists.
func (s *Server) ScaleTo(ns, id, dim string, n int, cause string) bool {
	s.mu.Lock()
	t := s.targets[key(ns, id, dim)]
	if t == nil {
		s.mu.Unlock()
		return false
	}
	if n < t.min {
		n = t.min
	}
	if n > t.max {
		n = t.max
	}
	s.mu.Unlock()
	status, msg := "Successful", "Successfully set desired count to "+fmt.Sprint(n)+". Change successfully fulfilled by ecs."
	if s.Capacity != nil {
		if err := s.Capacity.SetDesired(ns, id, dim, n); err != nil {
			status, msg = "Failed", err.Error()
		}
	}
	now := s.clk.Now()
	s.mu.Lock()
	s.activities = append(s.activities, &activity{ID: uuid(), NS: ns, ResourceID: id, Dim: dim,
		Description: fmt.Sprintf("Setting desired count to %d.", n), Cause: cause, Status: status, Message: msg, Start: now, End: now})
	s.mu.Unlock()
	return true
}

type targetOut struct {
	ServiceNamespace  string             `json:"ServiceNamespace"`
	ResourceId        string             `json:"ResourceId"`
	ScalableDimension string             `json:"ScalableDimension"`
	MinCapacity       int                `json:"MinCapacity"`
	MaxCapacity       int                `json:"MaxCapacity"`
	RoleARN           string             `json:"RoleARN"`
	CreationTime      awsproto.EpochTime `json:"CreationTime"`
	SuspendedState    map[string]bool    `json:"SuspendedState"`
	ScalableTargetARN string             `json:"ScalableTargetARN"`
}

func checkMax(n *int) error {
	// DescribeScalableTargets/Policies/Activities MaxResults: "Valid values
	// are between 1 and 50" (API reference).
	if n != nil && (*n < 1 || *n > 50) {
		return validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", *n)
	}
	return nil
}

func limit(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

func (s *Server) describeScalableTargets(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ServiceNamespace  *string
		ResourceIds       []string
		ScalableDimension *string
		MaxResults        *int
		NextToken         string
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if err := (ident{ServiceNamespace: req.ServiceNamespace, ScalableDimension: req.ScalableDimension}).check(false, false); err != nil {
		return nil, err
	}
	if len(req.ResourceIds) > 50 {
		return nil, validation("1 validation error detected: Value at 'resourceIds' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	if err := checkMax(req.MaxResults); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []targetOut
	for _, k := range sortedKeys(s.targets) {
		t := s.targets[k]
		if t.ns != *req.ServiceNamespace || req.ScalableDimension != nil && t.dim != *req.ScalableDimension || len(req.ResourceIds) > 0 && !in(t.id, req.ResourceIds) {
			continue
		}
		ss := map[string]bool{"DynamicScalingInSuspended": t.suspended["DynamicScalingInSuspended"], "DynamicScalingOutSuspended": t.suspended["DynamicScalingOutSuspended"], "ScheduledScalingSuspended": t.suspended["ScheduledScalingSuspended"]}
		list = append(list, targetOut{t.ns, t.id, t.dim, t.min, t.max, t.role, awsproto.EpochTime(t.created), ss, t.arn})
	}
	s.mu.Unlock()
	return pageOut("ScalableTargets", list, req.NextToken, req.MaxResults)
}

func (s *Server) deregisterScalableTarget(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req ident
	if err := dec(&req); err != nil {
		return nil, err
	}
	if err := req.check(true, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(*req.ServiceNamespace, *req.ResourceId, *req.ScalableDimension)
	if s.targets[k] == nil {
		return nil, awsproto.Errf("ObjectNotFoundException", "No scalable target found for service namespace: %s, resource ID: %s, scalable dimension: %s", *req.ServiceNamespace, *req.ResourceId, *req.ScalableDimension)
	}
	// Deregistering a target deletes the scaling policies associated with it.
	delete(s.targets, k)
	return struct{}{}, nil
}

var printRe = regexp.MustCompile(`^[[:print:]]+$`)

func (s *Server) putScalingPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ident
		PolicyName                               *string
		PolicyType                               *string
		TargetTrackingScalingPolicyConfiguration map[string]any
		StepScalingPolicyConfiguration           map[string]any
		PredictiveScalingPolicyConfiguration     map[string]any
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if req.PolicyName == nil {
		return nil, notNull("policyName")
	}
	if n := len(*req.PolicyName); n < 1 || n > 256 || !printRe.MatchString(*req.PolicyName) {
		return nil, validation("1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{Print}+", *req.PolicyName)
	}
	if err := req.check(true, true); err != nil {
		return nil, err
	}
	typ := "StepScaling" // the default (PutScalingPolicy PolicyType docs)
	if req.PolicyType != nil {
		if !in(*req.PolicyType, policyTypes) {
			return nil, enumErr(*req.PolicyType, "policyType", policyTypes)
		}
		typ = *req.PolicyType
	}
	ns, id, dim := *req.ServiceNamespace, *req.ResourceId, *req.ScalableDimension
	switch typ {
	case "TargetTrackingScaling":
		tt := req.TargetTrackingScalingPolicyConfiguration
		if tt == nil {
			return nil, validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling")
		}
		tv, ok := tt["TargetValue"].(float64)
		if !ok {
			return nil, notNull("targetTrackingScalingPolicyConfiguration.targetValue")
		}
		// "The target value for the metric. Although this property accepts
		// numbers of type Double, it won't accept values that are either too
		// small or too large. Values must be in the range of -2^360 to 2^360."
		// For utilization metrics the value is a percentage.
		if tv <= 0 {
			return nil, validation("The target value must be greater than 0")
		}
		pm, hasP := tt["PredefinedMetricSpecification"].(map[string]any)
		_, hasC := tt["CustomizedMetricSpecification"].(map[string]any)
		if hasP == hasC {
			return nil, validation("Exactly one of PredefinedMetricSpecification or CustomizedMetricSpecification must be specified")
		}
		if hasP {
			mt, _ := pm["PredefinedMetricType"].(string)
			if mt == "" {
				return nil, notNull("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")
			}
			if !in(mt, metricTypes) {
				return nil, enumErr(mt, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType", metricTypes)
			}
			if ns == "ecs" && !strings.HasPrefix(mt, "ECSService") && mt != "ALBRequestCountPerTarget" {
				return nil, validation("Unsupported metric type %s for service namespace %s", mt, ns)
			}
			if mt == "ALBRequestCountPerTarget" {
				if l, _ := pm["ResourceLabel"].(string); l == "" {
					return nil, validation("ResourceLabel is required for predefined metric type ALBRequestCountPerTarget")
				}
			}
		}
		for _, c := range []string{"ScaleInCooldown", "ScaleOutCooldown"} {
			if v, ok := tt[c].(float64); ok && (v < 0 || v > 31536000) {
				return nil, validation("1 validation error detected: Value '%v' at 'targetTrackingScalingPolicyConfiguration.%s' failed to satisfy constraint: Member must have value less than or equal to 31536000", v, strings.ToLower(c[:1])+c[1:])
			}
		}
	case "StepScaling":
		if req.StepScalingPolicyConfiguration == nil {
			return nil, validation("StepScalingPolicyConfiguration is required for a policy of type StepScaling")
		}
	case "PredictiveScaling":
		if ns != "ecs" {
			return nil, validation("PredictiveScaling is not supported for service namespace %s", ns)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[key(ns, id, dim)]
	if t == nil {
		return nil, s.notRegistered(ns, id, dim)
	}
	name := *req.PolicyName
	p := t.policies[name]
	if p == nil {
		p = &policy{name: name, created: s.clk.Now(),
			arn: fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s", s.Region, s.Account, uuid(), ns, id, name)}
		t.policies[name] = p
	}
	p.typ = typ
	p.tt, p.step = req.TargetTrackingScalingPolicyConfiguration, req.StepScalingPolicyConfiguration
	p.alarms = nil
	if typ == "TargetTrackingScaling" {
		// AWS creates two alarms per target tracking policy (BC examples-1.json).
		for _, hl := range []string{"AlarmHigh", "AlarmLow"} {
			n := fmt.Sprintf("TargetTracking-%s-%s-%s", id, hl, uuid())
			p.alarms = append(p.alarms, alarm{n, fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.Region, s.Account, n)})
		}
	}
	out := map[string]any{"PolicyARN": p.arn}
	if p.alarms != nil {
		out["Alarms"] = p.alarms
	}
	return out, nil
}

type policyOut struct {
	PolicyARN                                string             `json:"PolicyARN"`
	PolicyName                               string             `json:"PolicyName"`
	ServiceNamespace                         string             `json:"ServiceNamespace"`
	ResourceId                               string             `json:"ResourceId"`
	ScalableDimension                        string             `json:"ScalableDimension"`
	PolicyType                               string             `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration map[string]any     `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	StepScalingPolicyConfiguration           map[string]any     `json:"StepScalingPolicyConfiguration,omitempty"`
	Alarms                                   []alarm            `json:"Alarms"`
	CreationTime                             awsproto.EpochTime `json:"CreationTime"`
}

func (s *Server) describeScalingPolicies(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ident
		PolicyNames []string
		MaxResults  *int
		NextToken   string
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if err := req.check(false, false); err != nil {
		return nil, err
	}
	if len(req.PolicyNames) > 50 {
		return nil, validation("1 validation error detected: Value at 'policyNames' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	if err := checkMax(req.MaxResults); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []policyOut
	for _, k := range sortedKeys(s.targets) {
		t := s.targets[k]
		if t.ns != *req.ServiceNamespace || req.ResourceId != nil && t.id != *req.ResourceId || req.ScalableDimension != nil && t.dim != *req.ScalableDimension {
			continue
		}
		for _, n := range sortedKeys(t.policies) {
			p := t.policies[n]
			if len(req.PolicyNames) > 0 && !in(n, req.PolicyNames) {
				continue
			}
			list = append(list, policyOut{p.arn, p.name, t.ns, t.id, t.dim, p.typ, p.tt, p.step, append([]alarm{}, p.alarms...), awsproto.EpochTime(p.created)})
		}
	}
	s.mu.Unlock()
	return pageOut("ScalingPolicies", list, req.NextToken, req.MaxResults)
}

func (s *Server) deleteScalingPolicy(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ident
		PolicyName *string
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if req.PolicyName == nil {
		return nil, notNull("policyName")
	}
	if err := req.check(true, true); err != nil {
		return nil, err
	}
	ns, id, dim := *req.ServiceNamespace, *req.ResourceId, *req.ScalableDimension
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[key(ns, id, dim)]
	if t == nil || t.policies[*req.PolicyName] == nil {
		return nil, awsproto.Errf("ObjectNotFoundException", "No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s", ns, id, dim, *req.PolicyName)
	}
	delete(t.policies, *req.PolicyName)
	return struct{}{}, nil
}

type activityOut struct {
	ActivityId        string              `json:"ActivityId"`
	ServiceNamespace  string              `json:"ServiceNamespace"`
	ResourceId        string              `json:"ResourceId"`
	ScalableDimension string              `json:"ScalableDimension"`
	Description       string              `json:"Description"`
	Cause             string              `json:"Cause"`
	StartTime         awsproto.EpochTime  `json:"StartTime"`
	EndTime           *awsproto.EpochTime `json:"EndTime,omitempty"`
	StatusCode        string              `json:"StatusCode"`
	StatusMessage     string              `json:"StatusMessage,omitempty"`
}

func (s *Server) describeScalingActivities(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var req struct {
		ident
		MaxResults *int
		NextToken  string
	}
	if err := dec(&req); err != nil {
		return nil, err
	}
	if err := req.check(false, false); err != nil {
		return nil, err
	}
	if err := checkMax(req.MaxResults); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []activityOut
	// Newest first.
	for i := len(s.activities) - 1; i >= 0; i-- {
		a := s.activities[i]
		if a.NS != *req.ServiceNamespace || req.ResourceId != nil && a.ResourceID != *req.ResourceId || req.ScalableDimension != nil && a.Dim != *req.ScalableDimension {
			continue
		}
		end := awsproto.EpochTime(a.End)
		list = append(list, activityOut{a.ID, a.NS, a.ResourceID, a.Dim, a.Description, a.Cause, awsproto.EpochTime(a.Start), &end, a.Status, a.Message})
	}
	s.mu.Unlock()
	return pageOut("ScalingActivities", list, req.NextToken, req.MaxResults)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var _ http.Handler = (*Server)(nil)

// pageOut answers one page of list under key (an empty list, never null),
// with NextToken while more remain: the Describe* calls' shared tail.
func pageOut[T any](key string, list []T, token string, max *int) (any, error) {
	page, next, err := awsproto.Paginate(list, token, limit(max), pageSize, "InvalidNextTokenException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{key: append([]T{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
