package codepipelineemu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// actionType is what the emulation knows of an AWS-owned action type: the
// configuration it requires and its artifact bounds, from the CodePipeline
// user guide's action structure reference ("Valid action providers ...
// Number of input/output artifacts").
type actionType struct {
	required         []string
	minIn, maxIn     int
	minOut, maxOut   int
	v2Only           bool
	commandsRequired bool
}

// actionTypes by category/provider (owner AWS, version 1).
var actionTypes = map[string]actionType{
	// action-reference-CodestarConnectionSource: ConnectionArn,
	// FullRepositoryId, BranchName required; 0 inputs, 1 output.
	"Source/CodeStarSourceConnection": {required: []string{"ConnectionArn", "FullRepositoryId", "BranchName"}, minOut: 1, maxOut: 1},
	// action-reference-CodeCommit: RepositoryName, BranchName.
	"Source/CodeCommit": {required: []string{"RepositoryName", "BranchName"}, minOut: 1, maxOut: 1},
	// action-reference-S3: S3Bucket, S3ObjectKey.
	"Source/S3": {required: []string{"S3Bucket", "S3ObjectKey"}, minOut: 1, maxOut: 1},
	// action-reference-ECR: RepositoryName.
	"Source/ECR": {required: []string{"RepositoryName"}, minOut: 1, maxOut: 1},
	// action-reference-CodeBuild: ProjectName; 1-5 inputs, 0-5 outputs.
	"Build/CodeBuild": {required: []string{"ProjectName"}, minIn: 1, maxIn: 5, maxOut: 5},
	"Test/CodeBuild":  {required: []string{"ProjectName"}, minIn: 1, maxIn: 5, maxOut: 5},
	// action-reference-ECS: ClusterName, ServiceName; exactly 1 input, no
	// output.
	"Deploy/ECS": {required: []string{"ClusterName", "ServiceName"}, minIn: 1, maxIn: 1},
	// action-reference-ECRBuildAndPublish (V2 only): ECRRepositoryName; 1
	// input, 0 outputs.
	"Build/ECRBuildAndPublish": {required: []string{"ECRRepositoryName"}, minIn: 1, maxIn: 1, v2Only: true},
	// action-reference-Commands (V2 only): commands required; 1-10 inputs,
	// 0-1 outputs.
	"Compute/Commands": {minIn: 1, maxIn: 10, maxOut: 1, v2Only: true, commandsRequired: true},
	// approvals-action-add: no artifacts.
	"Approval/Manual": {},
}

func (a actionDecl) typeKey() string {
	t := deref(a.ActionTypeID)
	return deref(t.Category) + "/" + deref(t.Provider)
}

// validateDecl checks a declaration: first the model's constraints
// (ValidationException, all violations at once), then the structure rules
// (InvalidStructureException, InvalidStageDeclarationException,
// InvalidActionDeclarationException), as CreatePipeline and UpdatePipeline
// answer them.
func validateDecl(d pipelineDecl, region string) error {
	if err := checkModel(d); err != nil {
		return err
	}
	return checkStructure(d, region)
}

