package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// clusterEnv starts an endpoint with STS (fauxqs), which deploy asks for the
// account.
func clusterEnv(t *testing.T) (*localaws.Server, []string) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	return srv, localawstest.Env(t, srv)
}

func clusterWrites(srv *localaws.Server) []string {
	var out []string
	for _, c := range srv.WriteCalls() {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

type clusterJSON struct {
	Cluster           string   `json:"cluster"`
	Mode              string   `json:"mode"`
	SecurityGroup     string   `json:"security_group"`
	CapacityProviders []string `json:"capacity_providers"`
	DryRun            bool     `json:"dry_run"`
	Changes           []struct {
		Resource, Name, Action, Status string
	} `json:"changes"`
	Counts struct {
		Planned, Applied, Unchanged, Failed, Skipped int
	} `json:"counts"`
	Policies struct {
		InstanceTrust       string `json:"instance_trust"`
		InstancePermissions string `json:"instance_permissions"`
		UserData            string `json:"user_data"`
	} `json:"policies"`
}

func TestBinaryDeployClusterCreateIsIdempotent(t *testing.T) {
	srv, env := clusterEnv(t)
	r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--fargate", "--spot", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var res clusterJSON
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if res.Mode != "fargate" || res.Counts.Applied != 3 || !strings.HasPrefix(res.SecurityGroup, "sg-") {
		t.Fatalf("%+v", res)
	}
	srv.ResetCalls()
	r = localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--fargate", "--spot")
	if r.Code != 0 || len(clusterWrites(srv)) != 0 || !strings.Contains(r.Stdout, "unchanged") {
		t.Fatalf("exit %d writes %v\n%s\n%s", r.Code, clusterWrites(srv), r.Stdout, r.Stderr)
	}
	// A changed flag: only the strategy.
	srv.ResetCalls()
	r = localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--fargate", "--spot", "--on-demand-base", "3")
	if r.Code != 0 || strings.Join(clusterWrites(srv), ",") != "ecs:PutClusterCapacityProviders" {
		t.Fatalf("exit %d writes %v\n%s", r.Code, clusterWrites(srv), r.Stderr)
	}
}

func TestBinaryDeployClusterDryRunShowsPlanAndPolicies(t *testing.T) {
	srv, env := clusterEnv(t)
	r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--spot", "--dry-run")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"dry run: nothing written", "planned", "opsctl-web-spot", "ec2.amazonaws.com", "ecs:RegisterContainerInstance", "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"} {
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("missing %q in\n%s", want, r.Stdout)
		}
	}
	if w := clusterWrites(srv); len(w) != 0 {
		t.Fatalf("dry run wrote %v", w)
	}
	r = localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--spot", "--dry-run", "-o", "json")
	var res clusterJSON
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.DryRun || res.Counts.Planned == 0 || res.Policies.InstancePermissions == "" {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestBinaryDeployClusterBadInputExits2WithoutCalls(t *testing.T) {
	srv, env := clusterEnv(t)
	cases := [][]string{
		{"deploy", "cluster", "create", "web", "--min", "5", "--max", "2"},
		{"deploy", "cluster", "create", "web", "--instance-types", "t3.small,t9.huge"},
		{"deploy", "cluster", "create", "web", "--subnets", "sub-1"},
		{"deploy", "cluster", "create", "web", "--fargate", "--instance-types", "t3.small"},
		{"deploy", "cluster", "create", "web app"},
		{"deploy", "cluster", "create"},
		{"deploy", "cluster", "status", "a", "b"},
		{"deploy", "cluster", "rm", "web"}, // no terminal, no --yes
	}
	for _, args := range cases {
		srv.ResetCalls()
		r := localawstest.Run(t, env, args...)
		if r.Code != 2 || len(srv.Calls()) != 0 {
			t.Fatalf("%v: exit %d, calls %v\n%s", args, r.Code, srv.Calls(), r.Stderr)
		}
	}
}

func TestBinaryDeployClusterStatus(t *testing.T) {
	_, env := clusterEnv(t)
	if r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--spot"); r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	r := localawstest.Run(t, env, "deploy", "cluster", "status", "web", "-o", "json")
	var st struct {
		Status            string `json:"status"`
		Mode              string `json:"mode"`
		CapacityProviders []struct {
			Name  string `json:"name"`
			Group *struct {
				Name string `json:"name"`
				Max  int    `json:"max"`
			} `json:"auto_scaling_group"`
		} `json:"capacity_providers"`
		Problems []string `json:"problems"`
	}
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || st.Status != "ACTIVE" || st.Mode != "ec2" || len(st.CapacityProviders) != 2 ||
		st.CapacityProviders[0].Group == nil || st.CapacityProviders[0].Group.Max != 4 || len(st.Problems) != 0 {
		t.Fatalf("%v %+v\n%s", err, st, r.Stdout)
	}
	r = localawstest.Run(t, env, "deploy", "cluster", "status", "web")
	if r.Code != 0 || !strings.Contains(r.Stdout, "opsctl-web-spot") {
		t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
	}
	if r := localawstest.Run(t, env, "deploy", "cluster", "status", "nope"); r.Code != 1 || !strings.Contains(r.Stderr, "cluster nope not found") {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
}

func TestBinaryDeployClusterRm(t *testing.T) {
	srv, env := clusterEnv(t)
	if r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--spot"); r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	r := localawstest.Run(t, env, "deploy", "cluster", "rm", "web", "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "applied") {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	out, err := ecs.NewFromConfig(localawstest.Config(srv, 0)).DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"web"}})
	if err != nil || len(out.Clusters) == 1 && aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("%v %+v", err, out)
	}
	srv.ResetCalls()
	r = localawstest.Run(t, env, "deploy", "cluster", "rm", "web", "--yes")
	if r.Code != 0 || len(clusterWrites(srv)) != 0 || !strings.Contains(r.Stdout, "nothing to remove") {
		t.Fatalf("exit %d writes %v\n%s", r.Code, clusterWrites(srv), r.Stdout)
	}
}

func TestBinaryDeployClusterFaultThenRepair(t *testing.T) {
	srv, env := clusterEnv(t)
	srv.InjectFault(localaws.Fault{Service: "ecs", Operation: "CreateCluster", Kind: localaws.FaultError, Code: "AccessDeniedException", Status: 400, Message: "not allowed"})
	r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--fargate")
	// The security group was created, the cluster failed: partial, exit 3.
	if r.Code != 3 || !strings.Contains(r.Stderr, "AccessDeniedException") || !strings.Contains(r.Stdout, "failed") {
		t.Fatalf("exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := localawstest.Run(t, env, "deploy", "cluster", "create", "web", "--fargate"); r.Code != 0 {
		t.Fatalf("repair: exit %d\n%s", r.Code, r.Stderr)
	}
}
