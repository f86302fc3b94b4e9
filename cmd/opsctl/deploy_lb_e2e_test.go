package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestBinaryDeployPublicServiceCommands runs service create --public,
// status and service rm as a user would, against the local endpoint.
func TestBinaryDeployPublicServiceCommands(t *testing.T) {
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
	run(0, "deploy", "cluster", "create", "prod", "--fargate")
	ecrc := ecr.NewFromConfig(cfg)
	if _, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:v1"}}`
	if _, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: aws.String(m), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	image := srv.Account + ".dkr.ecr." + srv.Region + ".amazonaws.com/api:v1"
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
