// Package pipelines builds a small company's delivery pipeline: a git push
// (GitHub, GitLab or Bitbucket through a CodeConnections connection,
// CodeCommit, or an S3 object) → a CodeBuild Docker build pushed to ECR with
// a layer cache that survives between builds → an ECS rollout through
// CodePipeline V2's ECS deploy action, and on chosen branches a Test stage
// that runs an integration-test command against the deployed service and
// rolls back when it fails. A failed execution emails a person through
// EventBridge and the alarms package's SNS topic.
//
// Every mutation goes plan → diff → apply through internal/plan; every wait
// goes through internal/wait on the injected clock. The package never prints,
// exits or reads flags: cmd/opsctl does.
package pipelines

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/opserr"
)

// Source kinds (the forms of --repo).
const (
	SourceGitHub     = "github"
	SourceGitLab     = "gitlab"
	SourceBitbucket  = "bitbucket"
	SourceCodeCommit = "codecommit"
	SourceS3         = "s3"
)

// Defaults.
const (
	DefaultBranch     = "main"
	DefaultDockerfile = "Dockerfile"
	// DefaultKeepImages is how many images the ECR lifecycle policy keeps.
	DefaultKeepImages = 30
)

// Repo is a parsed --repo value.
type Repo struct {
	Kind string `json:"kind"`
	// ID is OWNER/REPO (GitLab: GROUP/…/PROJECT) for connection sources,
	// the repository name for CodeCommit.
	ID string `json:"id,omitempty"`
	// Bucket and Key name the S3 source object.
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
}

// Connection reports whether the source goes through CodeConnections.
func (r Repo) Connection() bool {
	return r.Kind == SourceGitHub || r.Kind == SourceGitLab || r.Kind == SourceBitbucket
}

// ProviderType is the CodeConnections provider of a connection source
// (botocore codeconnections ProviderType enum).
func (r Repo) ProviderType() string {
	return map[string]string{SourceGitHub: "GitHub", SourceGitLab: "GitLab", SourceBitbucket: "Bitbucket"}[r.Kind]
}

// Branched reports whether the source has branches (S3 objects have none).
func (r Repo) Branched() bool { return r.Kind != SourceS3 }

func (r Repo) String() string {
	if r.Kind == SourceS3 {
		return "s3://" + r.Bucket + "/" + r.Key
	}
	return r.Kind + ":" + r.ID
}

func usagef(format string, args ...any) error { return opserr.Usagef(format, args...) }

var (
	// GitHub: user and organisation names are 1-39 alphanumerics or single
	// hyphens, not at either end; repository names are 1-100 of
	// [A-Za-z0-9._-], never "." or "..".
	ghOwner = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)
	ghRepo  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// GitLab paths: each namespace or project segment starts and ends with a
	// letter, digit or underscore and holds letters, digits, '_', '-', '.'.
	glSegment = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,253}[A-Za-z0-9_])?$`)
	// Bitbucket workspace IDs and repository slugs: lower-case letters,
	// digits, '-', '_' (slugs also '.').
	bbWorkspace = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,61}$`)
	bbRepo      = regexp.MustCompile(`^[a-z0-9._-]{1,62}$`)
	// CodeCommit repository names: 1-100 letters, digits, '.', '_', '-'
	// (CodeCommit API RepositoryName: [\w\.-]+, max 100; ".git" suffix refused).
	ccRepo = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// S3 bucket names: 3-63 lower-case letters, digits, '.', '-', starting and
	// ending with a letter or digit.
	s3Bucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// ParseRepo parses --repo: github:OWNER/REPO, gitlab:GROUP[/SUBGROUP…]/PROJECT,
