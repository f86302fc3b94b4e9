package redrive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/wait"
)

// mode is what the client mover does with a selected message.
type mode int

const (
	modeSend      mode = iota // redrive: send to its target, then delete
	modeDryRun                // count and sample; release
	modeExport                // archive only; release
	modeExportDel             // archive, then delete
)

// route is where one message goes.
type route struct {
	queue    *queueInfo // SQS target
	function string     // Lambda target
	payload  []byte     // Lambda payload
	reason   string     // unroutable: why
}

func (r route) key() string {
	switch {
	case r.queue != nil:
		return r.queue.ARN
	case r.function != "":
		return "lambda:" + r.function
	}
	return ""
}

// counters are the run's tallies, updated by every worker.
type counters struct {
	received, moved, filtered, failed, archived, returned, duplicatesAvoided atomic.Int64
	selected, undecided                                                      atomic.Int64
	returnedEstimate                                                         atomic.Int64 // from the DLQ depth
	receiveErrors                                                            atomic.Int64
}

// mover is the client path.
type mover struct {
	deps   Deps
	opts   Options
	mode   mode
	dlq    *queueInfo
	filter *Filter
	arch   archiver
	route  func(ctx context.Context, m *Message) route
	limit  *limiter
	brk    *breaker
	c      counters
	total  int64

	stop    atomic.Bool
	halted  atomic.Bool // nothing more may be sent (see halt)
	errOnce sync.Once
	err     error
	// stopReason says why the run stopped sending early (a permanent
	// delete error); the result reports it.
	stopOnce   sync.Once
	stopReason string

	mu          sync.Mutex
	held        map[string]string // message id → receipt handle: stays in the DLQ, released at the end
	sent        map[string]bool   // message ids sent in this run (a re-receipt is only deleted)
	notDeleted  map[string]bool   // sent (or exported) but still in the DLQ: a re-run sends them again
	failReasons map[string]int64
	undecidedBy map[string]int64 // missing fields → messages
	samples     []Message
	wouldMove   map[string]int64
}

func newMover(deps Deps, opts Options, md mode, dlq *queueInfo, f *Filter) *mover {
	return &mover{
		deps: deps, opts: opts, mode: md, dlq: dlq, filter: f,
		limit:       newLimiter(opts.Rate, deps.Clock),
		brk:         newBreaker(opts.BreakerRatio, opts.BreakerMinReturns),
		held:        map[string]string{},
		sent:        map[string]bool{},
		notDeleted:  map[string]bool{},
		failReasons: map[string]int64{},
		undecidedBy: map[string]int64{},
		wouldMove:   map[string]int64{},
	}
}

func (mv *mover) fail(err error) {
	mv.errOnce.Do(func() { mv.err = err })
	mv.stop.Store(true)
}

// halt stops the run from sending anything more, and says why.
func (mv *mover) halt(reason string) {
	mv.stopOnce.Do(func() {
		mv.mu.Lock()
		mv.stopReason = reason
		mv.mu.Unlock()
		mv.deps.log().Error("stopping: "+reason, "queue", mv.dlq.Name)
	})
	mv.halted.Store(true)
	mv.stop.Store(true)
}

// noteUndecided counts a message the filter could not decide on, by the
// fields it lacked.
func (mv *mover) noteUndecided(fields []string) {
	mv.c.undecided.Add(1)
	mv.mu.Lock()
	mv.undecidedBy[strings.Join(fields, ", ")]++
	mv.mu.Unlock()
}

func (mv *mover) noteFailure(reason string, n int64) {
	if n <= 0 {
		return
	}
	mv.c.failed.Add(n)
	mv.mu.Lock()
	mv.failReasons[reason] += n
	mv.mu.Unlock()
}

func (mv *mover) hold(msgs ...*Message) {
	mv.mu.Lock()
	for _, m := range msgs {
		mv.held[m.MessageID] = m.receipt
	}
	mv.mu.Unlock()
}

// run drives the workers until the DLQ is drained (as far as the selection
// goes), the limit is reached, the breaker opens, ctx ends or a fatal error.
func (mv *mover) run(ctx context.Context) error {
	var wg sync.WaitGroup
	if mv.mode == modeSend && mv.brk.ratio >= 0 {
		mctx, stopMonitor := context.WithCancel(ctx)
		defer stopMonitor()
		go mv.watchDepth(mctx, mv.dlq.Visible+mv.dlq.InFlight+mv.dlq.Delayed)
	}
	for i := 0; i < mv.opts.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mv.worker(ctx)
		}()
	}
	wg.Wait()
	mv.awaitOrphans(ctx)
	mv.releaseHeld(ctx)
	return mv.err
}

