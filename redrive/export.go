package redrive

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// ExportOptions configure Export.
type ExportOptions struct {
	DLQ         string
	To          string // FILE.jsonl (appended to) or s3://bucket/prefix/ (one object per batch)
	Delete      bool   // delete each message from the DLQ once it is durably written
	Filter      string
	Limit       int
	Concurrency int
	// Tuning (see Options).
	VisibilityTimeout time.Duration
	WaitTime          time.Duration
}

// Validate checks the options.
func (o ExportOptions) Validate() error {
	if err := validQueueRef(o.DLQ); err != nil {
		return usagef("DLQ: %v", err)
	}
	if o.To == "" {
		return usagef("--to is required: FILE.jsonl or s3://BUCKET/PREFIX/")
	}
	if err := validOutputLocation(o.To); err != nil {
		return usagef("--to %v", err)
	}
	if _, err := ParseFilter(o.Filter); err != nil {
		return err
	}
	if o.Limit < 0 || o.Concurrency < 0 || o.Concurrency > 64 {
		return usagef("--limit must be >= 0 and --concurrency between 1 and 64")
	}
	return nil
}

// Export writes the DLQ's messages to a JSONL file or S3, each durably before
// (with Delete) it is deleted from the DLQ. Without Delete the DLQ is left as
// it was. The result's Moved counts the messages exported.
func Export(ctx context.Context, deps Deps, opts ExportOptions) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	ro := Options{DLQ: opts.DLQ, Filter: opts.Filter, Limit: opts.Limit, Concurrency: opts.Concurrency,
		VisibilityTimeout: opts.VisibilityTimeout, WaitTime: opts.WaitTime, BreakerRatio: -1}
	ro.defaults()
	if opts.Delete {
		// Without deletes every exported message stays hidden until the end:
		// one worker is enough and keeps the hold short.
	} else {
		ro.Concurrency = 1
	}
	start := deps.now()
	res := Result{DLQ: opts.DLQ, Method: "export", CircuitBreaker: "closed"}
	dlq, err := describeQueue(ctx, deps.SQS, opts.DLQ)
	if err != nil {
		return res, err
	}
	res.DLQ, res.DLQARN = dlq.Name, dlq.ARN
	loc, _ := ParseLocation(opts.To)
	res.Target, res.Archive = loc.String(), loc.String()
	a, err := openArchive(deps, loc, runID(start))
	if err != nil {
		return res, err
	}
	md := modeExport
	if opts.Delete {
		md = modeExportDel
	}
	f, _ := ParseFilter(opts.Filter)
	mv := newMover(deps, ro, md, dlq, f)
	mv.arch = a
	mv.total = dlq.Visible
	runErr := mv.run(ctx)
	if cerr := a.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	mv.fill(&res)
	res.DurationSeconds = deps.now().Sub(start).Seconds()
	if res.DurationSeconds > 0 {
		res.MessagesPerSecond = float64(res.Moved) / res.DurationSeconds
	}
	if q, err := describeURL(context.WithoutCancel(ctx), deps.SQS, dlq.URL); err == nil {
		res.RemainingInDLQ = q.Visible + q.InFlight + q.Delayed
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = fmt.Errorf("export %s: stopped after %d messages: %w", dlq.Name, res.Moved, ctx.Err())
	}
	return res, runErr
}

// ImportOptions configure Import.
type ImportOptions struct {
	From        string // FILE.jsonl, s3://bucket/key.jsonl or s3://bucket/prefix/
	To          string // target queue
	Rate        float64
	Concurrency int
}

// Validate checks the options.
func (o ImportOptions) Validate() error {
	if _, err := ParseLocation(o.From); err != nil {
		return usagef("source: %v", err)
	}
	if err := validQueueRef(o.To); err != nil {
		return usagef("--to: %v", err)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) || o.Concurrency < 0 || o.Concurrency > 64 {
		return usagef("--rate must be positive and --concurrency between 1 and 64")
	}
	return nil
}

// ImportResult summarises an import.
type ImportResult struct {
	From              string           `json:"from"`
	To                string           `json:"to"`
	Read              int64            `json:"read"`
	Sent              int64            `json:"sent"`
	Failed            int64            `json:"failed"`
	FailedIDs         []string         `json:"failed_message_ids,omitempty"`
	FailureReasons    map[string]int64 `json:"failure_reasons,omitempty"`
	DurationSeconds   float64          `json:"duration_seconds"`
	MessagesPerSecond float64          `json:"messages_per_second"`
}

// Import sends every message of an export (or archive) to a queue, with its
// body, attributes and, for FIFO, group and a deduplication id derived from
// the original message id (so a re-import within five minutes is dropped by
// SQS). Records are sent in file order; FIFO imports use one worker.
func Import(ctx context.Context, deps Deps, opts ImportOptions) (ImportResult, error) {
	if err := opts.Validate(); err != nil {
		return ImportResult{}, err
	}
	start := deps.now()
	loc, _ := ParseLocation(opts.From)
	res := ImportResult{From: loc.String(), To: opts.To}
	q, err := describeQueue(ctx, deps.SQS, opts.To)
	if err != nil {
		return res, fmt.Errorf("target: %w", err)
	}
	res.To = q.Name
	ro := Options{Rate: opts.Rate, Concurrency: opts.Concurrency}
	ro.defaults()
	if q.FIFO {
		ro.Concurrency = 1
	}
	mv := newMover(deps, ro, modeSend, q, nil)
	batches := make(chan []*Message, ro.Concurrency)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < ro.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				ok := mv.sendSQS(ctx, q, b)
				mu.Lock()
				res.Sent += int64(len(ok))
				for _, m := range b {
					if _, sent := ok[m.MessageID]; !sent && len(res.FailedIDs) < 1000 {
						res.FailedIDs = append(res.FailedIDs, m.MessageID)
					}
				}
				sent := res.Sent
				mu.Unlock()
				deps.progress(sent, -1)
			}
		}()
	}
	var cur []*Message
	readErr := readRecords(ctx, deps, loc, func(m Message) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Read++
		cur = append(cur, &m)
		if len(cur) == 10 {
			batches <- cur
			cur = nil
		}
		return nil
	})
	if len(cur) > 0 && readErr == nil {
		batches <- cur
	}
	close(batches)
	wg.Wait()
	res.Failed = mv.c.failed.Load()
	if len(mv.failReasons) > 0 {
		res.FailureReasons = mv.failReasons
	}
	res.DurationSeconds = deps.now().Sub(start).Seconds()
	if res.DurationSeconds > 0 {
		res.MessagesPerSecond = float64(res.Sent) / res.DurationSeconds
	}
	if readErr != nil {
		return res, fmt.Errorf("import from %s: %w", loc, readErr)
	}
	if res.Failed > 0 {
		return res, usageOrPartial(res)
	}
	return res, nil
}

func usageOrPartial(res ImportResult) error {
	return partialf("%d of %d messages could not be sent to %s; their ids are in the result", res.Failed, res.Read, res.To)
}