// bitbucket:WORKSPACE/REPO, codecommit:NAME or s3://BUCKET/KEY.zip.
func ParseRepo(s string) (Repo, error) {
	if rest, ok := strings.CutPrefix(s, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		if !s3Bucket.MatchString(bucket) || strings.Contains(bucket, "..") {
			return Repo{}, usagef("--repo %q: %q is not a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-')", s, bucket)
		}
		if key == "" || len(key) > 1024 {
			return Repo{}, usagef("--repo %q: the S3 source needs an object key: s3://BUCKET/KEY.zip", s)
		}
		// CodePipeline's S3 source action reads a .zip object (action
		// reference "Amazon S3 source action": the source file must be zipped).
		if !strings.HasSuffix(strings.ToLower(key), ".zip") {
			return Repo{}, usagef("--repo %q: CodePipeline's S3 source reads a .zip object; the key must end in .zip", s)
		}
		return Repo{Kind: SourceS3, Bucket: bucket, Key: key}, nil
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return Repo{}, usagef("--repo %q: expected github:OWNER/REPO, gitlab:GROUP/PROJECT, bitbucket:WORKSPACE/REPO, codecommit:NAME or s3://BUCKET/KEY.zip", s)
	}
	kind = strings.ToLower(kind)
	bad := func(why string) error { return usagef("--repo %q: %s", s, why) }
	switch kind {
	case SourceGitHub:
		owner, repo, ok := strings.Cut(id, "/")
		if !ok || strings.Contains(repo, "/") {
			return Repo{}, bad("expected github:OWNER/REPO")
		}
		if !ghOwner.MatchString(owner) {
			return Repo{}, bad(fmt.Sprintf("%q is not a GitHub owner (1-39 letters, digits or single hyphens, not at either end)", owner))
		}
		if !ghRepo.MatchString(repo) || repo == "." || repo == ".." {
			return Repo{}, bad(fmt.Sprintf("%q is not a GitHub repository name (1-100 of A-Z a-z 0-9 . _ -)", repo))
		}
		id = owner + "/" + strings.TrimSuffix(repo, ".git")
	case SourceGitLab:
		segs := strings.Split(id, "/")
		if len(segs) < 2 {
			return Repo{}, bad("expected gitlab:GROUP/PROJECT (subgroups allowed: GROUP/SUB/PROJECT)")
		}
		for _, g := range segs {
			if !glSegment.MatchString(g) || strings.HasSuffix(g, ".git") || strings.HasSuffix(g, ".atom") {
				return Repo{}, bad(fmt.Sprintf("%q is not a GitLab path segment (letters, digits, '_', '-', '.'; starting and ending with a letter, digit or '_'; not ending in .git or .atom)", g))
			}
		}
	case SourceBitbucket:
		ws, repo, ok := strings.Cut(id, "/")
		if !ok || strings.Contains(repo, "/") {
			return Repo{}, bad("expected bitbucket:WORKSPACE/REPO")
		}
		if !bbWorkspace.MatchString(ws) {
			return Repo{}, bad(fmt.Sprintf("%q is not a Bitbucket workspace ID (lower-case letters, digits, '-', '_')", ws))
		}
		if !bbRepo.MatchString(repo) {
			return Repo{}, bad(fmt.Sprintf("%q is not a Bitbucket repository slug (lower-case letters, digits, '.', '-', '_')", repo))
		}
	case SourceCodeCommit:
		if !ccRepo.MatchString(id) || strings.HasSuffix(strings.ToLower(id), ".git") {
			return Repo{}, bad(fmt.Sprintf("%q is not a CodeCommit repository name (1-100 letters, digits, '.', '_', '-'; not ending in .git)", id))
		}
	default:
		return Repo{}, bad(fmt.Sprintf("unknown source %q: use github:, gitlab:, bitbucket:, codecommit: or s3://", kind))
	}
	return Repo{Kind: kind, ID: id}, nil
}

// ValidateBranch checks a branch name as git check-ref-format --branch does.
func ValidateBranch(flag, b string) error {
	bad := func(why string) error { return usagef("%s %q: not a valid git branch name: %s", flag, b, why) }
	switch {
	case b == "":
		return bad("empty")
	case len(b) > 255:
		return bad("longer than 255 characters")
	case b == "@":
		return bad(`"@" alone is reserved`)
	case strings.HasPrefix(b, "-"):
		return bad("starts with '-'")
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.Contains(b, "//"):
		return bad("empty path component")
	case strings.HasSuffix(b, "."):
		return bad("ends with '.'")
	case strings.Contains(b, ".."):
		return bad(`contains ".."`)
	case strings.Contains(b, "@{"):
		return bad(`contains "@{"`)
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	for _, comp := range strings.Split(b, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return bad("a component starts with '.' or ends with .lock")
		}
	}
	return nil
}

