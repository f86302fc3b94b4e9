package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

func TestRunExitsWithTheContainersCode(t *testing.T) {
	tests := map[string]struct {
		cmd      []string
		wantCode int
	}{
		"success":           {[]string{"./migrate", "up"}, 0},
		"failing migration": {[]string{"sh", "-c", "./migrate up || exit 3"}, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newRolloutFixture(t)
			f.setup(1, true)
			res, err := Run(f.ctx, f.deps, RunOptions{Cluster: "prod", Service: "web", Command: tc.cmd})
			if got := opserr.ExitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (%v), want %d", got, err, tc.wantCode)
			}
			if res.ExitCode == nil || int(*res.ExitCode) != tc.wantCode || res.LastStatus != "STOPPED" || res.Container != "app" {
				t.Errorf("result = %+v", res)
			}
			// The task ran from the service's task definition, network and capacity, with the command replaced.
			d, _ := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{res.TaskArn}})
			tk := d.Tasks[0]
			if aws.ToString(tk.TaskDefinitionArn) != res.TaskDefinition || aws.ToString(tk.StartedBy) != RunStartedBy {
				t.Errorf("task %s started by %s", aws.ToString(tk.TaskDefinitionArn), aws.ToString(tk.StartedBy))
			}
			if got := tk.Overrides.ContainerOverrides; len(got) != 1 || strings.Join(got[0].Command, " ") != strings.Join(tc.cmd, " ") {
				t.Errorf("overrides = %+v", got)
			}
			if res.LogGroup != "/ecs/prod/web" || res.LogStream != "web/app/"+lastPart(res.TaskArn) {
				t.Errorf("log location = %s %s", res.LogGroup, res.LogStream)
			}
		})
	}
}

func TestRunReportsATaskThatNeverRan(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, false)
	if _, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/web:fail-pull")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	_, err := Run(f.ctx, f.deps, RunOptions{Cluster: "prod", Service: "web", Command: []string{"true"}})
	// CannotPullContainerError: AWS's stopped reason for an image that cannot be
	// pulled (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
	if err == nil || opserr.ExitCode(err) != 1 || !strings.Contains(err.Error(), "stopped before its command ran: CannotPullContainerError") {
		t.Errorf("err = %v, want exit 1 naming CannotPullContainerError", err)
	}
}

func TestRunReadsTheTaskLog(t *testing.T) {
	f := newRolloutFixture(t)
	logs := f.deps.Logs.(*cloudwatchlogs.Client)
	for _, call := range []func() error{
		func() error {
			_, err := logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/prod/web")})
			return err
		},
		func() error {
			_, err := logs.CreateLogStream(f.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/ecs/prod/web"), LogStreamName: aws.String("web/app/abc")})
			return err
		},
		func() error {
			now := time.Now().UnixMilli() // the Logs emulation ages events by wall time
			_, err := logs.PutLogEvents(f.ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/ecs/prod/web"), LogStreamName: aws.String("web/app/abc"),
				LogEvents: []logtypes.InputLogEvent{{Message: aws.String("migrating 1"), Timestamp: aws.Int64(now)}, {Message: aws.String("done"), Timestamp: aws.Int64(now + 1)}}})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readRunLog(f.ctx, f.deps, "/ecs/prod/web", "web/app/abc"); strings.Join(got, "|") != "migrating 1|done" {
		t.Errorf("log = %q", got)
	}
	if got := readRunLog(f.ctx, f.deps, "/ecs/prod/web", "web/app/none"); len(got) != 0 {
		t.Errorf("missing stream read as %q", got)
	}
}

func TestRunBadInput(t *testing.T) {
	f := newRolloutFixture(t)
	for name, o := range map[string]RunOptions{
		"no command":    {Cluster: "prod", Service: "web"},
		"no service":    {Cluster: "prod", Command: []string{"x"}},
		"bad container": {Cluster: "prod", Service: "web", Container: "a b", Command: []string{"x"}},
	} {
		if _, err := Run(f.ctx, f.deps, o); opserr.ExitCode(err) != 2 {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
	if n := len(f.srv.Calls()); n != 0 {
		t.Errorf("bad input made %d calls", n)
	}
}