// checkModel is the botocore codepipeline PipelineDeclaration constraints.
func checkModel(d pipelineDecl) error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	add(checkName("pipeline.name", d.Name))
	if d.RoleArn == nil {
		add(model.Required("pipeline.roleArn", false))
	} else {
		add(model.Length("pipeline.roleArn", *d.RoleArn, 0, 1024))
		add(model.Pattern("pipeline.roleArn", *d.RoleArn, roleArnRe))
	}
	if d.Stages == nil {
		add(model.Required("pipeline.stages", false))
	}
	add(model.Enum("pipeline.pipelineType", d.PipelineType, pipelineTypes...))
	add(model.Enum("pipeline.executionMode", d.ExecutionMode, executionModes...))
	if d.ArtifactStore != nil {
		add(checkStore("pipeline.artifactStore", *d.ArtifactStore))
	}
	for region, st := range d.ArtifactStores {
		add(model.Length("pipeline.artifactStores.key", region, 4, 30))
		add(checkStore("pipeline.artifactStores.value", st))
	}
	for i, st := range d.Stages {
		sp := fmt.Sprintf("pipeline.stages.%d.member", i+1)
		if st.Name == nil {
			add(model.Required(sp+".name", false))
		} else {
			add(model.Length(sp+".name", *st.Name, 1, 100))
			add(model.Pattern(sp+".name", *st.Name, nameRe))
		}
		if st.Actions == nil {
			add(model.Required(sp+".actions", false))
		}
		for j, a := range st.Actions {
			errs = append(errs, checkAction(fmt.Sprintf("%s.actions.%d.member", sp, j+1), a)...)
		}
		if st.BeforeEntry != nil {
			errs = append(errs, checkConditions(sp+".beforeEntry.conditions", st.BeforeEntry.Conditions, true)...)
		}
		if st.OnSuccess != nil {
			errs = append(errs, checkConditions(sp+".onSuccess.conditions", st.OnSuccess.Conditions, true)...)
		}
		if f := st.OnFailure; f != nil {
			if f.Result != "" {
				add(model.Enum(sp+".onFailure.result", f.Result, results...))
			}
			if f.RetryConfiguration != nil && f.RetryConfiguration.RetryMode != "" {
				add(model.Enum(sp+".onFailure.retryConfiguration.retryMode", f.RetryConfiguration.RetryMode, retryModes...))
			}
			if f.Conditions != nil {
				errs = append(errs, checkConditions(sp+".onFailure.conditions", f.Conditions, false)...)
			}
		}
	}
	// botocore codepipeline PipelineVariableDeclarationList: max 50.
	add(model.Size("pipeline.variables", fmt.Sprintf("%d variables", len(d.Variables)), len(d.Variables), 0, 50))
	for i, v := range d.Variables {
		vp := fmt.Sprintf("pipeline.variables.%d.member", i+1)
		if v.Name == nil {
			add(model.Required(vp+".name", false))
		} else {
			add(model.Length(vp+".name", *v.Name, 1, 128))
			add(model.Pattern(vp+".name", *v.Name, namespaceRe))
		}
		if v.DefaultValue != nil {
			add(model.Length(vp+".defaultValue", *v.DefaultValue, 1, 1000))
		}
		if v.Description != nil {
			add(model.Length(vp+".description", *v.Description, 0, 200))
		}
	}
	// botocore codepipeline PipelineTriggerDeclarationList: max 50.
	add(model.Size("pipeline.triggers", fmt.Sprintf("%d triggers", len(d.Triggers)), len(d.Triggers), 0, 50))
	for i, t := range d.Triggers {
		errs = append(errs, checkTrigger(fmt.Sprintf("pipeline.triggers.%d.member", i+1), t)...)
	}
	return awsproto.Check(errs...)
}

func checkStore(p string, st artifactStore) error {
	var errs []error
	if st.Type == nil {
		errs = append(errs, model.Required(p+".type", false))
	} else {
		errs = append(errs, model.Enum(p+".type", *st.Type, "S3"))
	}
	if st.Location == nil {
		errs = append(errs, model.Required(p+".location", false))
	} else {
		errs = append(errs, model.Length(p+".location", *st.Location, 3, 63), model.Pattern(p+".location", *st.Location, locationRe))
	}
	if k := st.EncryptionKey; k != nil {
		if k.ID == nil {
			errs = append(errs, model.Required(p+".encryptionKey.id", false))
		} else {
			errs = append(errs, model.Length(p+".encryptionKey.id", *k.ID, 1, 400))
		}
		if k.Type == nil {
			errs = append(errs, model.Required(p+".encryptionKey.type", false))
		} else {
			errs = append(errs, model.Enum(p+".encryptionKey.type", *k.Type, "KMS"))
		}
	}
	return awsproto.Check(errs...)
}