// awaitOrphans handles a receive whose response was lost (a dropped
// connection, a truncated body): SQS handed its messages out, so they are
// hidden until their visibility timeout ends, and the queue looked empty.
// After such an error, opsctl waits for messages in flight that are not its
// own to reappear (at most one visibility timeout) and moves them too.
func (mv *mover) awaitOrphans(ctx context.Context) {
	if mv.c.receiveErrors.Load() == 0 || mv.mode == modeDryRun {
		return
	}
	logged := false
	_, err := wait.Until(ctx, wait.Options{What: "messages hidden by a lost receive response in " + mv.dlq.Name, Clock: mv.deps.Clock,
		Interval: 100 * time.Millisecond, Timeout: mv.opts.VisibilityTimeout + 5*time.Second},
		func(ctx context.Context) (wait.Status, error) {
			if mv.stop.Load() || mv.limitReached() {
				return wait.Status{Done: true}, nil
			}
			q, err := describeURL(ctx, mv.deps.SQS, mv.dlq.URL)
			if err != nil {
				return wait.Status{}, err
			}
			mv.mu.Lock()
			held := int64(len(mv.held))
			mv.mu.Unlock()
			switch {
			case q.Visible > 0:
				mv.worker(ctx)
			case q.InFlight > held:
				if !logged {
					mv.deps.log().Info("waiting for messages hidden by a lost receive response to reappear", "queue", mv.dlq.Name, "count", q.InFlight-held)
					logged = true
				}
				// Poll rather than trust the counts: some implementations only
				// notice an expired visibility timeout when asked for messages.
				mv.worker(ctx)
			default:
				return wait.Status{Done: true}, nil
			}
			return wait.Status{State: fmt.Sprintf("%d visible, %d in flight", q.Visible, q.InFlight)}, nil
		})
	if err != nil && ctx.Err() == nil {
		mv.deps.log().Warn("stopped waiting for hidden messages; they stay in the DLQ", "queue", mv.dlq.Name, "err", err)
	}
}

// watchDepth is the breaker's second sensor. The first recognises returned
// messages by id when they are received, which can be late when a queue
// hands out old messages first. This one reads the DLQ's depth: if the DLQ
// holds more than it did at the start (less a slack for in-flight counts)
// on two readings in a row while opsctl is draining it, messages are coming
// back faster than they leave. It compares with the starting depth only, not
// "start - moved": SQS's approximate counts can lag by a minute, and a
// stale count must never look like a return.
func (mv *mover) watchDepth(ctx context.Context, initial int64) {
	slack := int64(mv.opts.Concurrency * 10)
	over := 0
	wait.Until(ctx, wait.Options{What: "DLQ depth", Clock: mv.deps.Clock, Interval: time.Second},
		func(ctx context.Context) (wait.Status, error) {
			q, err := describeURL(ctx, mv.deps.SQS, mv.dlq.URL)
			if err != nil {
				return wait.Status{}, nil
			}
			grew := q.Visible + q.InFlight + q.Delayed - initial - slack
			if grew <= 0 {
				over = 0
				return wait.Status{}, nil
			}
			if over++; over < 2 {
				return wait.Status{}, nil
			}
			moved := mv.c.moved.Load()
			returned := grew // came in beyond what opsctl took out: a lower bound
			if returned > mv.c.returnedEstimate.Load() {
				mv.c.returnedEstimate.Store(returned)
			}
			if reason := mv.brk.checkGrowth(moved, returned); reason != "" {
				mv.deps.log().Warn("circuit breaker open: the DLQ is filling up while it is being redriven; stopping", "reason", reason)
				mv.stop.Store(true)
				return wait.Status{Done: true}, nil
			}
			return wait.Status{}, nil
		})
}

// looksEmpty reports an empty DLQ (nothing visible or delayed) after an
// empty long poll, so workers stop without a second long poll.
func (mv *mover) looksEmpty(ctx context.Context) bool {
	q, err := describeURL(ctx, mv.deps.SQS, mv.dlq.URL)
	return err == nil && q.Visible == 0 && q.Delayed == 0
}

func (mv *mover) limitReached() bool {
	return mv.opts.Limit > 0 && mv.c.selected.Load() >= int64(mv.opts.Limit)
}

