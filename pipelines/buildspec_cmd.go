package pipelines

import "context"

// BuildspecOptions are the inputs of `pipeline buildspec`.
type BuildspecOptions struct {
	Name, Cluster, Service, Container, Dockerfile string
	// TestCommand, when set, also renders the Test stage's buildspec.
	TestCommand string
}

// WithDefaults fills in defaults: the container is named like the service
// unless told otherwise (as `deploy service create` names it).
func (o BuildspecOptions) WithDefaults() BuildspecOptions {
	if o.Container == "" {
		o.Container = o.Service
	}
	if o.Dockerfile == "" {
		o.Dockerfile = DefaultDockerfile
	}
	return o
}

// Validate checks the options before any AWS call.
func (o BuildspecOptions) Validate() error {
	c := CreateOptions{Name: o.Name, Repo: Repo{Kind: SourceCodeCommit, ID: "x"}, Branch: DefaultBranch, Cluster: o.Cluster,
		Service: o.Service, Container: o.Container, Dockerfile: o.Dockerfile, KeepImages: DefaultKeepImages}
	if o.TestCommand != "" {
		c.TestCommand, c.TestBranches = o.TestCommand, []string{DefaultBranch}
	}
	return c.Validate()
}

// BuildspecResult is the generated build (and test) specification.
type BuildspecResult struct {
	Project       string `json:"project"`
	Buildspec     string `json:"buildspec"`
	TestProject   string `json:"test_project,omitempty"`
	TestBuildspec string `json:"test_buildspec,omitempty"`
}

// RenderBuildspec renders the buildspecs `pipeline create` would give the
// pipeline's CodeBuild projects. It only reads the account (STS).
func RenderBuildspec(ctx context.Context, deps Deps, o BuildspecOptions) (BuildspecResult, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return BuildspecResult{}, err
	}
	account, err := deps.account(ctx)
	if err != nil {
		return BuildspecResult{}, err
	}
	n := NamesOf(o.Name, deps.Region, account)
	r := BuildspecResult{Project: n.BuildProject, Buildspec: Buildspec(n.buildspecSpec(o.Cluster, o.Service, o.Container, o.Dockerfile))}
	if o.TestCommand != "" {
		r.TestProject = n.testProject()
		r.TestBuildspec = TestBuildspec(TestBuildspecSpec{Cluster: o.Cluster, Service: o.Service, Command: o.TestCommand})
	}
	return r, nil
}

func (n Names) buildspecSpec(cluster, service, container, dockerfile string) BuildspecSpec {
	return BuildspecSpec{RepositoryURI: n.RepositoryURI, RepositoryName: n.Repository, Cluster: cluster, Service: service,
		Container: container, Dockerfile: dockerfile}
}

func (n Names) testProject() string { return n.Pipeline + "-test" }
