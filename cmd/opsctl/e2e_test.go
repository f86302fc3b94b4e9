package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// The built binary against the local endpoint.
func TestBinaryVersionAndWhoami(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	env := localawstest.Env(t, srv)

	r := localawstest.Run(t, env, "version", "--output", "json")
	if r.Code != 0 {
		t.Fatalf("version: exit %d: %s", r.Code, r.Stderr)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || v.Version != "v0.0.0-test" || v.Commit != "testcommit" {
		t.Fatalf("version from ldflags: %+v %v", v, err)
	}

	r = localawstest.Run(t, env, "whoami", "--output", "json")
	if r.Code != 0 {
		t.Fatalf("whoami: exit %d: %s", r.Code, r.Stderr)
	}
	var id struct {
		Account, ARN, Region, Profile, Endpoint string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &id); err != nil {
		t.Fatalf("whoami JSON: %v\n%s", err, r.Stdout)
	}
	if id.Account != localaws.DefaultAccount || id.Region != srv.Region || id.Endpoint != srv.URL || id.Profile != "default" || id.ARN == "" {
		t.Fatalf("whoami = %+v", id)
	}
	if strings.Contains(r.Stdout+r.Stderr, "test") && strings.Contains(r.Stdout+r.Stderr, "secret") {
		t.Fatalf("credentials leaked into output")
	}

	// Table output for people, and the flag form of the endpoint.
	r = localawstest.Run(t, env, "--endpoint-url", srv.URL, "whoami")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Account:") || !strings.Contains(r.Stdout, localaws.DefaultAccount) {
		t.Fatalf("whoami table: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}

	// Missing region: a clear usage error, exit 2.
	noRegion := []string{}
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_REGION=") {
			noRegion = append(noRegion, kv)
		}
	}
	r = localawstest.Run(t, noRegion, "whoami")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--region") || !strings.Contains(r.Stderr, "AWS_REGION") {
		t.Fatalf("missing region: exit %d: %s", r.Code, r.Stderr)
	}

	// An STS failure is exit 1 with "what failed: why".
	srv.InjectFault(localaws.Fault{Service: "sts", Operation: "GetCallerIdentity", Kind: localaws.FaultError, Code: "ExpiredToken", Status: 403, Message: "The security token included in the request is expired", Times: -1})
	r = localawstest.Run(t, env, "whoami")
	srv.ClearFaults()
	if r.Code != 1 || !strings.Contains(r.Stderr, "get caller identity") || !strings.Contains(r.Stderr, "ExpiredToken") {
		t.Fatalf("sts failure: exit %d: %s", r.Code, r.Stderr)
	}
}