func checkAction(p string, a actionDecl) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if a.Name == nil {
		add(model.Required(p+".name", false))
	} else {
		add(model.Length(p+".name", *a.Name, 1, 100))
		add(model.Pattern(p+".name", *a.Name, nameRe))
	}
	if t := a.ActionTypeID; t == nil {
		add(model.Required(p+".actionTypeId", false))
	} else {
		tp := p + ".actionTypeId"
		for _, m := range []struct {
			name string
			v    *string
		}{{"category", t.Category}, {"owner", t.Owner}, {"provider", t.Provider}, {"version", t.Version}} {
			if m.v == nil {
				add(model.Required(tp+"."+m.name, false))
			}
		}
		if t.Category != nil {
			add(model.Enum(tp+".category", *t.Category, categories...))
		}
		if t.Owner != nil {
			add(model.Enum(tp+".owner", *t.Owner, owners...))
		}
		if t.Provider != nil {
			add(model.Length(tp+".provider", *t.Provider, 1, 35))
			add(model.Pattern(tp+".provider", *t.Provider, providerRe))
		}
		if t.Version != nil {
			add(model.Length(tp+".version", *t.Version, 1, 9))
			add(model.Pattern(tp+".version", *t.Version, providerRe))
		}
	}
	if a.RunOrder != nil {
		add(model.Range(p+".runOrder", *a.RunOrder, 1, 999)) // ActionRunOrder
	}
	if a.TimeoutInMinutes != nil {
		add(model.Range(p+".timeoutInMinutes", *a.TimeoutInMinutes, 5, 86400)) // ActionTimeout
	}
	for k, v := range a.Configuration {
		add(model.Length(p+".configuration.key", k, 1, 50))     // ActionConfigurationKey
		add(model.Length(p+".configuration.value", v, 1, 1000)) // ActionConfigurationValue
	}
	if a.Commands != nil {
		add(model.Size(p+".commands", fmt.Sprintf("%d commands", len(a.Commands)), len(a.Commands), 1, 50))
		for i, c := range a.Commands {
			add(model.Length(fmt.Sprintf("%s.commands.%d.member", p, i+1), c, 1, 1000))
		}
	}
	for i, o := range a.OutputArtifacts {
		add(checkArtifactName(fmt.Sprintf("%s.outputArtifacts.%d.member.name", p, i+1), o.Name))
	}
	for i, o := range a.InputArtifacts {
		add(checkArtifactName(fmt.Sprintf("%s.inputArtifacts.%d.member.name", p, i+1), o.Name))
	}
	if a.Namespace != nil {
		add(model.Length(p+".namespace", *a.Namespace, 1, 100))
		add(model.Pattern(p+".namespace", *a.Namespace, namespaceRe))
	}
	if a.RoleArn != nil {
		add(model.Pattern(p+".roleArn", *a.RoleArn, roleArnRe))
	}
	if a.EnvironmentVariables != nil {
		add(model.Size(p+".environmentVariables", fmt.Sprintf("%d variables", len(a.EnvironmentVariables)), len(a.EnvironmentVariables), 1, 10))
		for i, e := range a.EnvironmentVariables {
			ep := fmt.Sprintf("%s.environmentVariables.%d.member", p, i+1)
			if e.Name == nil {
				add(model.Required(ep+".name", false))
			} else {
				add(model.Length(ep+".name", *e.Name, 1, 128))
				add(model.Pattern(ep+".name", *e.Name, envNameRe))
			}
			if e.Value == nil {
				add(model.Required(ep+".value", false))
			}
			if e.Type != "" {
				add(model.Enum(ep+".type", e.Type, "PLAINTEXT", "SECRETS_MANAGER"))
			}
		}
	}
	return errs
}

func checkArtifactName(member string, name *string) error {
	if name == nil {
		return model.Required(member, false)
	}
	return awsproto.Check(model.Length(member, *name, 1, 100), model.Pattern(member, *name, artifactRe))
}