// ValidateGlob checks one trigger branch filter pattern: CodePipeline's
// GitBranchNamePattern is 1-255 characters (botocore codepipeline
// GitBranchNamePattern), and the pattern uses the glob syntax of the trigger
// filters ("Working with glob patterns in syntax": *, **, ?, [...], {a,b}),
// whose brackets and braces must balance.
func ValidateGlob(flag, g string) error {
	if g == "" || len(g) > 255 {
		return usagef("%s %q: a branch pattern is 1-255 characters", flag, g)
	}
	// Apart from the glob characters it must be a possible branch name.
	plain := strings.NewReplacer("**", "x", "*", "x", "?", "x", "[", "", "]", "", "{", "", "}", "", ",", "").Replace(g)
	if err := ValidateBranch(flag, plain); err != nil {
		return usagef("%s %q: not a branch pattern: %v", flag, g, strings.TrimPrefix(err.Error(), fmt.Sprintf("%s %q: ", flag, plain)))
	}
	depthB, depthC := 0, 0
	for _, c := range g {
		switch c {
		case '[':
			if depthB > 0 {
				return usagef("%s %q: nested '['", flag, g)
			}
			depthB++
		case ']':
			depthB--
		case '{':
			depthC++
		case '}':
			depthC--
		case ',':
			if depthC == 0 {
				return usagef("%s %q: ',' outside {…}; list several patterns separated by commas in the flag instead", flag, g)
			}
		}
		if depthB < 0 || depthC < 0 {
			return usagef("%s %q: unbalanced brackets", flag, g)
		}
	}
	if depthB != 0 || depthC != 0 {
		return usagef("%s %q: unbalanced brackets", flag, g)
	}
	if _, err := path.Match(strings.NewReplacer("**", "*", "{", "", "}", "").Replace(g), ""); err != nil {
		return usagef("%s %q: %v", flag, g, err)
	}
	return nil
}

