package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestBinaryDeployPublicServiceCommands runs service create --public,
// status and service rm as a user would, against the local endpoint.
func TestBinaryDeployPublicServiceCommands(t *testing.T) {
	srv, run, image := publicEndpoint(t, nil)
	image += "v1"
	base := []string{"deploy", "service", "create", "api", "--cluster", "prod", "--image", image, "--port", "8080", "--public"}

	// Bad input: exit 2, nothing called.
	otherRegion := "arn:aws:acm:eu-west-1:" + srv.Account + ":certificate/12345678-1234-1234-1234-123456789012"
	bad := [][]string{
		append(append([]string{}, base...), "--host", "localhost"),
		append(append([]string{}, base...), "--path", "/"+strings.Repeat("a", 128)),
		append(append([]string{}, base...), "--priority", "50001"),
		append(append([]string{}, base...), "--certificate", "arn:aws:acm:"+srv.Region+":"+srv.Account+":certificate/nope"),
		append(append([]string{}, base...), "--certificate", otherRegion),
		append(append([]string{}, base...), "--strategy", "canary", "--canary-percent", "0.05"),
		append(append([]string{}, base...), "--strategy", "linear", "--canary-percent", "10"),
		append(append([]string{}, base...), "--bake-time", "10"),
		{"deploy", "service", "create", "api", "--cluster", "prod", "--image", image, "--host", "api.example.com"},
		{"deploy", "service", "rm", "bad name", "--cluster", "prod", "--yes"},
		{"deploy", "service", "rm", "api", "--cluster", "prod"}, // no terminal, no --yes
	}
	for _, args := range bad {
		srv.ResetCalls()
		r := run(2, args...)
		if n := len(srv.Calls()); n != 0 {
			t.Fatalf("%v: %d calls before exit 2 (%s)", args, n, r.Stderr)
		}
	}

	// Dry run, then create as JSON, then a re-run that writes nothing.
	srv.ResetCalls()
	r := run(0, append(append([]string{}, base...), "--path", "/api/*", "--dry-run")...)
	if len(srv.WriteCalls()) != 0 || !strings.Contains(r.Stdout, "load-balancer") || !strings.Contains(r.Stdout, "listener-rule") {
		t.Fatalf("dry run wrote %v or lacks the load balancer:\n%s", srv.WriteCalls(), r.Stdout)
	}
	r = run(0, append(append([]string{}, base...), "--path", "/api/*", "-o", "json")...)
	var created struct {
		LoadBalancer struct {
			URL          string `json:"url"`
			RulePriority int    `json:"rule_priority"`
		} `json:"load_balancer"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &created); err != nil || !strings.HasSuffix(created.LoadBalancer.URL, "/api/") || created.LoadBalancer.RulePriority != 1 {
		t.Fatalf("create json: %v\n%s", err, r.Stdout)
	}
	srv.ResetCalls()
	r = run(0, append(append([]string{}, base...), "--path", "/api/*")...)
	if w := srv.WriteCalls(); len(w) != 0 || !strings.Contains(r.Stdout, "URL") {
		t.Fatalf("re-run wrote %v:\n%s", w, r.Stdout)
	}

	// status shows the URL and the targets.
	srv.Clock().(clock.Advancer).Advance(5 * time.Minute)
	r = run(0, "deploy", "status", "--cluster", "prod")
	if !strings.Contains(r.Stdout, created.LoadBalancer.URL) || !strings.Contains(r.Stdout, "Targets") {
		t.Fatalf("status table:\n%s", r.Stdout)
	}
	r = run(0, "deploy", "status", "--cluster", "prod", "-o", "json")
	if !strings.Contains(r.Stdout, `"url": "`+created.LoadBalancer.URL+`"`) {
		t.Fatalf("status json:\n%s", r.Stdout)
	}

	// rm: dry run deletes nothing; then the last service takes the load balancer with it.
	srv.ResetCalls()
	run(0, "deploy", "service", "rm", "api", "--cluster", "prod", "--dry-run")
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("rm dry run wrote %v", w)
	}
	r = run(0, "deploy", "service", "rm", "api", "--cluster", "prod", "--yes")
	if !strings.Contains(r.Stdout, "load balancer had no other rule and was removed") {
		t.Fatalf("rm:\n%s", r.Stdout)
	}
	srv.ResetCalls()
	r = run(0, "deploy", "service", "rm", "api", "--cluster", "prod", "--yes")
	if w := srv.WriteCalls(); len(w) != 0 || !strings.Contains(r.Stdout, "nothing to remove") {
		t.Fatalf("rm re-run wrote %v:\n%s", w, r.Stdout)
	}
}

// TestBinaryDeployBlueGreenRolloutAndRollback runs a blue/green rollout and
// a rollback during the bake with the built binary. The endpoint runs 120
// times faster than real time (two minutes per second), so its one-second
// polls see the stages move.
func TestBinaryDeployBlueGreenRolloutAndRollback(t *testing.T) {
	srv, run, image := publicEndpoint(t, clock.NewOffset(clock.Real(), 120))
	ctx, cfg := context.Background(), localawstest.Config(srv, 1)
	create := func(bake, tag string) {
		run(0, "deploy", "service", "create", "api", "--cluster", "prod", "--image", image+tag, "--port", "8080", "--public",
			"--strategy", "blue-green", "--bake-time", bake)
	}
	// A bounded follow: the endpoint runs at 120x, so 3 real minutes are 6
	// endpoint hours; a rollout that has not finished by then never will, and
	// the test must fail rather than stall the suite.
	poll := []string{"--poll-interval", "1s", "--timeout", "3m"}
	create("4", "v1")
	run(0, append([]string{"deploy", "wait", "--cluster", "prod", "--service", "api"}, poll...)...)

	r := run(0, append([]string{"deploy", "rollout", "--cluster", "prod", "--service", "api", "--image", image + "v2"}, poll...)...)
	if !strings.Contains(r.Stdout, "BAKE_TIME") || !strings.Contains(r.Stdout, "2 of 2 healthy (opsctl-prod-api-2)") {
		t.Fatalf("blue/green rollout:\n%s", r.Stdout)
	}

	// A long bake, and a rollback during it.
	create("60", "v2")
	r = run(0, "deploy", "rollout", "--cluster", "prod", "--service", "api", "--image", image+"v1", "--no-wait", "-o", "json")
	var started struct {
		ServiceDeploymentArn string `json:"service_deployment_arn"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &started); err != nil || started.ServiceDeploymentArn == "" {
		t.Fatalf("rollout --no-wait: %v\n%s", err, r.Stdout)
	}
	ecsc := ecs.NewFromConfig(cfg)
	stage := ecstypes.ServiceDeploymentLifecycleStage("")
	for i := 0; i < 100 && stage != ecstypes.ServiceDeploymentLifecycleStageBakeTime; i++ {
		time.Sleep(100 * time.Millisecond)
		out, err := ecsc.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{started.ServiceDeploymentArn}})
		if err != nil || len(out.ServiceDeployments) != 1 {
			t.Fatalf("describe service deployment: %v", err)
		}
		stage = out.ServiceDeployments[0].LifecycleStage
	}
	if stage != ecstypes.ServiceDeploymentLifecycleStageBakeTime {
		t.Fatalf("stage %s, want BAKE_TIME", stage)
	}
	r = run(0, append([]string{"deploy", "rollback", "--cluster", "prod", "--service", "api", "-o", "json"}, poll...)...)
	if !strings.Contains(r.Stdout, `"state": "completed"`) || !strings.Contains(r.Stdout, `"revision": 2`) {
		t.Fatalf("rollback during the bake:\n%s", r.Stdout)
	}
}

// publicEndpoint starts an endpoint on clk (nil: the default fake clock)
// with STS, an opsctl Fargate cluster "prod" and an ECR repository "api"
// holding api:v1 and api:v2; run runs the binary and checks its exit code.
func publicEndpoint(t *testing.T, clk clock.Clock) (*localaws.Server, func(want int, args ...string) localawstest.Result, string) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}, Clock: clk})
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=2")
	run := func(want int, args ...string) localawstest.Result {
		t.Helper()
		r := localawstest.Run(t, env, args...)
		if r.Code != want {
			t.Fatalf("opsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, want, r.Stdout, r.Stderr)
		}
		return r
	}
	run(0, "deploy", "cluster", "create", "prod", "--fargate")
	ctx := context.Background()
	ecrc := ecr.NewFromConfig(localawstest.Config(srv, 1))
	if _, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2"} {
		m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:` + tag + `"}}`
		if _, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: aws.String(m), ImageTag: aws.String(tag)}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, run, srv.Account + ".dkr.ecr." + srv.Region + ".amazonaws.com/api:"
}
