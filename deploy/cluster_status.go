package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// GroupStatus is an Auto Scaling group behind a capacity provider.
type GroupStatus struct {
	Name         string    `json:"name"`
	Status       string    `json:"status,omitempty"` // "Delete in progress" while being deleted
	Min          int32     `json:"min"`
	Max          int32     `json:"max"`
	Desired      int32     `json:"desired"`
	InService    int       `json:"in_service"`
	Pending      int       `json:"pending"`
	Terminating  int       `json:"terminating"`
	Spot         bool      `json:"spot"`
	Distribution string    `json:"distribution,omitempty"`
	Types        []string  `json:"instance_types,omitempty"`
	LastActivity *Activity `json:"last_activity,omitempty"`
}

// Activity is a scaling activity.
type Activity struct {
	Time        time.Time `json:"time"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Cause       string    `json:"cause,omitempty"`
}

// ProviderStatus is one capacity provider of a cluster.
type ProviderStatus struct {
	Name                  string       `json:"name"`
	Status                string       `json:"status"`
	ManagedScaling        string       `json:"managed_scaling,omitempty"`
	TargetCapacity        int32        `json:"target_capacity,omitempty"`
	TerminationProtection string       `json:"managed_termination_protection,omitempty"`
	ManagedDraining       string       `json:"managed_draining,omitempty"`
	Group                 *GroupStatus `json:"auto_scaling_group,omitempty"`
}

// ClusterStatus is what `deploy cluster status` reports.
type ClusterStatus struct {
	Cluster            string           `json:"cluster"`
	Status             string           `json:"status"`
	Mode               string           `json:"mode"`
	Region             string           `json:"region"`
	Subnets            []string         `json:"subnets"`
	SecurityGroup      string           `json:"security_group"`
	ActiveServices     int32            `json:"active_services"`
	RunningTasks       int32            `json:"running_tasks"`
	PendingTasks       int32            `json:"pending_tasks"`
	ContainerInstances int32            `json:"container_instances"`
	DefaultStrategy    []StrategyItem   `json:"default_strategy"`
	CapacityProviders  []ProviderStatus `json:"capacity_providers"`
	// Problems are what keeps the cluster from placing tasks, in plain words.
	Problems []string `json:"problems"`
}

// describeCluster returns the live (not INACTIVE) cluster, or nil.
func describeCluster(ctx context.Context, d Deps, name string) (*ecstypes.Cluster, error) {
	out, err := d.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name},
		Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags, ecstypes.ClusterFieldStatistics}})
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	for i, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			return &out.Clusters[i], nil
		}
	}
	return nil, nil
}

func clusterTags(c *ecstypes.Cluster) map[string]string {
	m := map[string]string{}
	for _, t := range c.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// groupStatus reads a group and its newest scaling activity.
func groupStatus(ctx context.Context, d Deps, name string) (*GroupStatus, error) {
	if d.AutoScaling == nil {
		return nil, missingClient("AutoScaling", "the status of Auto Scaling group "+name)
	}
	out, err := d.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("describe Auto Scaling group %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil, nil
	}
	g := out.AutoScalingGroups[0]
	gs := &GroupStatus{Name: name, Status: aws.ToString(g.Status), Min: aws.ToInt32(g.MinSize), Max: aws.ToInt32(g.MaxSize), Desired: aws.ToInt32(g.DesiredCapacity),
		Distribution: distributionString(g.MixedInstancesPolicy), Types: overrideTypes(g.MixedInstancesPolicy)}
	if m := g.MixedInstancesPolicy; m != nil && m.InstancesDistribution != nil {
		gs.Spot = aws.ToInt32(m.InstancesDistribution.OnDemandPercentageAboveBaseCapacity) < 100
	}
	for _, i := range g.Instances {
		switch {
		case i.LifecycleState == astypes.LifecycleStateInService:
			gs.InService++
		case strings.HasPrefix(string(i.LifecycleState), "Pending"):
			gs.Pending++
		case strings.HasPrefix(string(i.LifecycleState), "Terminating"):
			gs.Terminating++
		}
	}
	acts, err := d.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(name), MaxRecords: aws.Int32(1)})
	if err != nil {
		return nil, fmt.Errorf("describe scaling activities of %s: %w", name, err)
	}
	if len(acts.Activities) > 0 {
		a := acts.Activities[0]
		gs.LastActivity = &Activity{Time: aws.ToTime(a.StartTime), Description: aws.ToString(a.Description), Status: string(a.StatusCode), Cause: aws.ToString(a.Cause)}
	}
	return gs, nil
}

// ClusterStatusOf reports a cluster: its counts, capacity providers with
// their groups, and what would keep it from placing tasks.
func ClusterStatusOf(ctx context.Context, d Deps, name string) (ClusterStatus, error) {
	if err := ValidateClusterName(name); err != nil {
		return ClusterStatus{}, err
	}
	st := ClusterStatus{Cluster: name, Region: d.Region, Problems: []string{}, CapacityProviders: []ProviderStatus{}}
	c, err := describeCluster(ctx, d, name)
	if err != nil {
		return st, err
	}
	if c == nil {
		return st, fmt.Errorf("cluster %s not found in %s", name, d.Region)
	}
	tags := clusterTags(c)
	st.Status, st.Mode = aws.ToString(c.Status), tags[TagMode]
	st.Subnets = strings.Fields(tags[TagSubnets])
	st.SecurityGroup = tags[TagSecurityGroup]
	st.ActiveServices, st.RunningTasks, st.PendingTasks, st.ContainerInstances = c.ActiveServicesCount, c.RunningTasksCount, c.PendingTasksCount, c.RegisteredContainerInstancesCount
	for _, it := range c.DefaultCapacityProviderStrategy {
		st.DefaultStrategy = append(st.DefaultStrategy, StrategyItem{aws.ToString(it.CapacityProvider), it.Base, it.Weight})
	}
	if len(c.CapacityProviders) == 0 {
		st.Problems = append(st.Problems, "no capacity providers: re-run `opsctl deploy cluster create "+name+"`")
	}
	if len(c.DefaultCapacityProviderStrategy) == 0 && len(c.CapacityProviders) > 0 {
		st.Problems = append(st.Problems, "no default capacity provider strategy: services must name one")
	}
	names := append([]string(nil), c.CapacityProviders...)
	sort.Strings(names)
	var asgProviders []string
	for _, n := range names {
		if n == "FARGATE" || n == "FARGATE_SPOT" {
			st.CapacityProviders = append(st.CapacityProviders, ProviderStatus{Name: n, Status: "ACTIVE"})
			continue
		}
		asgProviders = append(asgProviders, n)
	}
	if len(asgProviders) > 0 {
		out, err := d.ECS.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: asgProviders})
		if err != nil {
			return st, fmt.Errorf("describe capacity providers of %s: %w", name, err)
		}
		for _, cp := range out.CapacityProviders {
			ps := ProviderStatus{Name: aws.ToString(cp.Name), Status: string(cp.Status)}
			if a := cp.AutoScalingGroupProvider; a != nil {
				if a.ManagedScaling != nil {
					ps.ManagedScaling, ps.TargetCapacity = string(a.ManagedScaling.Status), aws.ToInt32(a.ManagedScaling.TargetCapacity)
				}
				ps.TerminationProtection, ps.ManagedDraining = string(a.ManagedTerminationProtection), string(a.ManagedDraining)
				group := lastARNPart(aws.ToString(a.AutoScalingGroupArn))
				gs, err := groupStatus(ctx, d, group)
				if err != nil {
					return st, err
				}
				if gs == nil {
					st.Problems = append(st.Problems, fmt.Sprintf("capacity provider %s: its Auto Scaling group %s is gone", ps.Name, group))
				} else {
					ps.Group = gs
					if gs.Max == 0 {
						st.Problems = append(st.Problems, fmt.Sprintf("Auto Scaling group %s has max size 0: it cannot launch instances", gs.Name))
					}
				}
			}
			if cp.Status != ecstypes.CapacityProviderStatusActive {
				st.Problems = append(st.Problems, fmt.Sprintf("capacity provider %s is %s", ps.Name, cp.Status))
			}
			st.CapacityProviders = append(st.CapacityProviders, ps)
		}
		for _, f := range out.Failures {
			st.Problems = append(st.Problems, fmt.Sprintf("capacity provider %s: %s", lastARNPart(aws.ToString(f.Arn)), aws.ToString(f.Reason)))
		}
	}
	return st, nil
}

// lastARNPart is what follows an ARN's last '/' (a group's or provider's name).
func lastARNPart(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
