package alarms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Preview defaults.
const (
	DefaultPreviewWindow = 24 * time.Hour
	DefaultPreviewEvents = 500
	previewSamples       = 3
	testBatch            = 50 // TestMetricFilter takes at most 50 messages
	maxPreviewPages      = 20
)

// PatternPreview is how one pattern fares against recent events.
type PatternPreview struct {
	Pattern string   `json:"pattern"`
	Matches int      `json:"matches"`
	Samples []string `json:"samples"`
}

// Preview is a dry run of patterns over a sample of a log group's recent
// events, through CloudWatch Logs' own TestMetricFilter.
type Preview struct {
	LogGroup      string           `json:"log_group"`
	Since         time.Time        `json:"since"`
	EventsScanned int              `json:"events_scanned"`
	Patterns      []PatternPreview `json:"patterns"`
	Warnings      []string         `json:"warnings,omitempty"`
}

// PreviewOptions choose the sample.
type PreviewOptions struct {
	LogGroup string
	Patterns []string
	// Window is how far back to sample (default 24h).
	Window time.Duration
	// MaxEvents caps the sample (default 500, the newest ones).
	MaxEvents int
	// Now is the end of the window (default: deps.Clock's now).
	Now time.Time
}

// PreviewPatterns samples recent events of the log group with FilterLogEvents
// and runs each pattern over them with TestMetricFilter, so a pattern that
// matches nothing is noticed before it is trusted. Uses deps.Logs. A missing
// log group is an error (a metric filter could not be created on it either).
func PreviewPatterns(ctx context.Context, deps Deps, o PreviewOptions) (*Preview, error) {
	if o.Window <= 0 {
		o.Window = DefaultPreviewWindow
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultPreviewEvents
	}
	if o.Now.IsZero() {
		o.Now = deps.clock().Now()
	}
	if deps.Logs == nil {
		return nil, errors.New("preview patterns: no CloudWatch Logs client")
	}
	pv := &Preview{LogGroup: o.LogGroup, Since: o.Now.Add(-o.Window).UTC()}
	var events []string
	truncated := false
	p := cloudwatchlogs.NewFilterLogEventsPaginator(deps.Logs, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(o.LogGroup),
		StartTime:    aws.Int64(o.Now.Add(-o.Window).UnixMilli()),
		EndTime:      aws.Int64(o.Now.UnixMilli()),
	})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == maxPreviewPages {
			truncated = true
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			var nf *logstypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, opserr.Usagef("log group %q does not exist in %s: %v", o.LogGroup, deps.Region, err)
			}
			return nil, fmt.Errorf("sample events of log group %s: %w", o.LogGroup, err)
		}
		for _, e := range page.Events {
			events = append(events, aws.ToString(e.Message))
		}
		if len(events) > o.MaxEvents { // keep the newest
			events = append(events[:0], events[len(events)-o.MaxEvents:]...)
		}
	}
	pv.EventsScanned = len(events)
	if len(events) == 0 {
		pv.Warnings = append(pv.Warnings, fmt.Sprintf("log group %s has no events since %s: the patterns could not be checked", o.LogGroup, pv.Since.Format(time.RFC3339)))
	}
	if truncated {
		pv.Warnings = append(pv.Warnings, fmt.Sprintf("sampled only part of the window (%d pages)", maxPreviewPages))
	}
	for _, pat := range o.Patterns {
		pp := PatternPreview{Pattern: pat, Samples: []string{}}
		for i := 0; i < len(events); i += testBatch {
			batch := events[i:min(i+testBatch, len(events))]
			out, err := deps.Logs.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{
				FilterPattern: aws.String(pat), LogEventMessages: batch,
			})
			if err != nil {
				return nil, fmt.Errorf("test pattern %q against recent events: %w", pat, err)
			}
			pp.Matches += len(out.Matches)
			for _, m := range out.Matches {
				if len(pp.Samples) < previewSamples {
					pp.Samples = append(pp.Samples, clip(strings.TrimSpace(aws.ToString(m.EventMessage)), 200))
				}
			}
		}
		if pp.Matches == 0 && len(events) > 0 {
			pv.Warnings = append(pv.Warnings, fmt.Sprintf("pattern %s matched none of the %d recent events: check it before trusting the alarm", pat, len(events)))
		}
		pv.Patterns = append(pv.Patterns, pp)
	}
	return pv, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