// checkConditions: ConditionList is exactly 1 condition; each has 1-5 rules.
func checkConditions(p string, conds []conditionDecl, required bool) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if conds == nil {
		if required {
			add(model.Required(p, false))
		}
		return errs
	}
	add(model.Size(p, fmt.Sprintf("%d conditions", len(conds)), len(conds), 1, 1))
	for i, c := range conds {
		cp := fmt.Sprintf("%s.%d.member", p, i+1)
		if c.Result != "" {
			add(model.Enum(cp+".result", c.Result, results...))
		}
		add(model.Size(cp+".rules", fmt.Sprintf("%d rules", len(c.Rules)), len(c.Rules), 1, 5))
		for j, r := range c.Rules {
			rp := fmt.Sprintf("%s.rules.%d.member", cp, j+1)
			if r.Name == nil {
				add(model.Required(rp+".name", false))
			} else {
				add(model.Length(rp+".name", *r.Name, 1, 100))
				add(model.Pattern(rp+".name", *r.Name, nameRe))
			}
			if r.RuleTypeID == nil {
				add(model.Required(rp+".ruleTypeId", false))
				continue
			}
			if r.RuleTypeID.Category == nil {
				add(model.Required(rp+".ruleTypeId.category", false))
			} else {
				add(model.Enum(rp+".ruleTypeId.category", *r.RuleTypeID.Category, "Rule"))
			}
			if r.RuleTypeID.Provider == nil {
				add(model.Required(rp+".ruleTypeId.provider", false))
			} else {
				add(model.Pattern(rp+".ruleTypeId.provider", *r.RuleTypeID.Provider, providerRe))
			}
			if r.RuleTypeID.Owner != nil {
				add(model.Enum(rp+".ruleTypeId.owner", *r.RuleTypeID.Owner, "AWS"))
			}
			if r.TimeoutInMinutes != nil {
				add(model.Range(rp+".timeoutInMinutes", *r.TimeoutInMinutes, 5, 86400))
			}
		}
	}
	return errs
}

func checkFilter(p string, f *filterCriteria) []error {
	if f == nil {
		return nil
	}
	var errs []error
	for _, l := range []struct {
		name string
		v    []string
	}{{"includes", f.Includes}, {"excludes", f.Excludes}} {
		if l.v == nil {
			continue
		}
		// GitBranchPatternList / GitFilePathPatternList: 1-8 patterns of
		// 1-255 characters.
		errs = append(errs, model.Size(p+"."+l.name, fmt.Sprintf("%d patterns", len(l.v)), len(l.v), 1, 8))
		for i, pat := range l.v {
			errs = append(errs, model.Length(fmt.Sprintf("%s.%s.%d.member", p, l.name, i+1), pat, 1, 255))
		}
	}
	return errs
}

func checkTrigger(p string, t triggerDecl) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if t.ProviderType == nil {
		add(model.Required(p+".providerType", false))
	} else {
		add(model.Enum(p+".providerType", *t.ProviderType, "CodeStarSourceConnection"))
	}
	g := t.GitConfiguration
	if g == nil {
		add(model.Required(p+".gitConfiguration", false))
		return errs
	}
	gp := p + ".gitConfiguration"
	if g.SourceActionName == nil {
		add(model.Required(gp+".sourceActionName", false))
	} else {
		add(model.Pattern(gp+".sourceActionName", *g.SourceActionName, nameRe))
	}
	if g.Push != nil {
		add(model.Size(gp+".push", fmt.Sprintf("%d filters", len(g.Push)), len(g.Push), 1, 3))
	}
	for i, f := range g.Push {
		fp := fmt.Sprintf("%s.push.%d.member", gp, i+1)
		errs = append(errs, checkFilter(fp+".branches", f.Branches)...)
		errs = append(errs, checkFilter(fp+".filePaths", f.FilePaths)...)
		errs = append(errs, checkFilter(fp+".tags", f.Tags)...)
	}
	if g.PullRequest != nil {
		add(model.Size(gp+".pullRequest", fmt.Sprintf("%d filters", len(g.PullRequest)), len(g.PullRequest), 1, 3))
	}
	for i, f := range g.PullRequest {
		fp := fmt.Sprintf("%s.pullRequest.%d.member", gp, i+1)
		if f.Events != nil {
			add(model.Size(fp+".events", fmt.Sprintf("%d events", len(f.Events)), len(f.Events), 1, 3))
		}
		for j, e := range f.Events {
			add(model.Enum(fmt.Sprintf("%s.events.%d.member", fp, j+1), e, prEvents...))
		}
		errs = append(errs, checkFilter(fp+".branches", f.Branches)...)
		errs = append(errs, checkFilter(fp+".filePaths", f.FilePaths)...)
	}
	return errs
}

func structureErr(format string, args ...any) error {
	return awsproto.Errf("InvalidStructureException", format, args...)
}

func stageErr(format string, args ...any) error {
	return awsproto.Errf("InvalidStageDeclarationException", format, args...)
}

func actionErr(format string, args ...any) error {
	return awsproto.Errf("InvalidActionDeclarationException", format, args...)
}

