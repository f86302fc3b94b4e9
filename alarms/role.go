package alarms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/opsctl/opsctl/internal/plan"
)

// RoleName is the scheduled-query role of the log alarm called name.
func RoleName(name string) string { return "opsctl-logalarm-" + name }

// rolePolicyName names the role's only inline policy.
const rolePolicyName = "opsctl-query-log-group"

// QueryRoleTrustPolicy lets CloudWatch (the log alarm) and CloudWatch Logs
// (which runs the alarm's scheduled query) assume the role only on behalf of
// the one alarm it serves: aws:SourceArn is that alarm's ARN and
// aws:SourceAccount this account (IAM user guide, "The confused deputy
// problem": use both global condition keys in service trust policies).
func QueryRoleTrustPolicy(partition, region, account, alarmName string) string {
	doc := policyDoc{
		Version: "2012-10-17",
		Statement: []policyStatement{{
			Sid:       "TheLogAlarmOnly",
			Effect:    "Allow",
			Principal: map[string]any{"Service": []string{"cloudwatch.amazonaws.com", "logs.amazonaws.com"}},
			Action:    "sts:AssumeRole",
			Resource:  nil,
			Condition: map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": account},
				"ArnEquals":    map[string]any{"aws:SourceArn": AlarmARN(partition, region, account, alarmName)},
			},
		}},
	}
	return marshalPolicy(doc)
}

// AlarmARN is the ARN of the CloudWatch alarm called alarmName.
func AlarmARN(partition, region, account, alarmName string) string {
	return fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", partition, region, account, alarmName)
}

// QueryRolePolicy is the role's permission policy: start Logs Insights
// queries on the one log group, and stop them, read their results and the
// lines they point to. The Service Authorization Reference ("Actions defined
// by Amazon CloudWatch Logs") lists the log-group resource type for
// logs:StartQuery only; logs:StopQuery, logs:GetQueryResults and
// logs:GetLogRecord have no resource type, so a statement scoped to the log
// group's ARN never matches them (the IAM policy simulator answers
// implicitDeny for StopQuery on a log-group ARN) and they take "*". They act
// on a query id or log record pointer that only a started query yields.
func QueryRolePolicy(partition, region, account, logGroup string) string {
	lg := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", partition, region, account, logGroup)
	doc := policyDoc{
		Version: "2012-10-17",
		Statement: []policyStatement{
			{
				Sid:      "QueryTheAlarmsLogGroup",
				Effect:   "Allow",
				Action:   "logs:StartQuery",
				Resource: []string{lg, lg + ":*"},
			},
			{
				Sid:      "StopAndReadItsQueries",
				Effect:   "Allow",
				Action:   []string{"logs:StopQuery", "logs:GetQueryResults", "logs:GetLogRecord"},
				Resource: "*",
			},
		},
	}
	return marshalPolicy(doc)
}

