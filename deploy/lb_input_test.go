package deploy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/opserr"
)

const goodCert = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

func lbOpts(mod func(*deploy.ServiceOptions)) deploy.ServiceOptions {
	o := deploy.ServiceOptions{Cluster: "prod", Name: "api", Image: "api:v1", Port: 8080, Desired: 2,
		LB: deploy.LBOptions{Public: true}}
	if mod != nil {
		mod(&o)
	}
	return o.WithDefaults()
}

func TestLBOptionsAcceptWhatALBAndECSAccept(t *testing.T) {
	cases := map[string]func(*deploy.ServiceOptions){
		"public only": nil,
		// botocore elbv2 HostHeaderConditionConfig.Values: * and ? wildcards, at least one ".".
		"host":           func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"api.example.com"} },
		"host wildcard":  func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"*.example.com", "api-?.example.org"} },
		"host 128 chars": func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{strings.Repeat("a", 124) + ".com"} },
		"path":           func(o *deploy.ServiceOptions) { o.LB.Paths = []string{"/api/*"} },
		"path chars":     func(o *deploy.ServiceOptions) { o.LB.Paths = []string{"/a_b-c.d$e/~f\"g'h@i:j+k&l?m*"} },
		"host and path": func(o *deploy.ServiceOptions) {
			o.LB.Hosts, o.LB.Paths = []string{"a.example.com"}, []string{"/x", "/y"}
		},
		"certificate":     func(o *deploy.ServiceOptions) { o.LB.Certificate = goodCert },
		"health path":     func(o *deploy.ServiceOptions) { o.LB.HealthPath = "/health?full=1" },
		"priority 50000":  func(o *deploy.ServiceOptions) { o.LB.Priority = 50000 },
		"blue-green bake": func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.BakeMinutes = deploy.StrategyBlueGreen, 1440 },
		// botocore ecs CanaryConfiguration.canaryPercent: multiples of 0.1 from 0.1 to 100.0.
		"canary 0.1": func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.CanaryPercent = deploy.StrategyCanary, 0.1 },
		"canary 100": func(o *deploy.ServiceOptions) {
			o.LB.Strategy, o.LB.CanaryPercent, o.LB.CanaryBakeMinutes = deploy.StrategyCanary, 100, 1440
		},
		// botocore ecs LinearConfiguration.stepPercent: multiples of 0.1 from 3.0 to 100.0.
		"linear 3": func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.LinearPercent = deploy.StrategyLinear, 3 },
		"linear 33.3": func(o *deploy.ServiceOptions) {
			o.LB.Strategy, o.LB.LinearPercent, o.LB.LinearBakeMinutes = deploy.StrategyLinear, 33.3, 0
		},
		"rolling no lb": func(o *deploy.ServiceOptions) { o.LB = deploy.LBOptions{Strategy: deploy.StrategyRolling} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			if err := lbOpts(mod).Validate(); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

func TestLBOptionsRejectBadInputAsUsageErrors(t *testing.T) {
	cases := map[string]struct {
		mod  func(*deploy.ServiceOptions)
		want string
	}{
		"public without port": {func(o *deploy.ServiceOptions) { o.Port = 0 }, "--port"},
		"host without public": {func(o *deploy.ServiceOptions) { o.LB.Public, o.LB.Hosts = false, []string{"a.example.com"} }, "--public"},
		"strategy without public": {func(o *deploy.ServiceOptions) {
			o.LB.Public, o.LB.Strategy = false, deploy.StrategyCanary
		}, "--public"},
		// botocore elbv2 HostHeaderConditionConfig.Values rules.
		"host no dot":       {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"localhost"} }, "at least one"},
		"host digit tld":    {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"api.example.c0m"} }, "only letters"},
		"host wildcard tld": {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"api.example.*"} }, "only letters"},
		"host underscore":   {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"a_b.example.com"} }, "only letters, digits"},
		"host 129":          {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{strings.Repeat("a", 125) + ".com"} }, "128"},
		"host twice":        {func(o *deploy.ServiceOptions) { o.LB.Hosts = []string{"a.example.com", "A.example.com"} }, "twice"},
		// botocore elbv2 PathPatternConditionConfig.Values rules.
		"path 129":      {func(o *deploy.ServiceOptions) { o.LB.Paths = []string{"/" + strings.Repeat("a", 128)} }, "128"},
		"path space":    {func(o *deploy.ServiceOptions) { o.LB.Paths = []string{"/a b"} }, "only letters"},
		"path relative": {func(o *deploy.ServiceOptions) { o.LB.Paths = []string{"api/*"} }, "start with /"},
		"too many values": {func(o *deploy.ServiceOptions) {
			o.LB.Hosts, o.LB.Paths = []string{"a.example.com", "b.example.com", "c.example.com"}, []string{"/a", "/b", "/c"}
		}, "at most 5"},
		"cert not acm": {func(o *deploy.ServiceOptions) { o.LB.Certificate = "arn:aws:iam::123456789012:server-certificate/x" }, "ACM"},
		"cert bad id": {func(o *deploy.ServiceOptions) {
			o.LB.Certificate = "arn:aws:acm:us-east-1:123456789012:certificate/xyz"
		}, "ACM"},
		"health relative": {func(o *deploy.ServiceOptions) { o.LB.HealthPath = "health" }, "--health-path"},
		"health space":    {func(o *deploy.ServiceOptions) { o.LB.HealthPath = "/a b" }, "--health-path"},
		// botocore elbv2 RulePriority: 1-50000.
		"priority 50001":   {func(o *deploy.ServiceOptions) { o.LB.Priority = 50001 }, "1-50000"},
		"priority neg":     {func(o *deploy.ServiceOptions) { o.LB.Priority = -1 }, "1-50000"},
		"strategy unknown": {func(o *deploy.ServiceOptions) { o.LB.Strategy = "recreate" }, "one of"},
		"bake 1441":        {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.BakeMinutes = deploy.StrategyBlueGreen, 1441 }, "0-1440"},
		"bake on rolling":  {func(o *deploy.ServiceOptions) { o.LBSet.Bake = true }, "rolling update has no bake"},
		"canary 0.05":      {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.CanaryPercent = deploy.StrategyCanary, 0.05 }, "0.1"},
		"canary 5.55":      {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.CanaryPercent = deploy.StrategyCanary, 5.55 }, "multiples"},
		"canary 101":       {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.CanaryPercent = deploy.StrategyCanary, 101 }, "100"},
		"canary bake":      {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.CanaryBakeMinutes = deploy.StrategyCanary, 2000 }, "--canary-bake-time"},
		"linear 2.9":       {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.LinearPercent = deploy.StrategyLinear, 2.9 }, "from 3"},
		"linear bake":      {func(o *deploy.ServiceOptions) { o.LB.Strategy, o.LB.LinearBakeMinutes = deploy.StrategyLinear, -1 }, "--linear-bake-time"},
		"canary flag on linear": {func(o *deploy.ServiceOptions) {
			o.LB.Strategy, o.LBSet.CanaryPercent = deploy.StrategyLinear, true
		}, "only to --strategy canary"},
		"linear flag on blue-green": {func(o *deploy.ServiceOptions) {
			o.LB.Strategy, o.LBSet.LinearBake = deploy.StrategyBlueGreen, true
		}, "only to --strategy linear"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := lbOpts(c.mod).Validate()
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestLBCertificateMustMatchTheRegionAndPartition(t *testing.T) {
	l := deploy.LBOptions{Public: true, Certificate: goodCert}
	for _, c := range []struct {
		partition, region string
		ok                bool
	}{{"aws", "us-east-1", true}, {"aws", "eu-west-1", false}, {"aws-cn", "us-east-1", false}} {
		err := l.ValidateFor(c.partition, c.region)
		if (err == nil) != c.ok {
			t.Errorf("%s/%s: err = %v, want ok=%v", c.partition, c.region, err, c.ok)
		}
		var u *opserr.UsageError
		if err != nil && !errors.As(err, &u) {
			t.Errorf("%s/%s: %v is not a usage error", c.partition, c.region, err)
		}
	}
}
