package ecsemu_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func (f *fixture) tasks(cluster string, status types.DesiredStatus) []types.Task {
	f.t.Helper()
	list, err := f.ecs.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: status})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		f.t.Fatal(err)
	}
	return out.Tasks
}

func TestSpotUnavailableInterruptsAndBlocksPlacement(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	td := f.register("web", "example/web:v1")
	f.createService("prod", "web", td, 4, true) // base 1 FARGATE + 3 FARGATE_SPOT (weights 1:3)
	f.clk.Advance(3 * time.Minute)

	cl, _ := f.ecs.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	// The documented test-control tag (package doc): localaws:spot=unavailable.
	if _, err := f.ecs.TagResource(f.ctx, &ecs.TagResourceInput{ResourceArn: cl.Clusters[0].ClusterArn,
		Tags: []types.Tag{{Key: aws.String("localaws:spot"), Value: aws.String("unavailable")}}}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	interrupted := 0
	for _, tk := range f.tasks("prod", types.DesiredStatusStopped) {
		if tk.StopCode == types.TaskStopCodeSpotInterruption && aws.ToString(tk.StoppedReason) == "Your Spot Task was interrupted." {
			interrupted++
		}
	}
	if interrupted != 3 {
		t.Errorf("%d spot tasks interrupted, want 3", interrupted)
	}
	svc := f.service("prod", "web")
	want := "(service web) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone."
	if !strings.Contains(events(svc), want) {
		t.Errorf("events lack %q:\n%s", want, events(svc))
	}
	if svc.RunningCount != 1 {
		t.Errorf("running = %d with spot unavailable, want the 1 on-demand task", svc.RunningCount)
	}
	if strings.Count(events(svc), "Capacity is unavailable") != 1 {
		t.Errorf("the placement failure repeats; duplicates are suppressed:\n%s", events(svc))
	}

	// Back: the service places its spot tasks again.
	f.emu().SetSpotAvailable("prod", true)
	f.clk.Advance(2 * time.Minute)
	if svc := f.service("prod", "web"); svc.RunningCount != 4 {
		t.Errorf("running = %d after spot returned, want 4\n%s", svc.RunningCount, events(svc))
	}

	// One-off interruption via the tag; replacements land on spot again.
	if _, err := f.ecs.TagResource(f.ctx, &ecs.TagResourceInput{ResourceArn: cl.Clusters[0].ClusterArn,
		Tags: []types.Tag{{Key: aws.String("localaws:spot-interrupt"), Value: aws.String("now")}}}); err != nil {
		t.Fatal(err)
	}
	tags, _ := f.ecs.ListTagsForResource(f.ctx, &ecs.ListTagsForResourceInput{ResourceArn: cl.Clusters[0].ClusterArn})
	for _, tg := range tags.Tags {
		if aws.ToString(tg.Key) == "localaws:spot-interrupt" {
			t.Errorf("the interrupt tag was not consumed")
		}
	}
	f.clk.Advance(2 * time.Minute)
	if svc := f.service("prod", "web"); svc.RunningCount != 4 {
		t.Errorf("running = %d after an interruption, want 4 (replaced)", svc.RunningCount)
	}
}

func TestTaskFailureConventions(t *testing.T) {
	tests := map[string]struct {
		image      string
		wantCode   types.TaskStopCode
		wantReason string
		wantExit   int32
		ran        bool
	}{
		"fail-pull stops before running": {"repo/app:fail-pull", types.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: ", -1, false},
		"exit-1 exits after starting":    {"repo/app:exit-1", types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", 1, true},
		"unhealthy fails health checks":  {"repo/app:unhealthy", types.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", 137, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.fargateCluster("c")
			td := f.register("app", tc.image)
			f.createService("c", "app", td, 1, false)
			f.clk.Advance(3 * time.Minute)
			stopped := f.tasks("c", types.DesiredStatusStopped)
			if len(stopped) == 0 {
				t.Fatal("no stopped task")
			}
			tk := stopped[0]
			if tk.StopCode != tc.wantCode || !strings.HasPrefix(aws.ToString(tk.StoppedReason), tc.wantReason) {
				t.Errorf("stop = %s %q, want %s %q", tk.StopCode, aws.ToString(tk.StoppedReason), tc.wantCode, tc.wantReason)
			}
			if (tk.StartedAt != nil) != tc.ran {
				t.Errorf("startedAt = %v, want ran=%v", tk.StartedAt, tc.ran)
			}
			if tc.wantExit >= 0 && (tk.Containers[0].ExitCode == nil || *tk.Containers[0].ExitCode != tc.wantExit) {
				t.Errorf("exit code = %v, want %d", tk.Containers[0].ExitCode, tc.wantExit)
			}
			// Without the circuit breaker the scheduler keeps replacing it,
			// and says it cannot start tasks consistently (once).
			f.clk.Advance(5 * time.Minute)
			svc := f.service("c", "app")
			if !strings.Contains(events(svc), "has started 1 tasks") || svc.Deployments[0].FailedTasks < 3 {
				t.Errorf("failedTasks = %d, events:\n%s", svc.Deployments[0].FailedTasks, events(svc))
			}
			if n := strings.Count(events(svc), "(service app) is unable to consistently start tasks successfully."); n != 1 {
				t.Errorf("the 'unable to consistently start tasks' event appears %d times, want 1:\n%s", n, events(svc))
			}
		})
	}
}

func TestStopServiceDeploymentRollsBack(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	v1 := f.register("web", "example/web:v1")
	f.createService("prod", "web", v1, 2, false)
	f.clk.Advance(3 * time.Minute)
	v2 := f.register("web", "example/web:v2")
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(20 * time.Second)
	lst, err := f.ecs.ListServiceDeployments(f.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusInProgress}})
	if err != nil || len(lst.ServiceDeployments) != 1 {
		t.Fatalf("in-progress deployments: %+v %v", lst, err)
	}
	arn := lst.ServiceDeployments[0].ServiceDeploymentArn
	// botocore ecs StopServiceDeployment: ROLLBACK "rolls back the service
	// deployment to the previous service revision ... even if you didn't
	// configure the service deployment for the rollback option".
	if _, err := f.ecs.StopServiceDeployment(f.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: arn, StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatalf("StopServiceDeployment: %v", err)
	}
	// A second stop conflicts: the deployment is no longer in progress.
	_, err = f.ecs.StopServiceDeployment(f.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: arn, StopType: types.StopServiceDeploymentStopTypeRollback})
	if errCode(err) != "ConflictException" {
		t.Errorf("second stop: %v, want ConflictException", err)
	}
	f.clk.Advance(5 * time.Minute)
	svc := f.service("prod", "web")
	if aws.ToString(svc.TaskDefinition) != v1 || len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("after rollback: td %s, %d deployments, want %s COMPLETED", aws.ToString(svc.TaskDefinition), len(svc.Deployments), v1)
	}
	sd, _ := f.ecs.DescribeServiceDeployments(f.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(arn)}})
	if got := sd.ServiceDeployments[0].Status; got != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("status = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	_, err = f.ecs.StopServiceDeployment(f.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(strings.Replace(aws.ToString(arn), "/web/", "/web/x", 1))})
	if errCode(err) != "ServiceDeploymentNotFoundException" {
		t.Errorf("unknown ARN: %v, want ServiceDeploymentNotFoundException", err)
	}
}

