package athena

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/wait"
)

// API is every Athena call the engine makes. *athena.Client satisfies it.
type API interface {
	StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, optFns ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
}

// Runner runs statements on Athena and waits for them (internal/wait, on
// Clock).
type Runner struct {
	API       API
	Clock     clock.Clock
	WorkGroup string // "" = primary
	Output    string // s3:// query result location ("" = the workgroup's)
	// Interval between GetQueryExecution polls (default 1 s).
	Interval time.Duration
	// Timeout of one statement (default 30 min, Athena's DML default).
	Timeout time.Duration
}

// Stats is what one statement cost.
type Stats struct {
	ID      string
	Scanned int64 // DataScannedInBytes
}

// Exec runs sql to completion; a FAILED or CANCELLED statement is an error
// with Athena's reason.
func (r Runner) Exec(ctx context.Context, sql string) (Stats, error) {
	in := &athena.StartQueryExecutionInput{QueryString: aws.String(sql)}
	if r.WorkGroup != "" {
		in.WorkGroup = aws.String(r.WorkGroup)
	}
	if r.Output != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(r.Output)}
	}
	out, err := r.API.StartQueryExecution(ctx, in)
	if err != nil {
		return Stats{}, fmt.Errorf("athena start query: %w", err)
	}
	st := Stats{ID: aws.ToString(out.QueryExecutionId)}
	interval, timeout := r.Interval, r.Timeout
	if interval == 0 {
		interval = time.Second
	}
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	_, err = wait.Until(ctx, wait.Options{What: "athena query " + st.ID, Clock: r.Clock, Interval: interval, MaxInterval: 8 * interval, Timeout: timeout},
		func(ctx context.Context) (wait.Status, error) {
			q, err := r.API.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
			if err != nil {
				return wait.Status{}, fmt.Errorf("athena get query %s: %w", st.ID, err)
			}
			e := q.QueryExecution
			if e.Statistics != nil {
				st.Scanned = aws.ToInt64(e.Statistics.DataScannedInBytes)
			}
			switch s := e.Status.State; s {
			case types.QueryExecutionStateSucceeded:
				return wait.Status{Done: true, State: string(s)}, nil
			case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
				return wait.Status{}, fmt.Errorf("athena query %s %s: %s", st.ID, s, aws.ToString(e.Status.StateChangeReason))
			default:
				return wait.Status{State: string(s)}, nil
			}
		})
	return st, err
}

// Query runs sql and returns its rows (without the header row); NULL is nil.
func (r Runner) Query(ctx context.Context, sql string) ([][]*string, Stats, error) {
	st, err := r.Exec(ctx, sql)
	if err != nil {
		return nil, st, err
	}
	var rows [][]*string
	p := athena.NewGetQueryResultsPaginator(r.API, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(st.ID)})
	first := true
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, st, fmt.Errorf("athena query results %s: %w", st.ID, err)
		}
		for _, row := range page.ResultSet.Rows {
			if first {
				first = false // the header
				continue
			}
			vals := make([]*string, len(row.Data))
			for i, d := range row.Data {
				vals[i] = d.VarCharValue
			}
			rows = append(rows, vals)
		}
	}
	return rows, st, nil
}
