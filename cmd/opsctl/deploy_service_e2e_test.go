package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ecsemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestBinaryDeployServiceCommands runs service create/update, diff, status,
// revisions and spot-check as a user would, against the local endpoint.
func TestBinaryDeployServiceCommands(t *testing.T) {
	// STS (the account for ARNs) is served by the SNS emulator.
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=2")
	ctx := context.Background()
	cfg := localawstest.Config(srv, 1)
	run := func(want int, args ...string) localawstest.Result {
		t.Helper()
		r := localawstest.Run(t, env, args...)
		if r.Code != want {
			t.Fatalf("opsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, want, r.Stdout, r.Stderr)
		}
		return r
	}
	run(0, "deploy", "cluster", "create", "prod", "--fargate", "--spot")
	ecrc := ecr.NewFromConfig(cfg)
	if _, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2"} {
		m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:` + tag + `"}}`
		if _, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: aws.String(m), ImageTag: aws.String(tag)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/prod/api/db_url"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	image := srv.Account + ".dkr.ecr." + srv.Region + ".amazonaws.com/api:"
	base := []string{"api", "--cluster", "prod", "--port", "8080", "--env", "MODE=prod", "--secret", "DB_URL=ssm:/prod/api/db_url", "--min", "1", "--max", "4"}

	// Bad input: exit 2, nothing called.
	bad := [][]string{
		append([]string{"deploy", "service", "create", "--image", image + "v1", "--cpu", "256", "--memory", "4096"}, base...),
		append([]string{"deploy", "service", "create", "--image", "api"}, base...),
		{"deploy", "service", "create", "api", "--cluster", "prod", "--image", image + "v1", "--min", "5", "--max", "2"},
		{"deploy", "status", "--cluster", "bad cluster"},
		{"deploy", "spot-check", "--cluster", "prod", "--after", "10s"},
		{"deploy", "revisions", "--cluster", "prod", "--service", "api", "--keep", "0"},
	}
	for _, args := range bad {
		srv.ResetCalls()
		r := run(2, args...)
		if n := len(srv.Calls()); n != 0 {
			t.Fatalf("%v: %d calls before exit 2 (%s)", args, n, r.Stderr)
		}
	}

	// Dry run: the plan and the policy documents, nothing written.
	srv.ResetCalls()
	r := run(0, append([]string{"deploy", "service", "create", "--image", image + "v1", "--dry-run"}, base...)...)
	if len(srv.WriteCalls()) != 0 || !strings.Contains(r.Stdout, "aws:SourceAccount") || !strings.Contains(r.Stdout, `"stopTimeout": 110`) {
		t.Fatalf("dry run wrote %v or lacks documents:\n%s", srv.WriteCalls(), r.Stdout)
	}

	// Create, as JSON.
	r = run(0, append([]string{"deploy", "service", "create", "--image", image + "v1", "-o", "json"}, base...)...)
	var created struct {
		TaskDefinition string `json:"task_definition"`
		Counts         struct {
			Applied int `json:"applied"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &created); err != nil || created.Counts.Applied < 6 || !strings.HasSuffix(created.TaskDefinition, "prod-api:1") {
		t.Fatalf("create json: %v\n%s", err, r.Stdout)
	}
	// A re-run writes nothing.
	srv.ResetCalls()
	run(0, append([]string{"deploy", "service", "create", "--image", image + "v1"}, base...)...)
	if w := srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("re-run wrote %v", w)
	}
	// diff shows the image change field by field, writes nothing.
	r = run(0, append([]string{"deploy", "diff", "--image", image + "v2"}, base...)...)
	if !strings.Contains(r.Stdout, "image: "+image+"v1 → "+image+"v2") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("diff:\n%s", r.Stdout)
	}
	run(0, append([]string{"deploy", "service", "update", "--image", image + "v2"}, base...)...)
	// An image that does not exist fails before any write (exit 1).
	srv.ResetCalls()
	r = run(1, append([]string{"deploy", "service", "update", "--image", image + "v9"}, base...)...)
	if !strings.Contains(r.Stderr, "does not exist") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("missing image: %s / %v", r.Stderr, srv.WriteCalls())
	}

	srv.Clock().(clock.Advancer).Advance(5 * time.Minute)
	r = run(0, "deploy", "status", "--cluster", "prod", "-o", "json")
	var st struct {
		Services []struct {
			Service string `json:"service"`
			Running int    `json:"running"`
			Summary string `json:"summary"`
			Scaling *struct {
				Max int `json:"max"`
			} `json:"auto_scaling"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || len(st.Services) != 1 || st.Services[0].Running != 2 || st.Services[0].Scaling == nil || st.Services[0].Scaling.Max != 4 {
		t.Fatalf("status: %v\n%s", err, r.Stdout)
	}
	r = run(0, "deploy", "status", "--cluster", "prod")
	if !strings.Contains(r.Stdout, "Service api (active): 2 of 2 running") {
		t.Fatalf("status table:\n%s", r.Stdout)
	}
	r = run(0, "deploy", "revisions", "--cluster", "prod", "--service", "api", "--keep", "1", "-o", "json")
	if !strings.Contains(r.Stdout, `"action": "deregister"`) {
		t.Fatalf("revisions:\n%s", r.Stdout)
	}
	srv.ResetCalls()
	r = run(0, "deploy", "spot-check", "--cluster", "prod", "-o", "json")
	if !strings.Contains(r.Stdout, `"state": "spot"`) || len(srv.WriteCalls()) != 0 {
		t.Fatalf("spot-check healthy:\n%s", r.Stdout)
	}
	srv.Service("ecs").(*ecsemu.Server).SetSpotAvailable("prod", false)
	srv.Clock().(clock.Advancer).Advance(time.Minute)
	r = run(0, "deploy", "spot-check", "--cluster", "prod")
	// "Capacity is unavailable at this time. ..." is AWS's placement failure
	// reason (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html).
	if !strings.Contains(r.Stdout, "watching") || !strings.Contains(r.Stdout, "Capacity is unavailable") {
		t.Fatalf("spot-check after spot went away:\n%s", r.Stdout)
	}
}
