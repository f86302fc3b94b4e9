package pipelines

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// BuildspecSpec is what the generated build needs to know.
type BuildspecSpec struct {
	// RepositoryURI is ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME.
	RepositoryURI  string
	RepositoryName string
	Cluster        string
	Service        string
	Container      string
	Dockerfile     string
}

// Buildspec phases (CodeBuild buildspec reference, version 0.2: commands of
// one phase run in one shell, so variables set by one command are seen by
// the next; on-failure ABORT stops the build instead of running the next
// phase, so nothing is pushed or written after a failed check).
type buildspecDoc struct {
	Version float64      `yaml:"version"`
	Env     buildspecEnv `yaml:"env"`
	Phases  struct {
		PreBuild buildspecPhase `yaml:"pre_build"`
		Build    buildspecPhase `yaml:"build"`
	} `yaml:"phases"`
	Artifacts struct {
		Files []string `yaml:"files"`
	} `yaml:"artifacts"`
}

type buildspecEnv struct {
	Variables         yaml.Node `yaml:"variables"`
	ExportedVariables []string  `yaml:"exported-variables"`
}

type buildspecPhase struct {
	OnFailure string   `yaml:"on-failure"`
	Commands  []string `yaml:"commands"`
}

// ImageDefinitionsFile is the file the ECS deploy action reads (CodePipeline
// file reference: a JSON array of {"name", "imageUri"}).
const ImageDefinitionsFile = "imagedefinitions.json"

// ContainerCheckFailure starts the message a build prints when the
// container is not in the service's live task definition.
const ContainerCheckFailure = "opsctl: wrong container name"

