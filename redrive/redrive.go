package redrive

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/wait"
)

// Result summarises a redrive (or export). Failed messages are still in the DLQ.
type Result struct {
	DLQ         string `json:"dlq"`
	DLQARN      string `json:"dlq_arn"`
	Method      string `json:"method"` // native or client
	Target      string `json:"target"`
	DryRun      bool   `json:"dry_run"`
	Received    int64  `json:"received"`
	Moved       int64  `json:"moved"`
	FilteredOut int64  `json:"filtered_out"`
	Failed      int64  `json:"failed"`
	Archived    int64  `json:"archived"`
	Returned    int64  `json:"returned"`
	// SentNotDeleted counts messages that were sent (or exported) but could
	// not be deleted from the DLQ: they are now in both places, and a re-run
	// sends them again. Never counted in Moved.
	SentNotDeleted int64 `json:"sent_not_deleted"`
	// StoppedBecause says why the run stopped sending early (a delete the
	// DLQ refused), empty when it did not.
	StoppedBecause       string           `json:"stopped_because,omitempty"`
	DuplicatesAvoided    int64            `json:"duplicates_avoided,omitempty"`
	CircuitBreaker       string           `json:"circuit_breaker"`
	CircuitBreakerReason string           `json:"circuit_breaker_reason,omitempty"`
	FailureReasons       map[string]int64 `json:"failure_reasons,omitempty"`
	// Undecided counts messages the filter could not decide on: they lack a
	// field it uses (age, receive_count, source). They stay in the DLQ.
	Undecided         int64            `json:"undecided,omitempty"`
	UndecidedWhy      string           `json:"undecided_why,omitempty"`
	WouldMove         map[string]int64 `json:"would_move,omitempty"`
	Samples           []Message        `json:"samples,omitempty"`
	Archive           string           `json:"archive,omitempty"`
	TaskHandle        string           `json:"task_handle,omitempty"`
	RemainingInDLQ    int64            `json:"remaining_in_dlq"`
	DurationSeconds   float64          `json:"duration_seconds"`
	MessagesPerSecond float64          `json:"messages_per_second"`
}

// Outcome returns the error the command should exit with after printing r:
// nil when everything selected moved, a PartialError (exit 3) when some
// messages could not be moved or the circuit breaker opened.
func (r Result) Outcome() error {
	switch {
	case r.SentNotDeleted > 0:
		why := ""
		if r.StoppedBecause != "" {
			why = "; " + r.StoppedBecause
		}
		return opserr.Partialf("%d messages were sent but not deleted from %s: they are in the target and still in the DLQ, so a re-run sends them again (%d moved, %d not moved)%s",
			r.SentNotDeleted, r.DLQ, r.Moved, r.Failed, why)
	case r.StoppedBecause != "":
		return opserr.Partialf("stopped early: %s; %d moved, %d left in %s", r.StoppedBecause, r.Moved, r.RemainingInDLQ, r.DLQ)
	case r.Undecided > 0:
		return opserr.Partialf("%d messages were neither moved nor filtered out: %s; they are still in %s (%d moved)", r.Undecided, r.UndecidedWhy, r.DLQ, r.Moved)
	case r.CircuitBreaker == "open":
		return opserr.Partialf("circuit breaker open: %s; %d moved, %d left in %s", r.CircuitBreakerReason, r.Moved, r.RemainingInDLQ, r.DLQ)
	case r.Failed > 0:
		return opserr.Partialf("%d messages could not be moved and are still in %s (%d moved; %d messages in the DLQ now, including any held back behind them or filtered out)", r.Failed, r.DLQ, r.Moved, r.RemainingInDLQ)
	}
	return nil
}