// checkStructure applies the rules of the CodePipeline user guide's
// "Pipeline structure reference" (reference-pipeline-structure.html).
func checkStructure(d pipelineDecl, region string) error {
	v2 := d.PipelineType == "V2"
	// "You must include either artifactStore or artifactStores in your
	// pipeline, but you cannot use both" (PipelineDeclaration.artifactStore).
	if (d.ArtifactStore == nil) == (d.ArtifactStores == nil) {
		return structureErr("Pipeline must contain either artifactStore or artifactStores, but not both.")
	}
	// "A pipeline must contain at least two stages."
	if len(d.Stages) < 2 {
		return structureErr("Pipeline has only %d stage(s). There should be a minimum of 2 stages in a pipeline", len(d.Stages))
	}
	if (d.ExecutionMode == "QUEUED" || d.ExecutionMode == "PARALLEL") && !v2 {
		// execution-modes.html: QUEUED and PARALLEL need a V2 pipeline.
		return structureErr("Execution mode %s is only supported for pipeline type V2.", d.ExecutionMode)
	}
	if !v2 && len(d.Triggers) > 0 {
		return structureErr("Triggers are only supported for pipeline type V2.")
	}
	if !v2 && len(d.Variables) > 0 {
		return structureErr("Pipeline variables are only supported for pipeline type V2.")
	}
	stageNames := map[string]bool{}
	outputs := map[string]bool{}
	sourceActions := map[string]actionDecl{}
	nonSource := false
	for i, st := range d.Stages {
		name := deref(st.Name)
		// "All stage names within a pipeline must be unique."
		if stageNames[name] {
			return stageErr("Stage names must be unique within a pipeline. Duplicate stage name: %s", name)
		}
		stageNames[name] = true
		// "A stage must contain at least one action."
		if len(st.Actions) == 0 {
			return stageErr("Stage %s should have at least one action", name)
		}
		if !v2 && (st.BeforeEntry != nil || st.OnSuccess != nil || (st.OnFailure != nil && (st.OnFailure.Conditions != nil || st.OnFailure.Result == "RETRY"))) {
			return stageErr("Stage conditions are only supported for pipeline type V2. Stage: %s", name)
		}
		if err := checkStageConditions(d, i, st); err != nil {
			return err
		}
		actionNames := map[string]bool{}
		// Artifacts produced in this stage are visible to later runOrders only.
		stageOut := map[string]int64{}
		for _, a := range st.Actions {
			an := deref(a.Name)
			// "Action names must be unique within a stage."
			if actionNames[an] {
				return actionErr("Action names must be unique within a stage. Duplicate action name: %s in stage %s", an, name)
			}
			actionNames[an] = true
			t := deref(a.ActionTypeID)
			isSource := deref(t.Category) == "Source"
			switch {
			case i == 0 && !isSource:
				// "The first stage of a pipeline must contain at least one
				// source action, and can only contain source actions."
				return structureErr("Stage %s contains a non-source action %s. The first stage of a pipeline can only contain source actions.", name, an)
			case i > 0 && isSource:
				// "Only the first stage of a pipeline can contain source
				// actions."
				return structureErr("Stage %s contains a source action %s. Only the first stage of a pipeline can contain source actions.", name, an)
			}
			if isSource {
				sourceActions[an] = a
			} else {
				nonSource = true
			}
			if err := checkActionType(a, region, v2); err != nil {
				return err
			}
			for _, in := range a.InputArtifacts {
				n := deref(in.Name)
				ro, inStage := stageOut[n]
				if !outputs[n] && !(inStage && ro < deref(a.RunOrder)) {
					// "The input artifact of an action must exactly match the
					// output artifact declared in a preceding action."
					return actionErr("Input artifact %s of action %s in stage %s does not match the output artifact of any preceding action.", n, an, name)
				}
			}
			for _, out := range a.OutputArtifacts {
				n := deref(out.Name)
				// "Output artifact names must be unique within a pipeline."
				if _, dup := stageOut[n]; dup || outputs[n] {
					return actionErr("Output artifact name %s must be unique within the pipeline.", n)
				}
				stageOut[n] = deref(a.RunOrder)
			}
		}
		for n := range stageOut {
			outputs[n] = true
		}
	}
	// "At least one stage in each pipeline must contain an action that is
	// not a source action."
	if !nonSource {
		return structureErr("Pipeline must contain at least one stage with an action that is not a source action.")
	}
	seen := map[string]bool{}
	for _, t := range d.Triggers {
		src := deref(deref(t.GitConfiguration).SourceActionName)
		a, ok := sourceActions[src]
		// pipelines-filter.html: a trigger names a CodeStarSourceConnection
		// source action; "you can only specify one trigger configuration per
		// source action".
		if !ok || deref(deref(a.ActionTypeID).Provider) != "CodeStarSourceConnection" {
			return structureErr("Trigger source action %s must be a source action of provider CodeStarSourceConnection in the pipeline.", src)
		}
		if seen[src] {
			return structureErr("Only one trigger configuration is allowed per source action: %s", src)
		}
		seen[src] = true
	}
	return nil
}