// Buildspec renders the build's buildspec: log in to ECR; check that the
// container the pipeline deploys exists in the ECS service's live task
// definition (so a wrong imagedefinitions.json fails the build with a clear
// message rather than the deploy); build with BuildKit's inline layer cache
// taken from the newest image in the repository (the repository's tags are
// immutable, so the cache rides on the images themselves rather than on a
// moving cache tag); push the image tagged with the commit id
// (CODEBUILD_RESOLVED_SOURCE_VERSION), skipping the build when that tag is
// already there (a re-run or a rollback of the same commit: immutable tags
// cannot be pushed twice); and write imagedefinitions.json.
func Buildspec(s BuildspecSpec) string {
	var d buildspecDoc
	d.Version = 0.2
	vars := [][2]string{
		{"REPOSITORY_URI", s.RepositoryURI},
		{"REPOSITORY_NAME", s.RepositoryName},
		{"ECS_CLUSTER", s.Cluster},
		{"ECS_SERVICE", s.Service},
		{"CONTAINER_NAME", s.Container},
		{"DOCKERFILE", s.Dockerfile},
		{"DOCKER_BUILDKIT", "1"},
	}
	d.Env.Variables = yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range vars {
		d.Env.Variables.Content = append(d.Env.Variables.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: kv[0]},
			&yaml.Node{Kind: yaml.ScalarNode, Value: kv[1], Style: yaml.DoubleQuotedStyle})
	}
	d.Env.ExportedVariables = []string{"IMAGE_URI"}
	// One command per line and no if/then/fi: "a || (echo why >&2; exit 1)"
	// fails the phase with the message, and each line reads on its own in
	// the build log.
	d.Phases.PreBuild = buildspecPhase{OnFailure: "ABORT", Commands: []string{
		`IMAGE_TAG="$CODEBUILD_RESOLVED_SOURCE_VERSION"`,
		`[ -n "$IMAGE_TAG" ] || IMAGE_TAG="build-$CODEBUILD_BUILD_NUMBER"`,
		`IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"`,
		`echo "Image $IMAGE_URI"`,
		`aws ecr get-login-password --region "$AWS_DEFAULT_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"`,
		`TASK_DEFINITION=$(aws ecs describe-services --cluster "$ECS_CLUSTER" --services "$ECS_SERVICE" --query 'services[?status==` + "`ACTIVE`" + `].taskDefinition | [0]' --output text)`,
		`[ -n "$TASK_DEFINITION" ] && [ "$TASK_DEFINITION" != "None" ] || (echo "opsctl: service $ECS_SERVICE is not active in cluster $ECS_CLUSTER; the ECS deploy action has nothing to update" >&2; exit 1)`,
		`CONTAINERS=$(aws ecs describe-task-definition --task-definition "$TASK_DEFINITION" --query 'taskDefinition.containerDefinitions[].name' --output text)`,
		`printf '%s\n' $CONTAINERS | grep -qxF "$CONTAINER_NAME" || (echo "` + ContainerCheckFailure + `: container $CONTAINER_NAME is not in $TASK_DEFINITION (its containers: $CONTAINERS); imagedefinitions.json would not match the service, so the deploy would fail. Re-run opsctl pipeline create with --container set to one of them." >&2; exit 1)`,
		`EXISTING=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true)`,
		`CACHE_TAG=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --filter tagStatus=TAGGED --query 'sort_by(imageDetails,&imagePushedAt)[-1].imageTags[0]' --output text 2>/dev/null || true)`,
		`CACHE_FROM=""`,
		`[ -z "$CACHE_TAG" ] || [ "$CACHE_TAG" = "None" ] || CACHE_FROM="--cache-from $REPOSITORY_URI:$CACHE_TAG"`,
	}}
	d.Phases.Build = buildspecPhase{OnFailure: "ABORT", Commands: []string{
		`[ -n "$EXISTING" ] && [ "$EXISTING" != "None" ] && echo "$IMAGE_URI is already in ECR (tags are immutable): not rebuilding" || docker build --build-arg BUILDKIT_INLINE_CACHE=1 $CACHE_FROM --file "$DOCKERFILE" --tag "$IMAGE_URI" .`,
		`[ -n "$EXISTING" ] && [ "$EXISTING" != "None" ] || docker push "$IMAGE_URI"`,
		`printf '[{"name":"%s","imageUri":"%s"}]\n' "$CONTAINER_NAME" "$IMAGE_URI" > ` + ImageDefinitionsFile,
		`cat ` + ImageDefinitionsFile,
	}}
	d.Artifacts.Files = []string{ImageDefinitionsFile}
	return marshalYAML(d)
}

// TestBuildspecSpec is what the Test stage's build needs.
type TestBuildspecSpec struct {
	Cluster, Service string
	Command          string
}

// TestBuildspec renders the Test stage's buildspec: it runs the test
// command in the source checkout with the cluster and service in the
// environment; a non-zero exit fails the Test stage, which rolls back.
func TestBuildspec(s TestBuildspecSpec) string {
	var d struct {
		Version float64      `yaml:"version"`
		Env     buildspecEnv `yaml:"env"`
		Phases  struct {
			Build buildspecPhase `yaml:"build"`
		} `yaml:"phases"`
	}
	d.Version = 0.2
	d.Env.Variables = yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range [][2]string{{"ECS_CLUSTER", s.Cluster}, {"ECS_SERVICE", s.Service}} {
		d.Env.Variables.Content = append(d.Env.Variables.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: kv[0]},
			&yaml.Node{Kind: yaml.ScalarNode, Value: kv[1], Style: yaml.DoubleQuotedStyle})
	}
	d.Phases.Build = buildspecPhase{OnFailure: "ABORT", Commands: []string{
		`echo "Testing $ECS_SERVICE in $ECS_CLUSTER at $CODEBUILD_RESOLVED_SOURCE_VERSION"`,
		s.Command,
	}}
	return marshalYAML(d)
}

func marshalYAML(v any) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		// The documents are built from strings only; encoding cannot fail.
		panic(fmt.Sprintf("encode buildspec: %v", err))
	}
	return b.String()
}