// SplitList splits a comma-separated flag value, trimming spaces; commas
// inside {…} belong to the pattern.
func SplitList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				if t := strings.TrimSpace(s[start:i]); t != "" {
					out = append(out, t)
				}
				start = i + 1
			}
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// GlobRegexp turns trigger branch globs into one anchored regular
// expression, for the Test stage's VariableCheck MATCHES rule on
// #{SourceVariables.BranchName}: "*" is any run of characters except '/',
// "**" any run including '/', "?" one character except '/', [...] a class,
// {a,b} alternatives.
func GlobRegexp(globs []string) string {
	alts := make([]string, len(globs))
	for i, g := range globs {
		var b strings.Builder
		rs := []rune(g)
		for j := 0; j < len(rs); j++ {
			c := rs[j]
			switch c {
			case '*':
				if j+1 < len(rs) && rs[j+1] == '*' {
					b.WriteString(".*")
					j++
				} else {
					b.WriteString("[^/]*")
				}
			case '?':
				b.WriteString("[^/]")
			case '[':
				b.WriteByte('[')
				if j+1 < len(rs) && rs[j+1] == '!' {
					b.WriteByte('^')
					j++
				}
			case ']':
				b.WriteByte(']')
			case '{':
				b.WriteString("(?:")
			case '}':
				b.WriteByte(')')
			case ',':
				b.WriteByte('|')
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		alts[i] = b.String()
	}
	return "^(?:" + strings.Join(alts, "|") + ")$"
}

// Limits from the models.
var (
	// botocore codepipeline PipelineName: [A-Za-z0-9.@\-_]+, 1-100.
	pipelineName = regexp.MustCompile(`^[A-Za-z0-9.@_-]{1,100}$`)
	// ECS cluster and service names: up to 255 letters, digits, '-', '_'.
	ecsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// ECS container names: up to 255 letters, digits, '-', '_'.
	containerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

// Names that opsctl derives from the pipeline name must fit AWS's limits:
// the CodeBuild project NAME-build is 2-150 of [A-Za-z0-9][A-Za-z0-9\-_]
// (botocore codebuild ProjectName), the ECR repository is lower-case
// (botocore ecr RepositoryName), IAM role names are at most 64 characters,
// and the artifact bucket opsctl-pipeline-NAME-ACCOUNT-REGION at most 63.
// So the pipeline name is 1-30 lower-case letters, digits and hyphens.
var opsctlPipelineName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$`)

// ValidateName checks a pipeline name.
func ValidateName(name string) error {
	if !pipelineName.MatchString(name) {
		return usagef("pipeline name %q: CodePipeline names are 1-100 of A-Z a-z 0-9 . @ - _", name)
	}
	if !opsctlPipelineName.MatchString(name) || strings.Contains(name, "--") {
		return usagef("pipeline name %q: opsctl derives bucket, ECR repository, role and project names from it, so it is 1-30 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// CreateOptions are the inputs of `pipeline create`.
type CreateOptions struct {
	Name string
	Repo Repo
	// Branch is the source action's BranchName (used by a manual start).
	Branch string
	// TriggerBranches are the push filter globs that start an execution
	// (default: Branch and TestBranches).
	TriggerBranches  []string
	Cluster, Service string
	// Container is the container whose image the pipeline replaces
	// (default: the service's only container; checked against the live
	// task definition).
	Container  string
	Dockerfile string
	// TestBranches are the globs whose pushes run the Test stage.
	TestBranches []string
	TestCommand  string
	// Notify is the email address told of failed executions.
	Notify string
	// KeepImages is how many images ECR keeps (lifecycle policy).
	KeepImages int
	// Wait polls the connection until it is AVAILABLE.
	Wait   bool
	DryRun bool
}

// WithDefaults fills in defaults.
func (o CreateOptions) WithDefaults() CreateOptions {
	if o.Branch == "" && o.Repo.Branched() {
		o.Branch = DefaultBranch
	}
	if o.Dockerfile == "" {
		o.Dockerfile = DefaultDockerfile
	}
	if o.KeepImages == 0 {
		o.KeepImages = DefaultKeepImages
	}
	if len(o.TriggerBranches) == 0 && o.Repo.Connection() {
		seen := map[string]bool{}
		for _, b := range append([]string{o.Branch}, o.TestBranches...) {
			if !seen[b] {
				seen[b] = true
				o.TriggerBranches = append(o.TriggerBranches, b)
			}
		}
	}
	return o
}

// Validate checks the options before any AWS call (usage errors, exit 2).
func (o CreateOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Repo.Kind == "" {
		return usagef("--repo is required")
	}
	if !ecsName.MatchString(o.Cluster) {
		return usagef("--cluster %q: an ECS cluster name is 1-255 letters, digits, '-' or '_'", o.Cluster)
	}
	if !ecsName.MatchString(o.Service) {
		return usagef("--service %q: an ECS service name is 1-255 letters, digits, '-' or '_'", o.Service)
	}
	if o.Container != "" && !containerName.MatchString(o.Container) {
		return usagef("--container %q: a container name is 1-255 letters, digits, '-' or '_'", o.Container)
	}
	if err := validateDockerfile(o.Dockerfile); err != nil {
		return err
	}
	if o.Repo.Branched() {
		if err := ValidateBranch("--branch", o.Branch); err != nil {
			return err
		}
	} else if o.Branch != "" {
		return usagef("--branch %q: an S3 source has no branches", o.Branch)
	}
	if !o.Repo.Branched() && len(o.TestBranches) > 0 {
		return usagef("--test-branches: an S3 source has no branches to choose from")
	}
	if len(o.TriggerBranches) > 0 && !o.Repo.Connection() {
		return usagef("--trigger-branches: push triggers exist only for GitHub, GitLab and Bitbucket sources (CodeStarSourceConnection)")
	}
	// botocore codepipeline GitBranchPatternList: 1-8 patterns.
	for flag, list := range map[string][]string{"--test-branches": o.TestBranches, "--trigger-branches": o.TriggerBranches} {
		if len(list) > 8 {
			return usagef("%s: at most 8 branch patterns (CodePipeline's trigger filters allow 8 includes)", flag)
		}
		for _, g := range list {
			if err := ValidateGlob(flag, g); err != nil {
				return err
			}
		}
	}
	if len(o.TestBranches) > 0 && strings.TrimSpace(o.TestCommand) == "" {
		return usagef("--test-branches needs --test-command (the integration tests to run after the deploy)")
	}
	if o.TestCommand != "" {
		if err := validateCommand(o.TestCommand); err != nil {
			return err
		}
		if len(o.TestBranches) == 0 {
			return usagef("--test-command needs --test-branches (the branches whose pushes run it), e.g. --test-branches 'main,release/*'")
		}
	}
	if o.Notify != "" {
		if err := alarms.ValidateEmails([]string{o.Notify}); err != nil {
			return opserr.Usagef("--notify: %w", err)
		}
	}
	// ECR lifecycle countNumber is a positive integer; keep a sane bound.
	if o.KeepImages < 1 || o.KeepImages > 1000 {
		return usagef("--keep-images %d: keep 1-1000 images", o.KeepImages)
	}
	return nil
}

func validateDockerfile(p string) error {
	if p == "" || len(p) > 1024 || strings.HasPrefix(p, "/") || strings.Contains(p, "\x00") {
		return usagef("--dockerfile %q: a relative path inside the repository", p)
	}
	for _, comp := range strings.Split(p, "/") {
		if comp == ".." {
			return usagef("--dockerfile %q: must stay inside the repository (no ..)", p)
		}
	}
	if strings.ContainsAny(p, "\n\r'\"$`\\") {
		return usagef("--dockerfile %q: quotes, '$', '`', '\\' and newlines are not allowed in the path", p)
	}
	return nil
}

// validateCommand checks --test-command: one line (buildspec commands are
// YAML list items; a newline would split it) of at most 1000 characters.
func validateCommand(c string) error {
	if len(c) > 1000 {
		return usagef("--test-command: at most 1000 characters")
	}
	if strings.ContainsAny(c, "\n\r\x00") {
		return usagef("--test-command: one line (use a script in the repository for more)")
	}
	return nil
}
