package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// deployEndpoint runs ECS 120 times faster than real time (two minutes of
// deployment per second), so the binary's real one-second polls see a rollout
// move; it has a Fargate cluster "prod" and a service "web" of 2 tasks with
// the circuit breaker and rollback on, already steady.
func deployEndpoint(t *testing.T) (*localaws.Server, *ecs.Client, []string) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Clock: clock.NewOffset(clock.Real(), 120)})
	c := ecs.NewFromConfig(localawstest.Config(srv, 0))
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/web:v1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"),
		DesiredCount: aws.Int32(2), NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=2")
	r := localawstest.Run(t, env, "deploy", "wait", "--cluster", "prod", "--service", "web", "--poll-interval", "1s")
	if r.Code != 0 {
		t.Fatalf("initial wait: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	return srv, c, env
}

func TestBinaryDeployRolloutWaitRollback(t *testing.T) {
	srv, _, env := deployEndpoint(t)
	poll := []string{"--poll-interval", "1s"}

	// rollout (success, JSON).
	r := localawstest.Run(t, env, append([]string{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "example/web:v2", "--output", "json"}, poll...)...)
	if r.Code != 0 {
		t.Fatalf("rollout: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var res struct {
		State        string   `json:"state"`
		Revision     int      `json:"revision"`
		DeploymentID string   `json:"deployment_id"`
		Events       []string `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("rollout JSON: %v\n%s", err, r.Stdout)
	}
	if res.State != "completed" || res.Revision != 2 || !strings.HasPrefix(res.DeploymentID, "ecs-svc/") {
		t.Errorf("rollout result = %+v", res)
	}
	// AWS's event "(service S) (deployment ecs-svc/N) deployment completed."
	// (same shape as the "deployment failed" event in aws/copilot-cli
	// internal/pkg/stream/ecs_test.go).
	if !strings.Contains(r.Stderr, "deployment completed.") {
		t.Errorf("stderr lacks the service events:\n%s", r.Stderr)
	}

	// A re-run writes nothing.
	srv.ResetCalls()
	r = localawstest.Run(t, env, append([]string{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "example/web:v2"}, poll...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "unchanged") || len(writeOps(srv)) != 0 {
		t.Errorf("re-run: exit %d, writes %v\n%s", r.Code, writeOps(srv), r.Stdout)
	}

	// rollout of an image that cannot be pulled: exit 1, rolled back, the reason shown.
	r = localawstest.Run(t, env, append([]string{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "example/web:fail-pull"}, poll...)...)
	if r.Code != 1 {
		t.Fatalf("failing rollout: exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// "tasks failed to start" is from ECS's rolloutStateReason "ECS deployment
	// circuit breaker: tasks failed to start." (real DescribeServices output);
	// CannotPullContainerError is the stopped reason AWS documents
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
	if !strings.Contains(r.Stderr, "rolled back to revision 2: tasks failed to start: CannotPullContainerError") || !strings.Contains(r.Stdout, "rolled_back") {
		t.Errorf("failing rollout does not say it was rolled back:\n%s\n%s", r.Stdout, r.Stderr)
	}

	// --no-wait prints the deployment id; wait follows it.
	r = localawstest.Run(t, env, append([]string{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "example/web:v4", "--no-wait"}, poll...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "opsctl deploy wait --cluster prod --service web --deployment ecs-svc/") {
		t.Fatalf("--no-wait: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	id := r.Stdout[strings.Index(r.Stdout, "ecs-svc/"):]
	id = strings.Fields(id)[0]

	// rollback stops it with ECS's rollback and follows the rollback.
	r = localawstest.Run(t, env, append([]string{"deploy", "rollback", "--cluster", "prod", "--service", "web"}, poll...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "completed") {
		t.Fatalf("rollback: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// The rolled-back deployment is no success.
	r = localawstest.Run(t, env, append([]string{"deploy", "wait", "--cluster", "prod", "--service", "web", "--deployment", id}, poll...)...)
	if r.Code != 1 {
		t.Errorf("wait on the rolled-back deployment: exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// rollback --to-revision.
	r = localawstest.Run(t, env, append([]string{"deploy", "rollback", "--cluster", "prod", "--service", "web", "--to-revision", "1", "--output", "json"}, poll...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, `"revision": 1`) {
		t.Errorf("rollback --to-revision 1: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	// Bad input: exit 2 and no call.
	srv.ResetCalls()
	for _, args := range [][]string{
		{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "Bad Image"},
		{"deploy", "rollout", "--cluster", "prod", "--image", "x:1"},
		{"deploy", "wait", "--cluster", "prod", "--service", "web", "--deployment", "nope"},
		{"deploy", "rollback", "--cluster", "prod", "--service", "web", "--to-revision", "0"},
		{"deploy", "run", "--cluster", "prod", "--service", "web"},
		{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "x:1", "--poll-interval", "10ms"},
		{"deploy", "rollout", "--cluster", "prod", "--service", "web", "--image", "x:1", "--spot-after", "-1m"},
		{"deploy", "wait", "--cluster", "prod", "--service", "web", "--spot-after", "-5s"},
	} {
		if r := localawstest.Run(t, env, args...); r.Code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.Code, r.Stderr)
		}
	}
	if calls := srv.Calls(); len(calls) != 0 {
		t.Errorf("bad input made calls: %+v", calls)
	}
}

func TestBinaryDeployRun(t *testing.T) {
	_, c, env := deployEndpoint(t)
	r := localawstest.Run(t, env, "deploy", "run", "--cluster", "prod", "--service", "web", "--poll-interval", "1s", "--", "sh", "-c", "./migrate up && exit 7")
	if r.Code != 7 {
		t.Fatalf("run: exit %d, want the container's 7\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "Exit code") || !strings.Contains(r.Stdout, "7") {
		t.Errorf("run output:\n%s", r.Stdout)
	}
	r = localawstest.Run(t, env, "deploy", "run", "--cluster", "prod", "--service", "web", "--poll-interval", "1s", "--output", "json", "--", "./migrate", "up")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"exit_code": 0`) {
		t.Errorf("run: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	// With the awslogs driver the task's output is printed (README: the
	// command, then the LOCALAWS_LOG lines; awslogs-create-group makes the group).
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/web-exec"), // Fargate + awslogs needs one (ClientException otherwise)
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/web:v1"),
			Environment: []types.KeyValuePair{{Name: aws.String("LOCALAWS_LOG"), Value: aws.String("applied 3 migrations")}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/prod/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	r = localawstest.Run(t, env, "deploy", "run", "--cluster", "prod", "--service", "web", "--poll-interval", "1s", "--", "./migrate", "up")
	if r.Code != 0 || !strings.Contains(r.Stdout, "./migrate up\napplied 3 migrations\n") || !strings.Contains(r.Stdout, "/ecs/prod/web web/app/") {
		t.Errorf("run with awslogs: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
