package deploy

// `opsctl deploy revisions --cluster C --service S [--keep N]`: the task
// definition revisions of a service's family (CLUSTER-SERVICE, the family
// opsctl registers), newest first, marking the ones its deployments use;
// with --keep N, deregister every ACTIVE revision older than the newest N
// that no deployment uses. Only that family is touched.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// RevisionsOptions are the inputs of Revisions.
type RevisionsOptions struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// Keep > 0 deregisters unused revisions beyond the newest Keep.
	Keep   int  `json:"keep"`
	DryRun bool `json:"dry_run"`
}

// Revision is one task definition revision.
type Revision struct {
	Revision int    `json:"revision"`
	Arn      string `json:"arn"`
	InUse    bool   `json:"in_use"`
	Action   string `json:"action"` // keep, deregister
}

// RevisionsResult lists (and cleans up) a service's revisions.
type RevisionsResult struct {
	Cluster   string        `json:"cluster"`
	Service   string        `json:"service"`
	Family    string        `json:"family"`
	Revisions []Revision    `json:"revisions"`
	DryRun    bool          `json:"dry_run"`
	Changes   []plan.Change `json:"changes"`
	Counts    plan.Counts   `json:"counts"`
}

// Revisions lists a service's task definition revisions and, with Keep,
// deregisters the old unused ones.
func Revisions(ctx context.Context, d Deps, o RevisionsOptions) (RevisionsResult, error) {
	if err := ValidateClusterName(o.Cluster); err != nil {
		return RevisionsResult{}, err
	}
	if !serviceNameRe.MatchString(o.Service) {
		return RevisionsResult{}, opserr.Usagef("--service %q: not a service name", o.Service)
	}
	if o.Keep < 0 {
		return RevisionsResult{}, opserr.Usagef("--keep %d: must be at least 1", o.Keep)
	}
	family := familyName(o.Cluster, o.Service)
	res := RevisionsResult{Cluster: o.Cluster, Service: o.Service, Family: family, DryRun: o.DryRun, Revisions: []Revision{}, Changes: []plan.Change{}}
	inUse := map[string]bool{}
	svc, err := liveService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	if svc != nil {
		inUse[aws.ToString(svc.TaskDefinition)] = true
		for _, dp := range svc.Deployments {
			inUse[aws.ToString(dp.TaskDefinition)] = true
		}
	}
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(d.ECS, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive, Sort: ecstypes.SortOrderDesc})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("list task definitions of %s: %w", family, err)
		}
		arns = append(arns, out.TaskDefinitionArns...)
	}
	for _, a := range arns {
		fam, rev, ok := strings.Cut(arnTail(a), ":")
		if !ok || fam != family { // FamilyPrefix also matches longer families
			continue
		}
		n, _ := strconv.Atoi(rev)
		res.Revisions = append(res.Revisions, Revision{Revision: n, Arn: a, InUse: inUse[a], Action: "keep"})
	}
	sort.Slice(res.Revisions, func(i, j int) bool { return res.Revisions[i].Revision > res.Revisions[j].Revision })
	if o.Keep == 0 {
		return res, nil
	}
	var steps []plan.Step
	for i := range res.Revisions {
		r := &res.Revisions[i]
		if i < o.Keep || r.InUse {
			continue
		}
		r.Action = "deregister"
		arn := r.Arn
		steps = append(steps, plan.Delete("task-definition", arnTail(arn), func(ctx context.Context) error {
			_, err := d.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
			return err
		}))
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: o.DryRun, OnChange: d.OnChange, Log: d.log()})
	res.Changes, res.Counts = append(res.Changes, changes...), plan.Count(changes)
	if err != nil {
		if plan.Partial(changes) {
			return res, opserr.Partialf("deregister revisions of %s: %v (re-run to finish)", family, err)
		}
		return res, fmt.Errorf("deregister revisions of %s: %w", family, err)
	}
	return res, nil
}