func marshalPolicy(doc policyDoc) string {
	// Resource is omitted from trust policies.
	type stmt struct {
		Sid       string `json:"Sid,omitempty"`
		Effect    string `json:"Effect"`
		Principal any    `json:"Principal,omitempty"`
		Action    any    `json:"Action"`
		Resource  any    `json:"Resource,omitempty"`
		Condition any    `json:"Condition,omitempty"`
	}
	out := struct {
		Version   string `json:"Version"`
		ID        string `json:"Id,omitempty"`
		Statement []stmt `json:"Statement"`
	}{Version: doc.Version, ID: doc.ID}
	for _, s := range doc.Statement {
		out.Statement = append(out.Statement, stmt(s))
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return string(b)
}

// decodePolicy undoes the URL encoding IAM applies to policy documents.
func decodePolicy(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func isNoSuchEntity(err error) bool {
	var nse *iamtypes.NoSuchEntityException
	return errors.As(err, &nse)
}

// rolePlan plans the query role of a log alarm. arn is known once planned.
type rolePlan struct {
	name  string
	arn   string
	steps []plan.Step
	// created is set when this run created the role or changed its
	// policies: IAM is eventually consistent, so CloudWatch may not be able to
	// assume it for a few seconds.
	created bool
}

func planQueryRole(ctx context.Context, deps Deps, id *identity, name, logGroup, component string) (*rolePlan, error) {
	if deps.IAM == nil {
		return nil, errors.New("plan log alarm role: no IAM client")
	}
	account, partition, err := id.get(ctx, deps)
	if err != nil {
		return nil, err
	}
	rn := RoleName(name)
	rp := &rolePlan{name: rn, arn: fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, rn)}
	trust := QueryRoleTrustPolicy(partition, deps.Region, account, AlarmName(name))
	perm := QueryRolePolicy(partition, deps.Region, account, logGroup)
	putPolicy := func(ctx context.Context) error {
		rp.created = true
		if _, err := deps.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(rn), PolicyName: aws.String(rolePolicyName), PolicyDocument: aws.String(perm),
		}); err != nil {
			return fmt.Errorf("put policy of IAM role %q: %w", rn, err)
		}
		return nil
	}
	got, err := deps.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(rn)})
	if err != nil && !isNoSuchEntity(err) {
		return nil, fmt.Errorf("read IAM role %q: %w", rn, err)
	}
	if err != nil { // not found
		var tags []iamtypes.Tag
		for _, kv := range sortedCopy(plan.KV(managedTags(component, KindLogAlarm))) {
			k, v, _ := cut(kv)
			tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		rp.steps = append(rp.steps,
			plan.Create(ResRole, rn, func(ctx context.Context) error {
				out, err := deps.IAM.CreateRole(ctx, &iam.CreateRoleInput{
					RoleName:                 aws.String(rn),
					AssumeRolePolicyDocument: aws.String(trust),
					Description:              aws.String("opsctl: lets the log alarm " + AlarmName(name) + " query log group " + logGroup),
					Tags:                     tags,
				})
				if err != nil {
					return fmt.Errorf("create IAM role %q: %w", rn, err)
				}
				rp.arn = aws.ToString(out.Role.Arn)
				rp.created = true
				return nil
			}),
			plan.Create(ResRolePolicy, rn+"/"+rolePolicyName, putPolicy))
		return rp, nil
	}
	rp.arn = aws.ToString(got.Role.Arn)
	if canonicalJSON(decodePolicy(aws.ToString(got.Role.AssumeRolePolicyDocument))) != canonicalJSON(trust) {
		rp.steps = append(rp.steps, plan.Update(ResRole, rn,
			[]plan.FieldDiff{{Field: "trust_policy", Old: "differs", New: "CloudWatch and CloudWatch Logs of account " + account}},
			func(ctx context.Context) error {
				if _, err := deps.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(rn), PolicyDocument: aws.String(trust)}); err != nil {
					return fmt.Errorf("update trust policy of IAM role %q: %w", rn, err)
				}
				return nil
			}))
	} else {
		rp.steps = append(rp.steps, plan.Unchanged(ResRole, rn))
	}
	pol, err := deps.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(rn), PolicyName: aws.String(rolePolicyName)})
	switch {
	case err != nil && isNoSuchEntity(err):
		rp.steps = append(rp.steps, plan.Create(ResRolePolicy, rn+"/"+rolePolicyName, putPolicy))
	case err != nil:
		return nil, fmt.Errorf("read policy of IAM role %q: %w", rn, err)
	case canonicalJSON(decodePolicy(aws.ToString(pol.PolicyDocument))) != canonicalJSON(perm):
		rp.steps = append(rp.steps, plan.Update(ResRolePolicy, rn+"/"+rolePolicyName,
			[]plan.FieldDiff{{Field: "log_group", Old: policyLogGroup(decodePolicy(aws.ToString(pol.PolicyDocument))), New: logGroup}}, putPolicy))
	default:
		rp.steps = append(rp.steps, plan.Unchanged(ResRolePolicy, rn+"/"+rolePolicyName))
	}
	return rp, nil
}

// policyLogGroup finds the log group a query-role policy grants, for diffs.
func policyLogGroup(doc string) string {
	var d struct {
		Statement []struct {
			Resource any `json:"Resource"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &d) != nil || len(d.Statement) == 0 {
		return "(unknown)"
	}
	var first string
	switch r := d.Statement[0].Resource.(type) {
	case string:
		first = r
	case []any:
		if len(r) > 0 {
			first, _ = r[0].(string)
		}
	}
	const marker = ":log-group:"
	for i := 0; i+len(marker) <= len(first); i++ {
		if first[i:i+len(marker)] == marker {
			return first[i+len(marker):]
		}
	}
	return "(unknown)"
}

// planDeleteRole deletes a log alarm's query role if it exists.
func planDeleteRole(ctx context.Context, deps Deps, name string) ([]plan.Step, error) {
	if deps.IAM == nil {
		return nil, nil
	}
	rn := RoleName(name)
	if _, err := deps.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(rn)}); err != nil {
		if isNoSuchEntity(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read IAM role %q: %w", rn, err)
	}
	return []plan.Step{plan.Delete(ResRole, rn, func(ctx context.Context) error {
		if _, err := deps.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(rn), PolicyName: aws.String(rolePolicyName)}); err != nil && !isNoSuchEntity(err) {
			return fmt.Errorf("delete policy of IAM role %q: %w", rn, err)
		}
		if _, err := deps.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(rn)}); err != nil && !isNoSuchEntity(err) {
			return fmt.Errorf("delete IAM role %q: %w", rn, err)
		}
		return nil
	})}, nil
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
