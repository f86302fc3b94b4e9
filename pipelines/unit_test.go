package pipelines

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/opsctl/opsctl/internal/opserr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares a generated document with testdata/NAME (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the generated document:\n%s", p, got)
	}
}

func TestParseRepoAcceptsEachSourceForm(t *testing.T) {
	cases := []struct {
		in   string
		want Repo
	}{
		{"github:acme/shop", Repo{Kind: SourceGitHub, ID: "acme/shop"}},
		{"github:Acme-Corp/shop.web_1.git", Repo{Kind: SourceGitHub, ID: "Acme-Corp/shop.web_1"}},
		{"gitlab:acme/platform/shop", Repo{Kind: SourceGitLab, ID: "acme/platform/shop"}},
		{"bitbucket:acme/shop-api", Repo{Kind: SourceBitbucket, ID: "acme/shop-api"}},
		{"codecommit:shop_api.v2", Repo{Kind: SourceCodeCommit, ID: "shop_api.v2"}},
		{"s3://acme-src/shop/source.zip", Repo{Kind: SourceS3, Bucket: "acme-src", Key: "shop/source.zip"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRepo(c.in)
			if err != nil || got != c.want {
				t.Fatalf("ParseRepo(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseRepoRejectsBadFormsAsUsageErrors(t *testing.T) {
	cases := map[string]string{
		"no kind":                        "acme/shop",
		"unknown kind":                   "svn:acme/shop",
		"github without repo":            "github:acme",
		"github nested":                  "github:acme/shop/x",
		"github owner leading hyphen":    "github:-acme/shop",
		"github owner double hyphen":     "github:ac--me/shop",
		"github owner too long":          "github:" + strings.Repeat("a", 40) + "/shop",
		"github repo dotdot":             "github:acme/..",
		"github repo space":              "github:acme/my shop",
		"gitlab single segment":          "gitlab:shop",
		"gitlab segment ends with .git":  "gitlab:acme/shop.git",
		"gitlab segment leading hyphen":  "gitlab:acme/-shop",
		"bitbucket upper case workspace": "bitbucket:Acme/shop",
		"bitbucket upper case slug":      "bitbucket:acme/Shop",
		"codecommit .git suffix":         "codecommit:shop.git",
		"codecommit slash":               "codecommit:acme/shop",
		"codecommit too long":            "codecommit:" + strings.Repeat("a", 101),
		"s3 no key":                      "s3://acme-src",
		"s3 not zip":                     "s3://acme-src/source.tar.gz",
		"s3 upper-case bucket":           "s3://Acme/source.zip",
		"s3 short bucket":                "s3://ab/source.zip",
		"empty":                          "",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRepo(in)
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("ParseRepo(%q) = %v, want a usage error", in, err)
			}
		})
	}
}

func TestBranchNamesFollowGitRefRules(t *testing.T) {
	good := []string{"main", "release/1.2", "feature/x-y_z", "v1.0"}
	bad := []string{"", "-x", "a..b", "a b", "x~1", "a^", "a:b", "a?b", "a*", "a[b", `a\b`, "/a", "a/", "a//b", "a.", "a/.b", "a.lock", "@", "a@{b", strings.Repeat("b", 256)}
	for _, b := range good {
		if err := ValidateBranch("--branch", b); err != nil {
			t.Errorf("%q: %v", b, err)
		}
	}
	for _, b := range bad {
		if err := ValidateBranch("--branch", b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestBranchGlobsValidateAndMatchLikeTriggerFilters(t *testing.T) {
	for _, g := range []string{"main", "release/*", "feature/**", "v?.x", "hotfix/[0-9]*", "{main,develop}"} {
		if err := ValidateGlob("--test-branches", g); err != nil {
			t.Errorf("%q: %v", g, err)
		}
	}
	for _, g := range []string{"", "release/[", "a]", "{main", "main}", "a b/*", "..*", strings.Repeat("x", 256)} {
		if err := ValidateGlob("--test-branches", g); err == nil {
			t.Errorf("%q accepted", g)
		}
	}
	re := regexp.MustCompile(GlobRegexp([]string{"main", "release/*", "feature/**", "{hot,cold}fix/v?"}))
	match := map[string]bool{
		"main": true, "mainx": false, "release/1.2": true, "release/1/2": false, "feature/a/b": true,
		"hotfix/v1": true, "coldfix/v2": true, "warmfix/v1": false, "hotfix/v10": false, "feature": false,
	}
	for b, want := range match {
		if got := re.MatchString(b); got != want {
			t.Errorf("%q matches %v, want %v (regexp %s)", b, got, want, re)
		}
	}
	if got := SplitList(" main, release/*,{a,b}/x ,"); strings.Join(got, "|") != "main|release/*|{a,b}/x" {
		t.Fatalf("SplitList = %q", got)
	}
}

func validCreate() CreateOptions {
	r, _ := ParseRepo("github:acme/shop")
	return CreateOptions{Name: "shop", Repo: r, Cluster: "prod", Service: "api"}.WithDefaults()
}

func TestCreateOptionsValidation(t *testing.T) {
	s3, _ := ParseRepo("s3://acme-src/app.zip")
	cc, _ := ParseRepo("codecommit:shop")
	cases := map[string]func(o *CreateOptions){
		"name upper case":           func(o *CreateOptions) { o.Name = "Shop" },
		"name too long":             func(o *CreateOptions) { o.Name = strings.Repeat("a", 31) },
		"name with dot":             func(o *CreateOptions) { o.Name = "shop.web" },
		"no repo":                   func(o *CreateOptions) { o.Repo = Repo{} },
		"bad cluster":               func(o *CreateOptions) { o.Cluster = "prod cluster" },
		"bad service":               func(o *CreateOptions) { o.Service = "" },
		"bad container":             func(o *CreateOptions) { o.Container = "a/b" },
		"bad branch":                func(o *CreateOptions) { o.Branch = "a..b" },
		"bad test glob":             func(o *CreateOptions) { o.TestBranches = []string{"release/["}; o.TestCommand = "make it" },
		"nine test globs":           func(o *CreateOptions) { o.TestBranches = strings.Split("a,b,c,d,e,f,g,h,i", ","); o.TestCommand = "x" },
		"test branches, no command": func(o *CreateOptions) { o.TestBranches = []string{"main"} },
		"command, no test branches": func(o *CreateOptions) { o.TestCommand = "make integration" },
		"multi-line command":        func(o *CreateOptions) { o.TestBranches = []string{"main"}; o.TestCommand = "a\nb" },
		"bad email":                 func(o *CreateOptions) { o.Notify = "ops@" },
		"dockerfile escapes":        func(o *CreateOptions) { o.Dockerfile = "../Dockerfile" },
		"dockerfile absolute":       func(o *CreateOptions) { o.Dockerfile = "/Dockerfile" },
		"dockerfile quote":          func(o *CreateOptions) { o.Dockerfile = `a"b` },
		"s3 with branch":            func(o *CreateOptions) { o.Repo = s3 },
		"s3 with test branches": func(o *CreateOptions) {
			o.Repo, o.Branch, o.TriggerBranches, o.TestBranches, o.TestCommand = s3, "", nil, []string{"main"}, "x"
		},
		"codecommit with triggers": func(o *CreateOptions) { o.Repo = cc },
		"keep zero images":         func(o *CreateOptions) { o.KeepImages = -1 },
	}
	if err := validCreate().Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			o := validCreate()
			mut(&o)
			var u *opserr.UsageError
			if err := o.Validate(); !errors.As(err, &u) {
				t.Fatalf("Validate = %v, want a usage error", err)
			}
		})
	}
}

func TestDefaultTriggersAreTheBranchAndTheTestBranches(t *testing.T) {
	r, _ := ParseRepo("github:acme/shop")
	o := CreateOptions{Name: "shop", Repo: r, Cluster: "c", Service: "s", TestBranches: []string{"main", "release/*"}, TestCommand: "make it"}.WithDefaults()
	if strings.Join(o.TriggerBranches, ",") != "main,release/*" || o.Branch != "main" || o.Dockerfile != "Dockerfile" || o.KeepImages != DefaultKeepImages {
		t.Fatalf("defaults: %+v", o)
	}
	cc, _ := ParseRepo("codecommit:shop")
	if o := (CreateOptions{Repo: cc}).WithDefaults(); o.TriggerBranches != nil {
		t.Fatalf("CodeCommit has no trigger filters: %v", o.TriggerBranches)
	}
}

func TestGoldenBuildspecs(t *testing.T) {
	bs := Buildspec(BuildspecSpec{RepositoryURI: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop", RepositoryName: "shop",
		Cluster: "prod", Service: "api", Container: "web", Dockerfile: "docker/Dockerfile"})
	golden(t, "buildspec.golden.yml", bs)
	// It is YAML with the keys CodeBuild reads (buildspec reference 0.2).
	var doc struct {
		Version float64 `yaml:"version"`
		Phases  map[string]struct {
			Commands []string `yaml:"commands"`
		} `yaml:"phases"`
		Artifacts struct {
			Files []string `yaml:"files"`
		} `yaml:"artifacts"`
	}
	if err := yaml.Unmarshal([]byte(bs), &doc); err != nil || doc.Version != 0.2 || doc.Artifacts.Files[0] != "imagedefinitions.json" {
		t.Fatalf("buildspec does not parse as CodeBuild reads it: %v %+v", err, doc)
	}
	all := strings.Join(append(doc.Phases["pre_build"].Commands, doc.Phases["build"].Commands...), "\n")
	for _, want := range []string{"get-login-password", "CODEBUILD_RESOLVED_SOURCE_VERSION", "describe-task-definition", "BUILDKIT_INLINE_CACHE=1", "--cache-from", "docker push", `"name":"%s","imageUri":"%s"`} {
		if !strings.Contains(all, want) {
			t.Errorf("buildspec lacks %q", want)
		}
	}
	golden(t, "testspec.golden.yml", TestBuildspec(TestBuildspecSpec{Cluster: "prod", Service: "api", Command: `make integration BASE_URL="https://api.example.com"`}))
}