func checkActionType(a actionDecl, region string, v2 bool) error {
	t := deref(a.ActionTypeID)
	an := deref(a.Name)
	at, known := actionTypes[a.typeKey()]
	if deref(t.Owner) != "AWS" || deref(t.Version) != "1" || !known || (at.v2Only && !v2) {
		if deref(t.Owner) != "AWS" {
			return nil // Custom and ThirdParty types are not checked.
		}
		return actionErr("ActionType (Category: '%s', Provider: '%s', Owner: '%s', Version: '%s') in action '%s' is not available in region '%s'",
			deref(t.Category), deref(t.Provider), deref(t.Owner), deref(t.Version), an, strings.ToUpper(strings.ReplaceAll(region, "-", "_")))
	}
	for _, k := range at.required {
		if _, ok := a.Configuration[k]; !ok {
			return actionErr("Action configuration for action '%s' is missing required configuration '%s'", an, k)
		}
	}
	if at.commandsRequired && len(a.Commands) == 0 {
		return actionErr("Action '%s' of provider Commands must have commands.", an)
	}
	if n := len(a.InputArtifacts); n < at.minIn || n > at.maxIn {
		return actionErr("Action '%s' has %d input artifacts, but the action type allows a minimum of %d and a maximum of %d.", an, n, at.minIn, at.maxIn)
	}
	if n := len(a.OutputArtifacts); n < at.minOut || n > at.maxOut {
		return actionErr("Action '%s' has %d output artifacts, but the action type allows a minimum of %d and a maximum of %d.", an, n, at.minOut, at.maxOut)
	}
	return nil
}

// checkStageConditions: stage-conditions.html — an entry condition's result
// is FAIL or SKIP, an on-failure condition's ROLLBACK, an on-success
// condition's ROLLBACK; PARALLEL pipelines allow no rollback; the first
// stage cannot roll back (there is no previous revision of a source).
func checkStageConditions(d pipelineDecl, i int, st stageDecl) error {
	name := deref(st.Name)
	if st.BeforeEntry != nil {
		for _, c := range st.BeforeEntry.Conditions {
			if c.Result != "" && !slices.Contains([]string{"FAIL", "SKIP"}, c.Result) {
				return stageErr("Stage %s: result %s is not supported for beforeEntry conditions. Supported results: FAIL, SKIP", name, c.Result)
			}
		}
	}
	if st.OnSuccess != nil {
		for _, c := range st.OnSuccess.Conditions {
			if c.Result != "" && c.Result != "ROLLBACK" {
				return stageErr("Stage %s: result %s is not supported for onSuccess conditions. Supported results: ROLLBACK", name, c.Result)
			}
		}
	}
	if f := st.OnFailure; f != nil {
		if f.Result == "SKIP" {
			return stageErr("Stage %s: result SKIP is not supported for onFailure. Supported results: ROLLBACK, FAIL, RETRY", name)
		}
		if f.Result == "ROLLBACK" && i == 0 {
			return stageErr("Stage %s: the first stage of a pipeline cannot be rolled back.", name)
		}
		if f.Result == "ROLLBACK" && d.ExecutionMode == "PARALLEL" {
			return stageErr("Stage %s: rollback is not supported for pipelines in PARALLEL execution mode.", name)
		}
		if f.RetryConfiguration != nil && f.Result != "RETRY" {
			return stageErr("Stage %s: retryConfiguration is only supported with result RETRY.", name)
		}
	}
	return nil
}
