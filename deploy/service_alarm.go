package deploy

import (
	"context"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/plan"
)

// alarmsName is the CloudWatch alarm name the alarms library gives an
// opsctl alarm (opsctl-NAME), which the service's deployment alarms name.
func alarmsName(short string) string { return alarms.AlarmName(short) }

// ErrorPatterns are the log patterns of the standard alarm --alarm-email
// puts on a service's log group.
var ErrorPatterns = []string{"?ERROR ?FATAL ?panic"}

// alarm makes the service's standard log-pattern alarm through the alarms
// library (metric filter, alarm, SNS topic and the email subscription). The
// same alarm is attached to the service's deployments, so a rollout that
// starts logging errors fails and rolls back.
func (b *serviceBuilder) alarm(ctx context.Context) ([]plan.Change, error) {
	if b.d.Alarms.CloudWatch == nil || b.d.Alarms.SNS == nil || b.d.Alarms.Logs == nil {
		return nil, errNoAlarmDeps
	}
	name := alarmName(b.o.Cluster, b.o.Name)
	b.res.Alarm = alarmsName(name)
	spec := alarms.Spec{Name: name, LogGroup: logGroupName(b.o.Cluster, b.o.Name), Patterns: ErrorPatterns, Emails: []string{b.o.AlarmEmail}}
	ad := b.d.Alarms
	if ad.Region == "" {
		ad.Region = b.d.Region
	}
	if ad.Log == nil {
		ad.Log = b.d.log()
	}
	r, err := alarms.Add(ctx, ad, alarms.AddOptions{Spec: spec, DryRun: b.o.DryRun, NoPreview: true})
	var out []plan.Change
	for _, c := range r.Changes {
		pc := plan.Change{Resource: c.Resource, Name: c.Name, Action: c.Action, Status: c.Status, Error: c.Error}
		for _, d := range c.Diff {
			pc.Diff = append(pc.Diff, plan.FieldDiff{Field: d.Field, Old: d.Old, New: d.New})
		}
		out = append(out, pc)
	}
	return out, err
}