func (mv *mover) worker(ctx context.Context) {
	empties, errs := 0, 0
	var firstErr time.Time
	for !mv.stop.Load() && ctx.Err() == nil && !mv.limitReached() {
		// The receive itself is not cut short by cancellation: messages SQS
		// hands out to a request the client abandoned would stay hidden for
		// the whole visibility timeout. Whatever arrives after a cancel is
		// released at once.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), mv.opts.WaitTime+30*time.Second)
		out, err := mv.deps.SQS.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(mv.dlq.URL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             int32(mv.opts.WaitTime / time.Second),
			VisibilityTimeout:           int32(mv.opts.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			AttributeNames:              allSystemAttributes,
			MessageAttributeNames:       []string{"All"},
		})
		rcancel()
		if ctx.Err() != nil || mv.stop.Load() {
			if err == nil {
				for _, r := range out.Messages {
					m := fromSQS(r, mv.dlq.ARN)
					mv.hold(&m)
				}
			}
			return
		}
		if err != nil {
			mv.c.receiveErrors.Add(1)
			errs++
			if errs == 1 {
				firstErr = mv.deps.now()
			}
			// Give up after MaxAttempts failures spanning at least 30s: a
			// flaky connection is retried, a dead endpoint is not waited on forever.
			if errs >= mv.opts.MaxAttempts && mv.deps.now().Sub(firstErr) > 30*time.Second {
				mv.fail(fmt.Errorf("receive from %s: %w", mv.dlq.Name, err))
				return
			}
			mv.deps.log().Warn("receive failed; retrying", "queue", mv.dlq.Name, "err", err)
			if mv.sleep(ctx, backoff(errs)) != nil {
				return
			}
			continue
		}
		errs = 0
		if ar, ok := retry.GetAttemptResults(out.ResultMetadata); ok && len(ar.Results) > 1 {
			// The SDK retried this receive: an earlier attempt's response may
			// have been lost after SQS handed its messages out (see
			// awaitOrphans), though no error reached opsctl.
			mv.c.receiveErrors.Add(1)
		}
		fresh := mv.process(ctx, out.Messages)
		if fresh == 0 {
			empties++
			if empties >= mv.opts.EmptyReceives || (len(out.Messages) == 0 && mv.looksEmpty(ctx)) {
				return
			}
			continue
		}
		empties = 0
	}
}

// allSystemAttributes asks for every system attribute in ReceiveMessage's
// older form. SQS accepts both AttributeNames (deprecated, "supported for
// backward compatibility": botocore sqs service-2.json) and
// MessageSystemAttributeNames; some endpoints (local-aws-sqs, the default
// emulator) answer only the older one, so opsctl sends both.
var allSystemAttributes = []types.QueueAttributeName{types.QueueAttributeNameAll}