func TestRunTaskOneOffExitCode(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("c")
	td := f.register("app", "example/app:v1")
	out, err := f.ecs.RunTask(f.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(td), NetworkConfiguration: netcfg,
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"sh", "-c", "migrate && exit 3"}}}}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", out, err)
	}
	f.clk.Advance(2 * time.Minute)
	d, _ := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(out.Tasks[0].TaskArn)}})
	tk := d.Tasks[0]
	if aws.ToString(tk.LastStatus) != "STOPPED" || tk.Containers[0].ExitCode == nil || *tk.Containers[0].ExitCode != 3 {
		t.Errorf("one-off task: %s exit %v, want STOPPED exit 3", aws.ToString(tk.LastStatus), tk.Containers[0].ExitCode)
	}
	if tk.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %s, want EssentialContainerExited", tk.StopCode)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	td := f.register("web", "example/web:v1")
	f.createService("prod", "web", td, 1, false)
	_, _ = f.ecs.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ec2")})
	long := strings.Repeat("a", 256)
	tests := map[string]struct {
		call     func() error
		wantCode string
		wantMsg  string
	}{
		// botocore ecs DescribeServices: ClusterNotFoundException.
		"unknown cluster": {func() error {
			_, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, "ClusterNotFoundException", "Cluster not found."},
		// botocore ecs DescribeServicesRequest.services: up to 10.
		"more than 10 services": {func() error {
			_, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")})
			return err
		}, "InvalidParameterException", ""},
		// botocore ecs UpdateService: ServiceNotFoundException.
		"update unknown service": {func() error {
			_, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("nope")})
			return err
		}, "ServiceNotFoundException", "Service not found."},
		"duplicate service": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg})
			return err
		}, "InvalidParameterException", "Creation of service was not idempotent."},
		"service name too long": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(long), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg})
			return err
		}, "InvalidParameterException", ""},
		"unknown task definition": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("x"), TaskDefinition: aws.String("nope:9"), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg})
			return err
		}, "ClientException", "TaskDefinition not found."},
		"awsvpc without network configuration": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("x"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)})
			return err
		}, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		"launch type and strategy": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("x"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg,
				LaunchType: types.LaunchTypeFargate, CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}})
			return err
		}, "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported."},
		"provider not associated": {func() error {
			_, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("ec2"), ServiceName: aws.String("x"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg,
				CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
			return err
		}, "InvalidParameterException", "cannot contain a capacity provider that is not associated with the cluster"},
		// botocore ecs CapacityProviderStrategyItem.base: "Only one capacity
		// provider in a capacity provider strategy can have a base defined."
		"two bases": {func() error {
			_, err := f.ecs.PutClusterCapacityProviders(f.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("prod"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
				DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Base: 1, Weight: 1}}})
			return err
		}, "InvalidParameterException", ""},
		// botocore ecs CapacityProviderStrategyItem.weight: 0..1000.
		"weight above 1000": {func() error {
			_, err := f.ecs.PutClusterCapacityProviders(f.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("prod"), CapacityProviders: []string{"FARGATE"},
				DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1001}}})
			return err
		}, "InvalidParameterException", ""},
		// BC RegisterTaskDefinitionRequest.memory table: 256 cpu takes 512, 1024 or 2048.
		"fargate cpu/memory": {func() error {
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), NetworkMode: types.NetworkModeAwsvpc,
				RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("4096"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i")}}})
			return err
		}, "ClientException", "No Fargate configuration exists for given values."},
		"fargate needs awsvpc": {func() error {
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), NetworkMode: types.NetworkModeBridge,
				RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i")}}})
			return err
		}, "ClientException", "Fargate only supports network mode 'awsvpc'."},
		"container without image": {func() error {
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), Memory: aws.String("512"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a")}}})
			return err
		}, "ClientException", "Container.image should not be null or empty."},
		// CreateCapacityProvider.name: "can't be prefixed with aws, ecs, or fargate".
		"reserved provider name": {func() error {
			_, err := f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("ecs-spot"),
				AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String("asg")}})
			return err
		}, "InvalidParameterException", ""},
		"delete cluster with services": {func() error {
			_, err := f.ecs.DeleteCluster(f.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("prod")})
			return err
		}, "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."},
		"delete scaled service": {func() error {
			_, err := f.ecs.DeleteService(f.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")})
			return err
		}, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0."},
		"stop unknown task": {func() error {
			_, err := f.ecs.StopTask(f.ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String("0123")})
			return err
		}, "InvalidParameterException", "The referenced task was not found."},
		"strategy change without force": {func() error {
			_, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}})
			return err
		}, "InvalidParameterException", "you must force a new deployment"},
		// botocore ecs ListServiceDeploymentsRequest.maxResults: 1..100.
		"list deployments maxResults": {func() error {
			_, err := f.ecs.ListServiceDeployments(f.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web"), MaxResults: aws.Int32(101)})
			return err
		}, "InvalidParameterException", ""},
		"threshold type enum": {func() error {
			_, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: &types.DeploymentConfiguration{
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, ThresholdConfiguration: &types.ThresholdConfiguration{Type: "SOMETIMES", Value: 2}}}})
			return err
		}, "InvalidParameterException", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			if errCode(err) != tc.wantCode {
				t.Fatalf("error = %v, want %s", err, tc.wantCode)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("message = %v, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
	// DescribeServices with an unknown name is no error: failures[MISSING].
	out, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"nope"}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("unknown service: %+v %v, want failures[MISSING]", out, err)
	}
}

