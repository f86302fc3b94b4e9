package ecsemu_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// The SDK's own waiters (botocore ecs waiters-2.json ServicesStable:
// DescribeServices until every service has one deployment and runningCount ==
// desiredCount, failing on MISSING/DRAINING/INACTIVE; TasksRunning:
// DescribeTasks until every task is RUNNING, failing on STOPPED or MISSING)
// run unchanged against the emulation. The endpoint runs on an Offset clock
// 600 times faster than real time, so the waiters' real sleeps of a few
// milliseconds are tens of seconds of ECS time.
func fastFixture(t *testing.T) *fixture {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Clock: clock.NewOffset(clock.Real(), 600)})
	return &fixture{t: t, srv: srv, ecs: ecs.NewFromConfig(localawstest.Config(srv, 1)), ctx: context.Background()}
}

func TestSDKServicesStableWaiter(t *testing.T) {
	f := fastFixture(t)
	f.fargateCluster("prod")
	td := f.register("web", "example/web:v1")
	f.createService("prod", "web", td, 3, true)

	w := ecs.NewServicesStableWaiter(f.ecs, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 40*time.Millisecond
	})
	out, err := w.WaitForOutput(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}, 30*time.Second)
	if err != nil {
		t.Fatalf("ServicesStable: %v", err)
	}
	svc := out.Services[0]
	if len(svc.Deployments) != 1 || svc.RunningCount != 3 {
		t.Errorf("stable service: %d deployments, %d running; want 1 and 3", len(svc.Deployments), svc.RunningCount)
	}

	// A missing service fails the waiter at once (acceptor failure on MISSING).
	err = w.Wait(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"nope"}}, 10*time.Second)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "failure") {
		t.Errorf("ServicesStable on a missing service = %v, want a waiter failure", err)
	}
}

func TestSDKTasksRunningWaiter(t *testing.T) {
	f := fastFixture(t)
	f.fargateCluster("prod")
	good := f.register("web", "example/web:v1")
	bad := f.register("bad", "example/web:fail-pull")
	run := func(td string) []string {
		out, err := f.ecs.RunTask(f.ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(td), Count: aws.Int32(2),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: netcfg})
		if err != nil || len(out.Tasks) != 2 {
			t.Fatalf("RunTask: %+v %v", out, err)
		}
		return []string{aws.ToString(out.Tasks[0].TaskArn), aws.ToString(out.Tasks[1].TaskArn)}
	}
	w := ecs.NewTasksRunningWaiter(f.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 40*time.Millisecond
	})
	if err := w.Wait(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: run(good)}, 30*time.Second); err != nil {
		t.Errorf("TasksRunning on good tasks: %v", err)
	}
	// A task that stops before it runs fails the waiter (acceptor: any
	// lastStatus STOPPED → failure).
	if err := w.Wait(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: run(bad)}, 30*time.Second); err == nil {
		t.Errorf("TasksRunning on tasks that fail to pull succeeded, want a failure")
	}
	stopped := ecs.NewTasksStoppedWaiter(f.ecs, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 40*time.Millisecond
	})
	if err := stopped.Wait(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: run(bad)}, 30*time.Second); err != nil {
		t.Errorf("TasksStopped on failing tasks: %v", err)
	}
}

// newerThanModel are SDK fields added after the botocore snapshot in
// /work/botocore (2026-08); the emulation never sets them.
var newerThanModel = map[string]bool{
	"DeploymentConfiguration.EarlySuccessCriteria":        true,
	"ServiceConnectConfiguration.ContainerConfigurations": true,
	"VpcLatticeConfiguration.AdvancedConfiguration":       true,
	"Container.GpuSharingStrategy":                        true,
	"ResourceRequirement.SharingStrategy":                 true,
	"Task.TrustedExecutionSummary":                        true,
	"InstanceLaunchTemplate.NitroEnclavesEnabled":         true,
	"TaskDefinition.TrustedExecutionConfiguration":        true,
	"ContainerInstance.GpuDevices":                        true,
}

// TestWireNamesMatchModel checks that every member the emulation sends (the
// SDK types' field names, first letter lowered) is a member of the same shape
// in botocore's ecs service-2.json, for the shapes the emulation returns.
func TestWireNamesMatchModel(t *testing.T) {
	b, err := os.ReadFile("/work/botocore/ecs/service-2.json")
	if err != nil {
		t.Skipf("botocore model not available: %v", err)
	}
	var model struct {
		Shapes map[string]struct {
			Members map[string]struct {
				Shape string `json:"shape"`
			} `json:"members"`
		} `json:"shapes"`
	}
	if err := json.Unmarshal(b, &model); err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var check func(rt reflect.Type, shape string)
	check = func(rt reflect.Type, shape string) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] || rt.PkgPath() != reflect.TypeOf(types.Service{}).PkgPath() {
			return
		}
		seen[rt] = true
		sh, ok := model.Shapes[shape]
		if !ok {
			t.Errorf("shape %s (Go %s) not in the model", shape, rt.Name())
			return
		}
		for i := 0; i < rt.NumField(); i++ {
			fld := rt.Field(i)
			if !fld.IsExported() {
				continue
			}
			name := string(unicode.ToLower(rune(fld.Name[0]))) + fld.Name[1:]
			m, ok := sh.Members[name]
			if !ok && newerThanModel[rt.Name()+"."+fld.Name] {
				continue
			}
			if !ok {
				t.Errorf("%s.%s: wire name %q is not a member of shape %s", rt.Name(), fld.Name, name, shape)
				continue
			}
			inner := model.Shapes[m.Shape]
			ft := fld.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if inner.Members != nil && ft.Kind() == reflect.Struct {
				check(ft, m.Shape)
			} else if ft.Kind() == reflect.Struct {
				// list shapes: the member's shape is a list of the element shape
				check(ft, ft.Name())
			}
		}
	}
	for _, v := range []any{types.Service{}, types.Task{}, types.Cluster{}, types.CapacityProvider{}, types.TaskDefinition{},
		types.ServiceDeployment{}, types.ServiceDeploymentBrief{}, types.ContainerInstance{}, types.Failure{}} {
		rt := reflect.TypeOf(v)
		check(rt, rt.Name())
	}
	if len(seen) < 20 {
		t.Errorf("checked only %d shapes", len(seen))
	}
}
