package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// pipelineService creates the ECS service a pipeline deploys (container "web").
func pipelineService(t *testing.T, srv *localaws.Server) {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(localawstest.Config(srv, 1))
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("prod-api"),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("public.ecr.aws/nginx/nginx:1"), Essential: aws.Bool(true)}},
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String("arn:aws:iam::" + srv.Account + ":role/api-exec")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestBinaryPipelineCommands runs the pipeline commands as a user would,
// against the local endpoint.
func TestBinaryPipelineCommands(t *testing.T) {
	// STS (the account for ARNs) and SNS (the failure topic) are served by the SNS emulator.
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=2")
	run := func(want int, args ...string) localawstest.Result {
		t.Helper()
		r := localawstest.Run(t, env, args...)
		if r.Code != want {
			t.Fatalf("opsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, want, r.Stdout, r.Stderr)
		}
		return r
	}
	pipelineService(t, srv)
	base := []string{"pipeline", "create", "shop", "--repo", "github:acme/shop", "--cluster", "prod", "--service", "api",
		"--test-branches", "main,release/*", "--test-command", "make integration", "--notify", "ops@example.com"}

	// Bad input: exit 2, nothing called.
	for _, args := range [][]string{
		{"pipeline", "create", "Shop", "--repo", "github:acme/shop", "--cluster", "prod", "--service", "api"},
		{"pipeline", "create", "shop", "--repo", "svn:acme/shop", "--cluster", "prod", "--service", "api"},
		{"pipeline", "create", "shop", "--repo", "github:acme/shop", "--cluster", "prod", "--service", "api", "--branch", "a..b"},
		{"pipeline", "create", "shop", "--repo", "github:acme/shop", "--cluster", "prod", "--service", "api", "--test-branches", "release/[", "--test-command", "x"},
		{"pipeline", "create", "shop", "--repo", "github:acme/shop", "--cluster", "prod", "--service", "api", "--notify", "ops@"},
		{"pipeline", "create", "shop", "--repo", "s3://acme-src/app.tar", "--cluster", "prod", "--service", "api"},
		{"pipeline", "buildspec", "shop", "--cluster", "prod", "--service", "api", "--test-command", "a\nb"},
	} {
		srv.ResetCalls()
		r := run(2, args...)
		if n := len(srv.Calls()); n != 0 {
			t.Fatalf("%v: %d calls before exit 2 (%s)", args, n, r.Stderr)
		}
	}

	// buildspec: the generated build, reading only the account.
	srv.ResetCalls()
	r := run(0, "pipeline", "buildspec", "shop", "--cluster", "prod", "--service", "api", "--container", "web", "--test-command", "make integration")
	if !strings.Contains(r.Stdout, "get-login-password") || !strings.Contains(r.Stdout, srv.Account+".dkr.ecr.us-east-1.amazonaws.com/shop") ||
		!strings.Contains(r.Stdout, "- make integration") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("buildspec:\n%s", r.Stdout)
	}

	// Dry run: the plan, buildspecs and policies; nothing written.
	srv.ResetCalls()
	r = run(0, append(base, "--dry-run")...)
	for _, want := range []string{"aws:SourceArn", "aws:SourceAccount", "aws:SecureTransport", "imagedefinitions.json", "VariableCheck", "planned"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("dry run lacks %q:\n%s", want, r.Stdout)
		}
	}
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("dry run wrote %v", w)
	}

	// Create, as JSON; the connection waits for its handshake.
	r = run(0, append(base, "-o", "json")...)
	var created struct {
		ConnectionStatus string   `json:"connection_status"`
		Todo             []string `json:"todo"`
		Counts           struct {
			Applied int `json:"applied"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &created); err != nil || created.Counts.Applied < 15 || created.ConnectionStatus != "PENDING" ||
		!strings.Contains(strings.Join(created.Todo, " "), "Update pending connection") {
		t.Fatalf("create json: %v\n%s", err, r.Stdout)
	}
	// A re-run writes nothing.
	srv.ResetCalls()
	run(0, base...)
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("re-run wrote %v", w)
	}
	// The person completes the handshake; a push to main runs every stage.
	for _, ctl := range []struct{ path, body string }{
		{"/_localaws/codeconnections/handshake", `{"connection":"opsctl-shop"}`},
		{"/_localaws/codepipeline/push", `{"repository":"acme/shop","branch":"main","commit":"` + strings.Repeat("a", 40) + `","message":"first"}`},
	} {
		resp, err := http.Post(srv.URL+ctl.path, "application/json", strings.NewReader(ctl.body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", ctl.path, resp, err)
		}
		resp.Body.Close()
	}
	var status struct {
		Stages []struct {
			Stage  string `json:"stage"`
			Status string `json:"status"`
		} `json:"stages"`
		Executions []struct {
			ID     string `json:"execution_id"`
			Status string `json:"status"`
		} `json:"executions"`
	}
	for i := 0; ; i++ {
		r = run(0, "pipeline", "status", "shop", "-o", "json")
		if err := json.Unmarshal([]byte(r.Stdout), &status); err != nil {
			t.Fatal(err)
		}
		if len(status.Executions) > 0 && status.Executions[0].Status != "InProgress" {
			break
		}
		if i > 200 {
			t.Fatalf("the execution never ended:\n%s", r.Stdout)
		}
		srv.Clock().(clock.Advancer).Advance(10 * time.Second)
	}
	if status.Executions[0].Status != "Succeeded" || len(status.Stages) != 4 || status.Stages[3].Status != "Succeeded" {
		t.Fatalf("status after a push to main:\n%s", r.Stdout)
	}
	r = run(0, "pipeline", "status", "shop")
	if !strings.Contains(r.Stdout, "IntegrationTest") || !strings.Contains(r.Stdout, "WebhookV2") {
		t.Fatalf("status table:\n%s", r.Stdout)
	}
	r = run(0, "pipeline", "logs", "shop", "--tail", "5")
	if !strings.Contains(r.Stdout, "== Build/Build (Succeeded)") || !strings.Contains(r.Stdout, "== Test/IntegrationTest (Succeeded)") {
		t.Fatalf("logs:\n%s", r.Stdout)
	}
	r = run(0, "pipeline", "run", "shop", "-o", "json")
	if !strings.Contains(r.Stdout, `"execution_id"`) || !strings.Contains(r.Stdout, `"branch": "main"`) {
		t.Fatalf("run:\n%s", r.Stdout)
	}
	r = run(1, "pipeline", "run", "shop", "--branch", "develop")
	if !strings.Contains(r.Stderr, "no branch override") {
		t.Fatalf("run --branch develop: %s", r.Stderr)
	}
	run(2, "pipeline", "run", "shop", "--commit", "xyz")
	run(2, "pipeline", "logs", "shop", "--execution", "nope")

	// A wrong container fails clearly before any write (exit 1).
	srv.ResetCalls()
	r = run(1, append(base, "--container", "app")...)
	if !strings.Contains(r.Stderr, `container "app" is not in the live task definition`) || len(srv.WriteCalls()) != 0 {
		t.Fatalf("wrong container: %s / %v", r.Stderr, srv.WriteCalls())
	}

	// rm asks first (refused without --yes when stdin is no terminal), then
	// deletes what opsctl created and keeps images and artifacts; a second rm
	// finds nothing.
	srv.ResetCalls()
	run(2, "pipeline", "rm", "shop")
	if len(srv.Calls()) != 0 {
		t.Fatalf("rm without --yes called %v", srv.Calls())
	}
	r = run(0, "pipeline", "rm", "shop", "--yes")
	for _, want := range []string{"codepipeline pipeline", "codebuild project", "iam role", "eventbridge rule", "codeconnections connection", "Kept: ECR repository shop"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("rm lacks %q:\n%s", want, r.Stdout)
		}
	}
	srv.ResetCalls()
	r = run(0, "pipeline", "rm", "shop", "--yes")
	if !strings.Contains(r.Stdout, "Nothing of pipeline shop is left") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("second rm:\n%s", r.Stdout)
	}
	run(1, "pipeline", "status", "shop")
}