// Redrive moves messages out of a DLQ: with the native move task when nothing
// needs the client, else with the client mover. See the package doc for the
// no-loss rules. The Result is valid (and worth printing) even with an error.
func Redrive(ctx context.Context, deps Deps, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	opts.defaults()
	start := deps.now()
	res := Result{DLQ: opts.DLQ, DryRun: opts.DryRun, CircuitBreaker: "closed"}
	dlq, err := describeQueue(ctx, deps.SQS, opts.DLQ)
	if err != nil {
		return res, err
	}
	res.DLQ, res.DLQARN = dlq.Name, dlq.ARN
	finish := func() {
		res.DurationSeconds = deps.now().Sub(start).Seconds()
		if res.DurationSeconds > 0 {
			res.MessagesPerSecond = float64(res.Moved) / res.DurationSeconds
		}
		if q, err := describeURL(context.WithoutCancel(ctx), deps.SQS, dlq.URL); err == nil {
			res.RemainingInDLQ = q.Visible + q.InFlight + q.Delayed
		}
	}

	if dlq.Visible+dlq.InFlight+dlq.Delayed == 0 {
		// Nothing to move: no task, no receive, no write.
		deps.log().Info("the DLQ is empty; nothing to redrive", "queue", dlq.Name)
		res.Method = "none"
		finish()
		return res, nil
	}
	var target *queueInfo
	if opts.To != "" {
		if target, err = describeQueue(ctx, deps.SQS, opts.To); err != nil {
			return res, fmt.Errorf("target: %w", err)
		}
		if target.ARN == dlq.ARN {
			return res, opserr.Usagef("--to is the DLQ itself")
		}
		if dlq.FIFO != target.FIFO && opts.Method == MethodNative {
			return res, opserr.Usagef("the native move task needs a target of the same type (FIFO or standard) as the DLQ")
		}
	}
	idx := &lambdaIndex{}
	if opts.ToLambda == "" {
		// Whether the DLQ is a Lambda one decides the method (the native move
		// task does not support Lambda DLQs) and routes its messages: an
		// unanswered question is an error, not "no".
		if idx, err = lambdaIndexFor(ctx, deps, dlq.ARN); err != nil {
			return res, fmt.Errorf("cannot tell whether %s is a Lambda dead-letter queue: %w", dlq.Name, err)
		}
	}
	if opts.Method == MethodNative && len(idx.asyncDLQ)+len(idx.destination) > 0 {
		return res, fmt.Errorf("%s is a Lambda dead-letter queue (of %s): the native move task does not support Lambda DLQs (SQS StartMessageMoveTask); use --method auto or client, which re-invoke the function",
			dlq.Name, strings.Join(append(append([]string{}, idx.asyncDLQ...), idx.destination...), ", "))
	}

	useNative := opts.Method == MethodNative
	if opts.Method == MethodAuto {
		switch why := opts.needsClient(); {
		case why != "":
			deps.log().Debug("using the client path", "because", why)
		case len(idx.asyncDLQ)+len(idx.destination) > 0:
			deps.log().Debug("using the client path", "because", "the DLQ holds Lambda failures")
		case target != nil && target.FIFO != dlq.FIFO:
			deps.log().Debug("using the client path", "because", "the target is not the same queue type")
		default:
			useNative = true
		}
	}
	if useNative {
		res.Method = "native"
		res.Target = "each message's source queue"
		if target != nil {
			res.Target = target.Name
		}
		err := moveTask(ctx, deps, opts, dlq, target, &res)
		switch {
		case err == nil || opts.Method == MethodNative:
			finish()
			return res, err
		case errors.Is(err, errNativeUnsupported):
			deps.log().Info("the endpoint does not offer message move tasks; using the client path", "queue", dlq.Name)
		default:
			finish()
			return res, err
		}
	}

	res.Method = "client"
	f, _ := ParseFilter(opts.Filter)
	md := modeSend
	if opts.DryRun {
		md = modeDryRun
	}
	mv := newMover(deps, opts, md, dlq, f)
	mv.total = dlq.Visible
	if opts.Limit > 0 && int64(opts.Limit) < mv.total {
		mv.total = int64(opts.Limit)
	}
	rt, desc, err := newRouter(ctx, deps, opts, dlq, target, idx)
	if err != nil {
		return res, err
	}
	res.Target = desc
	mv.route = rt
	if opts.Archive != "" && !opts.DryRun {
		loc, _ := ParseLocation(opts.Archive)
		a, err := openArchive(deps, loc, runID(start))
		if err != nil {
			return res, err
		}
		defer a.Close()
		mv.arch = a
		res.Archive = loc.String()
	}
	runErr := mv.run(ctx)
	mv.fill(&res)
	finish()
	if runErr == nil && ctx.Err() != nil {
		runErr = fmt.Errorf("redrive %s: stopped after %d moved: %w", dlq.Name, res.Moved, ctx.Err())
	}
	return res, runErr
}