// process handles one received batch and returns how many messages in it
// were new to this run.
func (mv *mover) process(ctx context.Context, raw []types.Message) int {
	now := mv.deps.now()
	var work []*Message
	var routes []route
	var deleteOnly []*Message
	fresh := 0
	seen := map[string]bool{}
	for _, r := range raw {
		m := fromSQS(r, mv.dlq.ARN)
		if seen[m.MessageID] { // the same message twice in one receive (an emulator quirk): handle once
			continue
		}
		seen[m.MessageID] = true
		mv.mu.Lock()
		_, known := mv.held[m.MessageID]
		wasSent := mv.sent[m.MessageID]
		if known {
			mv.held[m.MessageID] = m.receipt // its newest handle releases it
		}
		mv.mu.Unlock()
		switch {
		case wasSent:
			// Sent earlier in this run but its delete did not stick: delete, never resend.
			mv.c.duplicatesAvoided.Add(1)
			deleteOnly = append(deleteOnly, &m)
			continue
		case known:
			continue
		}
		fresh++
		mv.c.received.Add(1)
		if mv.brk.isReturn(&m) {
			mv.c.returned.Add(1)
			mv.hold(&m)
			if reason := mv.brk.check(mv.c.moved.Load(), mv.c.returned.Load()); reason != "" {
				mv.deps.log().Warn("circuit breaker open: redriven messages are coming back to the DLQ; stopping", "reason", reason)
				mv.stop.Store(true)
			}
			continue
		}
		if ok, unknown := mv.filter.Decide(m.filterView(now)); !ok {
			if len(unknown) > 0 {
				// The filter needs a field this message does not carry:
				// neither selected nor filtered out, and said so.
				mv.noteUndecided(unknown)
			} else {
				mv.c.filtered.Add(1)
			}
			mv.hold(&m)
			continue
		}
		if mv.opts.Limit > 0 && mv.c.selected.Add(1) > int64(mv.opts.Limit) {
			mv.c.selected.Add(-1)
			mv.hold(&m)
			continue
		} else if mv.opts.Limit == 0 {
			mv.c.selected.Add(1)
		}
		var rt route
		if mv.mode == modeSend || mv.mode == modeDryRun {
			rt = mv.route(ctx, &m)
			if rt.key() == "" {
				mv.noteFailure(rt.reason, 1)
				mv.hold(&m)
				continue
			}
		}
		work = append(work, &m)
		routes = append(routes, rt)
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mv.opts.BatchTimeout)
	defer cancel()
	if len(deleteOnly) > 0 {
		mv.mu.Lock()
		owed := map[string]bool{}
		for _, m := range deleteOnly {
			owed[m.MessageID] = mv.notDeleted[m.MessageID]
		}
		mv.mu.Unlock()
		for _, m := range mv.deleteMessages(bctx, deleteOnly) {
			if owed[m.MessageID] { // its earlier delete failed: now it has moved
				mv.c.moved.Add(1)
			}
		}
	}
	if len(work) == 0 {
		return fresh
	}
	switch mv.mode {
	case modeDryRun:
		mv.mu.Lock()
		for i, m := range work {
			mv.wouldMove[describeRoute(routes[i])]++
			if len(mv.samples) < mv.opts.SampleSize {
				mv.samples = append(mv.samples, *m)
			}
		}
		mv.mu.Unlock()
		mv.hold(work...)
		return fresh
	}

	// From here the batch is finished even if ctx is cancelled: what was sent
	// is deleted, what was not is released. Visibility is extended meanwhile.
	hb := mv.heartbeat(bctx, work)
	defer hb.stop()

	if ctx.Err() != nil || mv.stop.Load() {
		mv.hold(work...)
		return fresh
	}
	if mv.arch != nil {
		if err := mv.arch.Write(bctx, derefAll(work)); err != nil {
			mv.hold(work...)
			mv.fail(err)
			return fresh
		}
		mv.c.archived.Add(int64(len(work)))
	}
	switch mv.mode {
	case modeExport:
		mv.c.moved.Add(int64(len(work)))
		mv.hold(work...)
		mv.deps.progress(mv.c.moved.Load(), mv.total)
		return fresh
	case modeExportDel:
		done := mv.deleteMessages(bctx, work)
		mv.c.moved.Add(int64(len(done)))
		mv.deps.progress(mv.c.moved.Load(), mv.total)
		return fresh
	}

	if mv.halted.Load() {
		mv.hold(work...)
		return fresh
	}
	sent := mv.send(bctx, work, routes)
	var toDelete, notSent []*Message
	for _, m := range work {
		if sent[m.MessageID] {
			toDelete = append(toDelete, m)
		} else {
			notSent = append(notSent, m)
		}
	}
	mv.mu.Lock()
	for _, m := range toDelete {
		mv.sent[m.MessageID] = true
	}
	mv.mu.Unlock()
	mv.hold(notSent...)
	hb.forget(notSent)
	done := mv.deleteMessages(bctx, toDelete)
	mv.c.moved.Add(int64(len(done)))
	mv.deps.progress(mv.c.moved.Load(), mv.total)
	return fresh
}

func derefAll(ms []*Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = *m
	}
	return out
}

func describeRoute(r route) string {
	if r.queue != nil {
		return "sqs:" + r.queue.Name
	}
	return r.key()
}

// send delivers work and returns the ids of the messages that were accepted.
func (mv *mover) send(ctx context.Context, work []*Message, routes []route) map[string]bool {
	sent := map[string]bool{}
	var sentMu sync.Mutex
	byQueue := map[string][]*Message{}
	queues := map[string]*queueInfo{}
	var order []string
	var lambdaWork []int
	for i, rt := range routes {
		if rt.queue != nil {
			if _, ok := byQueue[rt.queue.ARN]; !ok {
				order = append(order, rt.queue.ARN)
			}
			byQueue[rt.queue.ARN] = append(byQueue[rt.queue.ARN], work[i])
			queues[rt.queue.ARN] = rt.queue
		} else {
			lambdaWork = append(lambdaWork, i)
		}
	}
	for _, arn := range order {
		ok := mv.sendSQS(ctx, queues[arn], byQueue[arn])
		for id, newID := range ok {
			sent[id] = true
			mv.brk.noteSent(newID)
		}
	}
	if len(lambdaWork) > 0 {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 10)
		for _, i := range lambdaWork {
			wg.Add(1)
			sem <- struct{}{}
			go func(m *Message, rt route) {
				defer wg.Done()
				defer func() { <-sem }()
				if reqID, ok := mv.invoke(ctx, m, rt); ok {
					sentMu.Lock()
					sent[m.MessageID] = true
					sentMu.Unlock()
					mv.brk.noteSent(reqID)
				}
			}(work[i], routes[i])
		}
		wg.Wait()
	}
	return sent
}