func TestThresholdConfiguration(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	v1 := f.register("web", "example/web:v1")
	f.createService("prod", "web", v1, 10, false)
	f.clk.Advance(3 * time.Minute)
	bad := f.register("web", "example/web:fail-pull")
	// COUNT 1: the first failed task fails the deployment
	// (botocore ecs ThresholdConfiguration.type COUNT: "value directly as the threshold").
	_, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(bad),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true,
			ThresholdConfiguration: &types.ThresholdConfiguration{Type: types.ThresholdTypeCount, Value: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(40 * time.Second)
	svc := f.service("prod", "web")
	if len(svc.Deployments) < 2 || svc.Deployments[1].RolloutState != types.DeploymentRolloutStateFailed {
		t.Fatalf("deployments after 40s with COUNT 1: %+v\n%s", svc.Deployments, events(svc))
	}
}

// Enums from botocore ecs service-2.json are enforced.
func TestEnumsFromTheModel(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("c")
	base := func() *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i")}}}
	}
	tests := map[string]func() error{
		"NetworkMode": func() error {
			in := base()
			in.NetworkMode = "bridged"
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, in)
			return err
		},
		"PidMode": func() error {
			in := base()
			in.PidMode = "container"
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, in)
			return err
		},
		"LogDriver": func() error {
			in := base()
			in.ContainerDefinitions[0].LogConfiguration = &types.LogConfiguration{LogDriver: "cloudwatch"}
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, in)
			return err
		},
		"TransportProtocol": func() error {
			in := base()
			in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), Protocol: "sctp"}}
			_, err := f.ecs.RegisterTaskDefinition(f.ctx, in)
			return err
		},
		"ClusterField": func() error {
			_, err := f.ecs.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{Clusters: []string{"c"}, Include: []types.ClusterField{"EVERYTHING"}})
			return err
		},
		"DesiredStatus": func() error {
			_, err := f.ecs.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: "DONE"})
			return err
		},
		"StopServiceDeploymentStopType": func() error {
			_, err := f.ecs.StopServiceDeployment(f.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-east-1:000000000000:service-deployment/c/s/x"), StopType: "PAUSE"})
			return err
		},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			if err := call(); errCode(err) != "InvalidParameterException" {
				t.Errorf("err = %v, want InvalidParameterException", err)
			}
		})
	}
}