func (mv *mover) fill(res *Result) {
	res.Received = mv.c.received.Load()
	res.Moved = mv.c.moved.Load()
	res.FilteredOut = mv.c.filtered.Load()
	res.Failed = mv.c.failed.Load()
	res.Archived = mv.c.archived.Load()
	res.Returned = max(mv.c.returned.Load(), mv.c.returnedEstimate.Load())
	mv.mu.Lock()
	res.SentNotDeleted = int64(len(mv.notDeleted))
	res.StoppedBecause = mv.stopReason
	mv.mu.Unlock()
	res.DuplicatesAvoided = mv.c.duplicatesAvoided.Load()
	res.CircuitBreaker, res.CircuitBreakerReason = mv.brk.state()
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if len(mv.failReasons) > 0 {
		res.FailureReasons = mv.failReasons
	}
	res.Undecided = mv.c.undecided.Load()
	if res.Undecided > 0 {
		seen := map[string]bool{}
		var fields []string
		for k := range mv.undecidedBy {
			for _, f := range strings.Split(k, ", ") {
				if !seen[f] {
					seen[f] = true
					fields = append(fields, f)
				}
			}
		}
		sort.Strings(fields)
		res.UndecidedWhy = undecidedWhy(fields)
	}
	if mv.mode == modeDryRun {
		res.WouldMove = mv.wouldMove
		res.Samples = mv.samples
	}
}

func runID(t time.Time) string {
	return t.UTC().Format("20060102T150405Z") + fmt.Sprintf("-%04x", t.Nanosecond()&0xffff)
}

// newRouter returns the function that decides each message's target, and a
// description of the target for the result.
func newRouter(ctx context.Context, deps Deps, opts Options, dlq *queueInfo, target *queueInfo, idx *lambdaIndex) (func(context.Context, *Message) route, string, error) {
	switch {
	case target != nil:
		return func(context.Context, *Message) route { return route{queue: target} }, target.Name, nil
	case opts.ToLambda != "":
		if deps.Lambda == nil {
			return nil, "", errors.New("--to-lambda: no Lambda client")
		}
		fn := opts.ToLambda
		return func(_ context.Context, m *Message) route {
			if rec, ok := asLambdaRecord(m.Body); ok {
				return route{function: fn, payload: rec.RequestPayload}
			}
			return route{function: fn, payload: []byte(m.Body)}
		}, "lambda:" + fn, nil
	}
	// Default: each message's own source.
	cache := newQueueCache(deps.SQS)
	var onlySource string
	urls, ok, err := sourceQueues(ctx, deps.SQS, dlq.URL)
	if err != nil {
		return nil, "", err
	}
	if !ok { // no ListDeadLetterSourceQueues here: scan the redrive policies
		if urls, err = sourcesByPolicy(ctx, deps.SQS, dlq.ARN); err != nil {
			return nil, "", err
		}
	}
	if len(urls) == 1 {
		onlySource = urls[0]
	}
	var asyncFn string
	if len(idx.asyncDLQ) == 1 {
		asyncFn = idx.asyncDLQ[0]
	}
	desc := "each message's source"
	return func(ctx context.Context, m *Message) route {
		if rec, ok := asLambdaRecord(m.Body); ok {
			if deps.Lambda == nil {
				return route{reason: "Lambda destination record but no Lambda client"}
			}
			return route{function: rec.RequestContext.FunctionArn, payload: rec.RequestPayload}
		}
		if m.isLambdaDLQMessage() && m.SourceARN == "" {
			switch {
			case deps.Lambda == nil:
				return route{reason: "Lambda async DLQ message but no Lambda client"}
			case asyncFn != "":
				return route{function: asyncFn, payload: []byte(m.Body)}
			case len(idx.asyncDLQ) == 0:
				return route{reason: "Lambda async DLQ message but no function uses this DLQ: pass --to-lambda"}
			default:
				return route{reason: fmt.Sprintf("Lambda async DLQ message and %d functions use this DLQ: pass --to-lambda", len(idx.asyncDLQ))}
			}
		}
		src := m.SourceARN
		if src == "" {
			src = onlySource
		}
		if src == "" {
			return route{reason: "no source queue recorded (DeadLetterQueueSourceArn): pass --to"}
		}
		q, err := cache.get(ctx, src)
		if err != nil {
			return route{reason: "source queue: " + errText(err)}
		}
		return route{queue: q}
	}, desc, nil
}