// sendBatchLimit is the SendMessageBatch payload limit opsctl plans for
// (SQS accepts 1 MiB since 2025; emulators and older regions 256 KiB).
const sendBatchLimit = 256 * 1024

// sendSQS sends msgs to q and returns original message id → new message id
// for each message SQS accepted. For FIFO targets it sends in waves holding
// at most one message per group, and stops a group at its first failure, so
// the order within each group is preserved (what is not sent stays in the
// DLQ, behind what was).
func (mv *mover) sendSQS(ctx context.Context, q *queueInfo, msgs []*Message) map[string]string {
	ok := map[string]string{}
	if !q.FIFO {
		for _, chunk := range chunkBySize(msgs) {
			for id, newID := range mv.sendChunk(ctx, q, chunk) {
				ok[id] = newID
			}
		}
		return ok
	}
	// FIFO: per-group queues in receive order.
	groups := map[string][]*Message{}
	var gorder []string
	for _, m := range msgs {
		g := m.GroupID
		if g == "" {
			g = "opsctl-redrive"
		}
		if _, seen := groups[g]; !seen {
			gorder = append(gorder, g)
		}
		groups[g] = append(groups[g], m)
	}
	for {
		var wave []*Message
		for _, g := range gorder {
			if len(groups[g]) > 0 && len(wave) < 10 {
				wave = append(wave, groups[g][0])
			}
		}
		if len(wave) == 0 {
			return ok
		}
		res := mv.sendChunk(ctx, q, wave)
		for _, m := range wave {
			g := m.GroupID
			if g == "" {
				g = "opsctl-redrive"
			}
			if newID, sent := res[m.MessageID]; sent {
				ok[m.MessageID] = newID
				groups[g] = groups[g][1:]
			} else {
				// The group stops here: its later messages stay behind it in the DLQ.
				if n := len(groups[g]) - 1; n > 0 {
					mv.noteFailure("FIFO group stopped behind an unsent message", int64(n))
				}
				groups[g] = nil
			}
		}
	}
}

func chunkBySize(msgs []*Message) [][]*Message {
	var out [][]*Message
	var cur []*Message
	size := 0
	for _, m := range msgs {
		s := m.size()
		if len(cur) == 10 || (len(cur) > 0 && size+s > sendBatchLimit) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += s
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendChunk sends up to 10 messages with per-entry retries and returns the
// accepted ones (original id → new id). Entries that fail permanently or run
// out of attempts are counted as failed; they stay in the DLQ.
func (mv *mover) sendChunk(ctx context.Context, q *queueInfo, chunk []*Message) map[string]string {
	ok := map[string]string{}
	pending := map[string]*Message{}
	for i, m := range chunk {
		pending[strconv.Itoa(i)] = m
	}
	var lastReason string
	for attempt := 1; len(pending) > 0 && attempt <= mv.opts.MaxAttempts; attempt++ {
		if attempt > 1 && mv.sleep(ctx, backoff(attempt-1)) != nil {
			break
		}
		if mv.halted.Load() {
			lastReason = "not sent: the run stopped (" + mv.haltedBecause() + ")"
			break
		}
		if err := mv.limit.wait(ctx, len(pending)); err != nil {
			break
		}
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
		for i := 0; i < len(chunk); i++ {
			id := strconv.Itoa(i)
			m, ok := pending[id]
			if !ok {
				continue
			}
			e := types.SendMessageBatchRequestEntry{
				Id: aws.String(id), MessageBody: aws.String(m.Body), MessageAttributes: m.sqsAttributes(),
			}
			if th := m.Attributes["AWSTraceHeader"]; th != "" { // keep the X-Ray trace
				e.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
					"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(th)},
				}
			}
			if q.FIFO {
				g := m.GroupID
				if g == "" {
					g = "opsctl-redrive"
				}
				e.MessageGroupId = aws.String(g)
				// Derived from the original message: a resend after a crash
				// within SQS's 5-minute window is dropped as a duplicate.
				e.MessageDeduplicationId = aws.String(dedupID(m))
			}
			entries = append(entries, e)
		}
		out, err := mv.deps.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			lastReason = "send: " + errText(err)
			if isPermanentQueueError(err) || awsx.ErrorCode(err) == "AWS.SimpleQueueService.BatchRequestTooLong" {
				break
			}
			mv.deps.log().Debug("send batch failed; retrying", "queue", q.Name, "attempt", attempt, "err", err)
			continue
		}
		for _, s := range out.Successful {
			id := aws.ToString(s.Id)
			if m, found := pending[id]; found {
				ok[m.MessageID] = aws.ToString(s.MessageId)
				delete(pending, id)
			}
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			m, found := pending[id]
			if !found {
				continue
			}
			lastReason = "send: " + aws.ToString(f.Code)
			if f.SenderFault && !retryableCode(aws.ToString(f.Code)) {
				mv.deps.log().Warn("target rejected a message; it stays in the DLQ", "message_id", m.MessageID, "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
				mv.noteFailure(lastReason, 1)
				delete(pending, id)
			}
		}
	}
	if len(pending) > 0 {
		if lastReason == "" {
			lastReason = "send: interrupted"
		}
		mv.noteFailure(lastReason, int64(len(pending)))
	}
	return ok
}

// dedupID is the FIFO deduplication id for a redriven message: its original
// message id (as SQS's own redrive does), which is stable across reruns.
func dedupID(m *Message) string {
	id := m.MessageID
	if len(id) > 128 {
		id = id[:128]
	}
	return id
}

func retryableCode(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "RequestThrottled", "ServiceUnavailable", "InternalError", "InternalFailure",
		"KmsThrottled", "AWS.SimpleQueueService.KmsThrottled", "TooManyRequestsException", "ServiceException":
		return true
	}
	return false
}

