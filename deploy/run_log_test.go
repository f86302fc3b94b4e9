package deploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// deploy run prints the task's log: the emulated container writes its
// command and its LOCALAWS_LOG lines (README's convention) through the
// awslogs driver to awslogs-group, stream prefix/container-name/task-id
// (AWS, "Using the awslogs log driver": awslogs-stream-prefix "prefix-name/
// container-name/ecs-task-id"), and Run reads it back with GetLogEvents.
func TestRunPrintsTheLogTheTaskWrote(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, true)
	logs := f.deps.Logs.(*cloudwatchlogs.Client)
	if _, err := logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/prod/web")}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(f.ctx, f.deps, RunOptions{Cluster: "prod", Service: "web", Command: []string{"sh", "-c", "./migrate up"}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := strings.Join(res.Log, "|"); got != "sh -c ./migrate up" {
		t.Errorf("log = %q, want the command the container ran", got)
	}
	streams, err := logs.DescribeLogStreams(f.ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/ecs/prod/web"),
		LogStreamNamePrefix: aws.String("web/app/" + lastPart(res.TaskArn))})
	if err != nil || len(streams.LogStreams) != 1 {
		t.Fatalf("stream web/app/%s: %+v %v", lastPart(res.TaskArn), streams, err)
	}

	// A container with LOCALAWS_LOG writes its lines after the command.
	td, _ := f.ecs.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	in := registerInput(td.TaskDefinition, nil)
	in.ContainerDefinitions[0].Environment = append(in.ContainerDefinitions[0].Environment,
		types.KeyValuePair{Name: aws.String("LOCALAWS_LOG"), Value: aws.String("migrating 1\nmigrated 3 tables")})
	if _, err := f.ecs.RegisterTaskDefinition(f.ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	res, err = Run(f.ctx, f.deps, RunOptions{Cluster: "prod", Service: "web", Command: []string{"./migrate", "up"}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := strings.Join(res.Log, "|"); got != "./migrate up|migrating 1|migrated 3 tables" {
		t.Errorf("log = %q", got)
	}
}

// Without its log group (and no awslogs-create-group) the output is
// dropped, and a task that never ran writes nothing: Run reports no log.
func TestRunWithoutTheLogGroupHasNoLog(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, true)
	res, err := Run(f.ctx, f.deps, RunOptions{Cluster: "prod", Service: "web", Command: []string{"./migrate", "up"}})
	if err != nil || len(res.Log) != 0 {
		t.Fatalf("run: %v, log %q", err, res.Log)
	}
}