// errNoSource means the move task met messages without a recorded source.
// (They were sent to the DLQ directly.) The task leaves them hidden for a
// visibility timeout; a rerun with --to, or --method client (which routes
// them to the DLQ's only source queue), moves them.
var errNoSource = errors.New("some messages have no source queue (sent to the DLQ directly): rerun with --to QUEUE or --method client")

// errNativeUnsupported means the endpoint has no message move tasks.
var errNativeUnsupported = errors.New("message move tasks are not supported by this endpoint")

// moveTask runs StartMessageMoveTask and follows it with
// ListMessageMoveTasks until it ends. Cancelling ctx cancels the task.
func moveTask(ctx context.Context, deps Deps, opts Options, dlq, target *queueInfo, res *Result) error {
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlq.ARN)}
	if target != nil {
		in.DestinationArn = aws.String(target.ARN)
	}
	if opts.Rate > 0 {
		r := int32(opts.Rate)
		if r < 1 {
			r = 1
		}
		in.MaxNumberOfMessagesPerSecond = aws.Int32(r)
	}
	out, err := deps.SQS.StartMessageMoveTask(ctx, in)
	if err != nil {
		if isUnsupported(err) {
			return fmt.Errorf("%w: %v", errNativeUnsupported, err)
		}
		return fmt.Errorf("start message move task on %s: %w", dlq.Name, err)
	}
	handle := aws.ToString(out.TaskHandle)
	res.TaskHandle = handle
	deps.log().Info("message move task started", "queue", dlq.Name, "task", handle)
	_, err = wait.Until(ctx, wait.Options{What: "message move task on " + dlq.Name, Clock: deps.Clock, Interval: opts.PollInterval},
		func(ctx context.Context) (wait.Status, error) {
			lo, err := deps.SQS.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlq.ARN), MaxResults: aws.Int32(10)})
			if err != nil {
				if ctx.Err() != nil {
					return wait.Status{}, nil // cancelled: the task is cancelled below
				}
				return wait.Status{}, fmt.Errorf("follow message move task on %s: %w", dlq.Name, err)
			}
			if len(lo.Results) == 0 {
				return wait.Status{State: "not listed yet", Fraction: -1}, nil
			}
			task := lo.Results[0] // the most recent
			for _, r := range lo.Results {
				if aws.ToString(r.TaskHandle) == handle {
					task = r
					break
				}
			}
			res.Moved = task.ApproximateNumberOfMessagesMoved
			res.Received = res.Moved
			toMove := aws.ToInt64(task.ApproximateNumberOfMessagesToMove)
			deps.progress(res.Moved, toMove)
			state := aws.ToString(task.Status)
			switch strings.ToUpper(state) {
			case "COMPLETED":
				if toMove > res.Moved {
					res.Failed = toMove - res.Moved
				}
				return wait.Status{Done: true, State: state}, nil
			case "FAILED":
				res.Failed = max(toMove-res.Moved, 0)
				reason := aws.ToString(task.FailureReason)
				if strings.Contains(reason, "CouldNotDetermineMessageSource") {
					return wait.Status{}, fmt.Errorf("message move task on %s failed: %s: %w", dlq.Name, reason, errNoSource)
				}
				return wait.Status{}, fmt.Errorf("message move task on %s failed: %s", dlq.Name, reason)
			case "CANCELLED", "CANCELLING":
				return wait.Status{}, fmt.Errorf("message move task on %s was cancelled by someone else after %d messages", dlq.Name, res.Moved)
			}
			frac := -1.0
			if toMove > 0 {
				frac = float64(res.Moved) / float64(toMove)
			}
			return wait.Status{State: fmt.Sprintf("%s, %d of %d moved", state, res.Moved, toMove), Fraction: frac}, nil
		})
	if ctx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	co, cerr := deps.SQS.CancelMessageMoveTask(cctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(handle)})
	if cerr != nil {
		return fmt.Errorf("interrupted, and cancelling move task %s failed (cancel it with `aws sqs cancel-message-move-task`): %v: %w", handle, cerr, ctx.Err())
	}
	res.Moved = co.ApproximateNumberOfMessagesMoved
	return fmt.Errorf("move task cancelled after %d messages: %w", res.Moved, ctx.Err())
}