func errText(err error) string {
	if c := awsx.ErrorCode(err); c != "" {
		return c
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// invoke re-invokes a function asynchronously with the message's payload and
// returns the invocation's request id.
func (mv *mover) invoke(ctx context.Context, m *Message, rt route) (string, bool) {
	var reason string
	for attempt := 1; attempt <= mv.opts.MaxAttempts; attempt++ {
		if attempt > 1 && mv.sleep(ctx, backoff(attempt-1)) != nil {
			break
		}
		if mv.halted.Load() {
			reason = "not sent: the run stopped (" + mv.haltedBecause() + ")"
			break
		}
		if err := mv.limit.wait(ctx, 1); err != nil {
			break
		}
		out, err := mv.deps.Lambda.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String(rt.function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: rt.payload,
		})
		if err == nil {
			rid, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			return rid, true
		}
		reason = "invoke: " + errText(err)
		switch awsx.ErrorCode(err) {
		case "ResourceNotFoundException", "InvalidParameterValueException", "InvalidRequestContentException",
			"RequestTooLargeException", "AccessDeniedException", "UnsupportedMediaTypeException":
			mv.deps.log().Warn("function rejected a message; it stays in the DLQ", "message_id", m.MessageID, "function", rt.function, "err", err)
			mv.noteFailure(reason, 1)
			return "", false
		}
		mv.deps.log().Debug("invoke failed; retrying", "function", rt.function, "attempt", attempt, "err", err)
	}
	if reason == "" {
		reason = "invoke: interrupted"
	}
	mv.noteFailure(reason, 1)
	return "", false
}

// deleteMessages deletes msgs from the DLQ with per-entry retries and returns
// the ones deleted. A message that cannot be deleted after it was sent is
// now in two places: it is recorded as sent-but-not-deleted (the result
// reports it and the run ends partial), and a later receipt in this run
// deletes it without sending it again. A delete the DLQ refuses for good
// (AccessDenied: the role lacks sqs:DeleteMessage), or one that keeps failing
// past every retry, halts the run: each further send would be a duplicate.
func (mv *mover) deleteMessages(ctx context.Context, msgs []*Message) []*Message {
	var done []*Message
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		pending := map[string]*Message{}
		for i, m := range chunk {
			pending[strconv.Itoa(i)] = m
		}
		var lastErr string
		var gaveUp []*Message
		requestFailed := false
		for attempt := 1; len(pending) > 0 && attempt <= mv.opts.MaxAttempts+2; attempt++ {
			if attempt > 1 && mv.sleep(ctx, backoff(attempt-1)) != nil {
				break
			}
			entries := make([]types.DeleteMessageBatchRequestEntry, 0, len(pending))
			for id, m := range pending {
				entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: aws.String(m.receipt)})
			}
			out, err := mv.deps.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(mv.dlq.URL), Entries: entries})
			if err != nil {
				lastErr = errText(err)
				requestFailed = true
				if isPermanentDeleteError(awsx.ErrorCode(err)) {
					mv.halt(deleteDeniedReason(mv.dlq, awsx.ErrorCode(err)))
					break
				}
				mv.deps.log().Debug("delete batch failed; retrying", "queue", mv.dlq.Name, "attempt", attempt, "err", err)
				continue
			}
			requestFailed = false
			for _, s := range out.Successful {
				if m, ok := pending[aws.ToString(s.Id)]; ok {
					done = append(done, m)
					delete(pending, aws.ToString(s.Id))
				}
			}
			for _, f := range out.Failed {
				code := aws.ToString(f.Code)
				lastErr = code
				m, ok := pending[aws.ToString(f.Id)]
				if !ok {
					continue
				}
				switch {
				case isPermanentDeleteError(code):
					mv.halt(deleteDeniedReason(mv.dlq, code))
					gaveUp = append(gaveUp, m)
					delete(pending, aws.ToString(f.Id))
				case f.SenderFault && !retryableCode(code):
					// ReceiptHandleIsInvalid: the handle expired and the message
					// is visible again; retrying this handle cannot succeed. A
					// re-receipt in this run deletes it.
					gaveUp = append(gaveUp, m)
					delete(pending, aws.ToString(f.Id))
				}
			}
			if mv.halted.Load() && len(pending) > 0 && isPermanentDeleteError(lastErr) {
				break
			}
		}
		for _, m := range pending {
			gaveUp = append(gaveUp, m)
		}
		if requestFailed && len(gaveUp) > 0 && !mv.halted.Load() {
			mv.halt(fmt.Sprintf("DeleteMessageBatch on %s kept failing (%s) after %d attempts; sent messages stay in the DLQ too, so nothing more is sent", mv.dlq.Name, lastErr, mv.opts.MaxAttempts+2))
		}
		mv.mu.Lock()
		for _, m := range done {
			delete(mv.notDeleted, m.MessageID)
		}
		for _, m := range gaveUp {
			mv.notDeleted[m.MessageID] = true
		}
		mv.mu.Unlock()
		for _, m := range gaveUp {
			mv.deps.log().Warn("message was sent but not deleted from the DLQ; a re-run sends it again", "message_id", m.MessageID, "err", lastErr)
		}
	}
	return done
}

