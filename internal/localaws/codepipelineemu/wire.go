package codepipelineemu

import "github.com/opsctl/opsctl/internal/localaws/awsproto"

// Wire shapes, member names as in botocore codepipeline service-2.json.

type pipelineDecl struct {
	Name           *string                  `json:"name,omitempty"`
	RoleArn        *string                  `json:"roleArn,omitempty"`
	ArtifactStore  *artifactStore           `json:"artifactStore,omitempty"`
	ArtifactStores map[string]artifactStore `json:"artifactStores,omitempty"`
	Stages         []stageDecl              `json:"stages"`
	Version        *int64                   `json:"version,omitempty"`
	ExecutionMode  string                   `json:"executionMode,omitempty"`
	PipelineType   string                   `json:"pipelineType,omitempty"`
	Variables      []variableDecl           `json:"variables,omitempty"`
	Triggers       []triggerDecl            `json:"triggers,omitempty"`
}

type artifactStore struct {
	Type          *string        `json:"type,omitempty"`
	Location      *string        `json:"location,omitempty"`
	EncryptionKey *encryptionKey `json:"encryptionKey,omitempty"`
}

type encryptionKey struct {
	ID   *string `json:"id,omitempty"`
	Type *string `json:"type,omitempty"`
}

type stageDecl struct {
	Name        *string         `json:"name,omitempty"`
	Blockers    []blockerDecl   `json:"blockers,omitempty"`
	Actions     []actionDecl    `json:"actions"`
	OnFailure   *failureConds   `json:"onFailure,omitempty"`
	OnSuccess   *conditionsDecl `json:"onSuccess,omitempty"`
	BeforeEntry *conditionsDecl `json:"beforeEntry,omitempty"`
}

type blockerDecl struct {
	Name *string `json:"name,omitempty"`
	Type *string `json:"type,omitempty"`
}

type actionDecl struct {
	Name                 *string           `json:"name,omitempty"`
	ActionTypeID         *actionTypeID     `json:"actionTypeId,omitempty"`
	RunOrder             *int64            `json:"runOrder,omitempty"`
	Configuration        map[string]string `json:"configuration,omitempty"`
	Commands             []string          `json:"commands,omitempty"`
	OutputArtifacts      []artifactRef     `json:"outputArtifacts"`
	InputArtifacts       []artifactRef     `json:"inputArtifacts"`
	OutputVariables      []string          `json:"outputVariables,omitempty"`
	RoleArn              *string           `json:"roleArn,omitempty"`
	Region               *string           `json:"region,omitempty"`
	Namespace            *string           `json:"namespace,omitempty"`
	TimeoutInMinutes     *int64            `json:"timeoutInMinutes,omitempty"`
	EnvironmentVariables []envVar          `json:"environmentVariables,omitempty"`
}

type actionTypeID struct {
	Category *string `json:"category,omitempty"`
	Owner    *string `json:"owner,omitempty"`
	Provider *string `json:"provider,omitempty"`
	Version  *string `json:"version,omitempty"`
}

type artifactRef struct {
	Name  *string  `json:"name,omitempty"`
	Files []string `json:"files,omitempty"`
}

type envVar struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
	Type  string  `json:"type,omitempty"`
}

type failureConds struct {
	Result             string          `json:"result,omitempty"`
	RetryConfiguration *retryConfig    `json:"retryConfiguration,omitempty"`
	Conditions         []conditionDecl `json:"conditions,omitempty"`
}

type retryConfig struct {
	RetryMode string `json:"retryMode,omitempty"`
}

type conditionsDecl struct {
	Conditions []conditionDecl `json:"conditions"`
}

type conditionDecl struct {
	Result string     `json:"result,omitempty"`
	Rules  []ruleDecl `json:"rules,omitempty"`
}

type ruleDecl struct {
	Name             *string           `json:"name,omitempty"`
	RuleTypeID       *ruleTypeID       `json:"ruleTypeId,omitempty"`
	Configuration    map[string]string `json:"configuration,omitempty"`
	Commands         []string          `json:"commands,omitempty"`
	InputArtifacts   []artifactRef     `json:"inputArtifacts,omitempty"`
	RoleArn          *string           `json:"roleArn,omitempty"`
	Region           *string           `json:"region,omitempty"`
	TimeoutInMinutes *int64            `json:"timeoutInMinutes,omitempty"`
}

type ruleTypeID struct {
	Category *string `json:"category,omitempty"`
	Owner    *string `json:"owner,omitempty"`
	Provider *string `json:"provider,omitempty"`
	Version  *string `json:"version,omitempty"`
}

type variableDecl struct {
	Name         *string `json:"name,omitempty"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Description  *string `json:"description,omitempty"`
}

type triggerDecl struct {
	ProviderType     *string    `json:"providerType,omitempty"`
	GitConfiguration *gitConfig `json:"gitConfiguration,omitempty"`
}

type gitConfig struct {
	SourceActionName *string       `json:"sourceActionName,omitempty"`
	Push             []gitPush     `json:"push,omitempty"`
	PullRequest      []gitPRFilter `json:"pullRequest,omitempty"`
}

type gitPush struct {
	Tags      *filterCriteria `json:"tags,omitempty"`
	Branches  *filterCriteria `json:"branches,omitempty"`
	FilePaths *filterCriteria `json:"filePaths,omitempty"`
}

type gitPRFilter struct {
	Events    []string        `json:"events,omitempty"`
	Branches  *filterCriteria `json:"branches,omitempty"`
	FilePaths *filterCriteria `json:"filePaths,omitempty"`
}

type filterCriteria struct {
	Includes []string `json:"includes,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
}

type tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

type pipelineMetadata struct {
	PipelineArn string             `json:"pipelineArn"`
	Created     awsproto.EpochTime `json:"created"`
	Updated     awsproto.EpochTime `json:"updated"`
}

type pipelineSummary struct {
	Name          string             `json:"name"`
	Version       int64              `json:"version"`
	PipelineType  string             `json:"pipelineType"`
	ExecutionMode string             `json:"executionMode"`
	Created       awsproto.EpochTime `json:"created"`
	Updated       awsproto.EpochTime `json:"updated"`
}
