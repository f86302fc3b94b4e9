package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// whoami against an S3-only server (s3rver answers STS's POST / with an
// error that is not STS's): what can be known, and exit 4.
func TestWhoamiOnAnEndpointWithoutSTS(t *testing.T) {
	s3s := localawstest.S3rver(t)
	env := localawstest.S3rverEnv(t, s3s, nil)
	r := localawstest.Run(t, env, "whoami", "--output", "json")
	if r.Code != opserr.ExitNoIdentity {
		t.Fatalf("exit %d, want %d: %s %s", r.Code, opserr.ExitNoIdentity, r.Stdout, r.Stderr)
	}
	var id struct {
		Account          string            `json:"account"`
		Region           string            `json:"region"`
		Endpoint         string            `json:"endpoint"`
		Endpoints        map[string]string `json:"endpoints"`
		CredentialSource string            `json:"credential_source"`
		IdentityError    string            `json:"identity_error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &id); err != nil {
		t.Fatalf("whoami JSON: %v\n%s", err, r.Stdout)
	}
	if id.Account != "" || id.Region != "us-east-1" || id.Endpoint != s3s.URL || id.Endpoints["s3"] != s3s.URL ||
		id.CredentialSource == "" || id.IdentityError == "" {
		t.Fatalf("whoami = %+v", id)
	}
	if !strings.Contains(r.Stderr, "identity could not be read") {
		t.Fatalf("stderr does not say so: %s", r.Stderr)
	}
	r = localawstest.Run(t, env, "whoami")
	if r.Code != opserr.ExitNoIdentity || !strings.Contains(r.Stdout, "Identity:") || !strings.Contains(r.Stdout, "Region:") {
		t.Fatalf("table: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
}