// isPermanentDeleteError reports a delete error no retry can fix.
func isPermanentDeleteError(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "AWS.SimpleQueueService.AccessDenied", "InvalidSecurity", "KmsAccessDenied",
		"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress":
		return true
	}
	return false
}

func deleteDeniedReason(dlq *queueInfo, code string) string {
	switch code {
	case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress":
		return fmt.Sprintf("deleting from %s failed (%s): the DLQ is gone; nothing more is sent", dlq.Name, code)
	}
	return fmt.Sprintf("deleting from %s was denied (%s): the role needs sqs:DeleteMessage on %s; sent messages stay in the DLQ too, so nothing more is sent", dlq.Name, code, dlq.ARN)
}

func (mv *mover) haltedBecause() string {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	return mv.stopReason
}

// releaseHeld makes every held message visible again, so messages that were
// filtered out, failed or sampled are immediately available to consumers.
func (mv *mover) releaseHeld(ctx context.Context) {
	mv.mu.Lock()
	var handles []string
	for _, h := range mv.held {
		handles = append(handles, h)
	}
	mv.held = map[string]string{}
	mv.mu.Unlock()
	if len(handles) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	mv.changeVisibility(rctx, handles, 0)
}

func (mv *mover) changeVisibility(ctx context.Context, handles []string, seconds int32) {
	for start := 0; start < len(handles); start += 10 {
		chunk := handles[start:min(start+10, len(handles))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: seconds}
		}
		for attempt := 1; attempt <= 3; attempt++ {
			_, err := mv.deps.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(mv.dlq.URL), Entries: entries})
			if err == nil {
				break
			}
			// Not fatal: the message becomes visible on its own when the timeout ends.
			mv.deps.log().Debug("change visibility failed", "err", err, "attempt", attempt)
			if mv.sleep(ctx, backoff(attempt)) != nil {
				return
			}
		}
	}
}

// heartbeat extends the visibility of a batch in flight until stopped.
type heartbeat struct {
	mu     sync.Mutex
	live   map[string]string
	cancel context.CancelFunc
	done   chan struct{}
}