// Deployment alarms (botocore ecs DeploymentAlarms: alarmNames, enable,
// rollback): an alarm in ALARM fails the deployment and rolls it back; one
// already in ALARM when the deployment started is ignored for it.
func TestDeploymentAlarmsRollBack(t *testing.T) {
	f := newFixture(t)
	state := map[string]string{"api-errors": "OK", "noisy": "ALARM"}
	var mu sync.Mutex
	f.emu().AlarmState = func(name string) string { mu.Lock(); defer mu.Unlock(); return state[name] }
	f.fargateCluster("prod")
	v1 := f.register("web", "example/web:v1")
	f.createService("prod", "web", v1, 2, false)
	f.clk.Advance(3 * time.Minute)
	v2 := f.register("web", "example/web:v2")
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(v2),
		DeploymentConfiguration: &types.DeploymentConfiguration{Alarms: &types.DeploymentAlarms{AlarmNames: []string{"api-errors", "noisy"}, Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(30 * time.Second)
	if svc := f.service("prod", "web"); svc.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
		t.Fatalf("an alarm already in ALARM failed the deployment:\n%s", events(svc))
	}
	mu.Lock()
	state["api-errors"] = "ALARM"
	mu.Unlock()
	f.clk.Advance(10 * time.Second)
	svc := f.service("prod", "web")
	if !strings.Contains(events(svc), "deployment failed: alarm detected.") || aws.ToString(svc.Deployments[0].TaskDefinition) != v1 {
		t.Fatalf("after the alarm: primary %s\n%s", aws.ToString(svc.Deployments[0].TaskDefinition), events(svc))
	}
	lst, _ := f.ecs.ListServiceDeployments(f.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	sd, _ := f.ecs.DescribeServiceDeployments(f.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(lst.ServiceDeployments[0].ServiceDeploymentArn)}})
	a := sd.ServiceDeployments[0].Alarms
	if a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || len(a.TriggeredAlarmNames) != 1 || a.TriggeredAlarmNames[0] != "api-errors" {
		t.Errorf("alarms = %+v, want TRIGGERED by api-errors", a)
	}
}