func (mv *mover) heartbeat(ctx context.Context, work []*Message) *heartbeat {
	hctx, cancel := context.WithCancel(ctx)
	hb := &heartbeat{live: map[string]string{}, cancel: cancel, done: make(chan struct{})}
	for _, m := range work {
		hb.live[m.MessageID] = m.receipt
	}
	every := mv.opts.VisibilityTimeout / 3
	if every < 200*time.Millisecond {
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(hb.done)
		for {
			if mv.deps.clock().Sleep(hctx, every) != nil {
				return
			}
			hb.mu.Lock()
			var hs []string
			for _, h := range hb.live {
				hs = append(hs, h)
			}
			hb.mu.Unlock()
			mv.changeVisibility(hctx, hs, int32(mv.opts.VisibilityTimeout/time.Second))
		}
	}()
	return hb
}

func (hb *heartbeat) forget(ms []*Message) {
	hb.mu.Lock()
	for _, m := range ms {
		delete(hb.live, m.MessageID)
	}
	hb.mu.Unlock()
}

func (hb *heartbeat) stop() {
	hb.cancel()
	<-hb.done
}

// ---- helpers ----

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 6)
	if d > 3*time.Second {
		d = 3 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d on the injected clock (or until ctx ends).
func (mv *mover) sleep(ctx context.Context, d time.Duration) error {
	return mv.deps.clock().Sleep(ctx, d)
}

// limiter is a token bucket over messages per second (nil: unlimited).
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	clk    clock.Clock
}

func newLimiter(rate float64, clk clock.Clock) *limiter {
	if rate <= 0 {
		return nil
	}
	clk = clock.Or(clk)
	return &limiter{rate: rate, tokens: min(rate, 10), last: clk.Now(), clk: clk}
}

// reserve takes n tokens and returns how long to wait before using them.
func (l *limiter) reserve(n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clk.Now()
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*l.rate, max(l.rate, 10))
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

func (l *limiter) wait(ctx context.Context, n int) error {
	if l == nil {
		return ctx.Err()
	}
	if d := l.reserve(n); d > 0 {
		return l.clk.Sleep(ctx, d)
	}
	return ctx.Err()
}

// breaker detects redriven messages returning to the DLQ: it remembers the
// ids it created (new SQS message ids, Lambda request ids) and recognises them
// in messages received from the DLQ.
type breaker struct {
	ratio      float64
	minReturns int64
	mu         sync.Mutex
	ours       map[string]bool
	open       string
}

func newBreaker(ratio float64, minReturns int) *breaker {
	return &breaker{ratio: ratio, minReturns: int64(minReturns), ours: map[string]bool{}}
}

func (b *breaker) noteSent(id string) {
	if id == "" {
		return
	}
	b.mu.Lock()
	b.ours[id] = true
	b.mu.Unlock()
}

func (b *breaker) isReturn(m *Message) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ours) == 0 {
		return false
	}
	if b.ours[m.MessageID] {
		return true
	}
	if v, ok := m.MessageAttributes["RequestID"]; ok && b.ours[aws.ToString(v.StringValue)] {
		return true
	}
	if strings.Contains(m.Body, "requestContext") {
		if rec, ok := asLambdaRecord(m.Body); ok && b.ours[rec.RequestContext.RequestID] {
			return true
		}
	}
	return false
}

// check returns why the breaker opened ("" while closed).
func (b *breaker) check(moved, returned int64) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != "" {
		return b.open
	}
	if b.ratio < 0 || returned < b.minReturns || moved == 0 {
		return ""
	}
	if float64(returned) >= b.ratio*float64(moved) {
		b.open = fmt.Sprintf("%d of %d redriven messages came back to the DLQ (threshold %.0f%%): the consumer is still failing", returned, moved, b.ratio*100)
	}
	return b.open
}

// checkGrowth is check for the depth sensor, with its own explanation.
func (b *breaker) checkGrowth(moved, grew int64) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != "" {
		return b.open
	}
	if b.ratio < 0 || grew < b.minReturns || float64(grew) < b.ratio*float64(moved) {
		return ""
	}
	b.open = fmt.Sprintf("the DLQ grew by %d messages above its starting depth while %d were moved out: failures arrive faster than the redrive drains them (the consumer is still failing)", grew, moved)
	return b.open
}

func (b *breaker) state() (string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != "" {
		return "open", b.open
	}
	return "closed", ""
}
