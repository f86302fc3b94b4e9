package redrive

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Methods of moving messages.
const (
	MethodAuto   = "auto"   // native move task when nothing needs the client, else client
	MethodNative = "native" // StartMessageMoveTask only
	MethodClient = "client" // receive → filter → archive → send → delete
)

// Options configure Redrive.
type Options struct {
	DLQ      string // queue name, URL or ARN
	To       string // target queue (name, URL or ARN); empty: each message's source
	ToLambda string // target function: re-invoke it (InvocationType Event)
	Filter   string // filter expression (see Filter)
	Limit    int    // stop after this many selected messages (0: all)
	// Rate caps messages sent per second (0: as fast as possible).
	Rate        float64
	Concurrency int    // parallel receive/send workers (client path); 0: 8
	Archive     string // FILE.jsonl or s3://bucket/prefix/: durable copy before sending
	DryRun      bool   // count and sample what would move; change nothing
	Method      string // auto (default), native or client

	// BreakerRatio opens the circuit breaker when redriven messages come back to
	// the DLQ at this fraction of those moved (0: default 0.5; negative: off),
	// once at least BreakerMinReturns (default 5) have come back.
	BreakerRatio      float64
	BreakerMinReturns int

	// Tuning; zero values take the defaults.
	VisibilityTimeout time.Duration // while a batch is held (default 60s)
	WaitTime          time.Duration // receive long-poll (default 1s)
	EmptyReceives     int           // consecutive receives with nothing new before a worker stops (default 2)
	PollInterval      time.Duration // native task polling (default 2s)
	MaxAttempts       int           // attempts per entry for send/delete (default 6)
	BatchTimeout      time.Duration // how long a batch in hand may take to finish after cancellation (default 2m)
	SampleSize        int           // dry-run samples (default 5)
}

func (o *Options) defaults() {
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Method == "" {
		o.Method = MethodAuto
	}
	if o.BreakerRatio == 0 {
		o.BreakerRatio = 0.5
	}
	if o.BreakerMinReturns == 0 {
		o.BreakerMinReturns = 5
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = 60 * time.Second
	}
	if o.WaitTime == 0 {
		o.WaitTime = time.Second
	}
	if o.EmptyReceives == 0 {
		o.EmptyReceives = 2
	}
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 6
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = 2 * time.Minute
	}
	if o.SampleSize == 0 {
		o.SampleSize = 5
	}
}

// nativeRateCap is StartMessageMoveTask's MaxNumberOfMessagesPerSecond limit.
const nativeRateCap = 500

// needsClient says why the native move task cannot do the job ("" if it can).
func (o *Options) needsClient() string {
	switch {
	case o.Filter != "":
		return "--filter"
	case o.Archive != "":
		return "--archive"
	case o.ToLambda != "":
		return "--to-lambda"
	case o.Limit > 0:
		return "--limit"
	case o.Rate > nativeRateCap:
		return "--rate above 500/s"
	case o.DryRun:
		return "--dry-run"
	}
	return ""
}

// Validate checks the options without calling AWS.
func (o *Options) Validate() error {
	if err := validQueueRef(o.DLQ); err != nil {
		return opserr.Usagef("DLQ: %v", err)
	}
	if o.To != "" {
		if err := validQueueRef(o.To); err != nil {
			return opserr.Usagef("--to: %v", err)
		}
	}
	if o.To != "" && o.To == o.DLQ {
		return opserr.Usagef("--to is the DLQ itself")
	}
	if o.To != "" && o.ToLambda != "" {
		return opserr.Usagef("--to and --to-lambda are mutually exclusive")
	}
	if o.ToLambda != "" {
		if err := validFunctionRef(o.ToLambda); err != nil {
			return opserr.Usagef("--to-lambda %v", err)
		}
	}
	if _, err := ParseFilter(o.Filter); err != nil {
		return err
	}
	if o.Limit < 0 {
		return opserr.Usagef("--limit must be 0 (all) or more, got %d", o.Limit)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return opserr.Usagef("--rate must be a positive number of messages per second")
	}
	if math.IsNaN(o.BreakerRatio) || math.IsInf(o.BreakerRatio, 0) {
		return opserr.Usagef("--breaker-ratio must be a fraction such as 0.5 (negative: off), got %v", o.BreakerRatio)
	}
	if o.Concurrency < 0 || o.Concurrency > 64 {
		return opserr.Usagef("--concurrency must be between 1 and 64, got %d", o.Concurrency)
	}
	if o.Archive != "" {
		if err := validOutputLocation(o.Archive); err != nil {
			return opserr.Usagef("--archive %v", err)
		}
	}
	switch o.Method {
	case "", MethodAuto, MethodClient:
	case MethodNative:
		if why := o.needsClient(); why != "" {
			return opserr.Usagef("--method native cannot honour %s (the native move task moves everything); use --method auto or client", why)
		}
	default:
		return opserr.Usagef("--method %q: want auto, native or client", o.Method)
	}
	if o.VisibilityTimeout < 0 || o.VisibilityTimeout > 12*time.Hour {
		return opserr.Usagef("visibility timeout must be between 0 and 12h")
	}
	return nil
}

// ParseRate parses --rate: "200", "200/s", "6000/m" → messages per second.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || n <= 0 || n > 1e7 {
		return 0, opserr.Usagef("--rate %q: want N/s (for example 200/s)", s)
	}
	switch unit {
	case "", "s", "sec":
	case "m", "min":
		n /= 60
	case "h":
		n /= 3600
	default:
		return 0, opserr.Usagef("--rate %q: unit must be /s, /m or /h", s)
	}
	return n, nil
}

// functionRefRE is Lambda Invoke's FunctionName (botocore lambda
// service-2.json NamespacedFunctionName, anchored): a name, a partial ARN or
// an ARN, each with an optional version or alias.
var functionRefRE = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:|(((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?))(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)

// validFunctionRef checks a function name or ARN without calling AWS.
func validFunctionRef(ref string) error {
	m := functionRefRE.FindStringSubmatch(ref)
	switch {
	case len(ref) > 256 || m == nil:
		return fmt.Errorf("%q: want a function name, a function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or either with :VERSION or :ALIAS", ref)
	case !strings.HasPrefix(ref, "arn:") && !strings.Contains(ref, ":function:") && len(m[17]) > 64:
		return fmt.Errorf("%q: a function name is at most 64 characters", ref)
	}
	return nil
}

// validOutputLocation checks a local file or S3 location opsctl will write
// to: a local path must not be a directory, and its directory must exist.
func validOutputLocation(s string) error {
	loc, err := ParseLocation(s)
	if err != nil {
		return err
	}
	if loc.IsS3() {
		return nil
	}
	if fi, err := os.Stat(loc.Path); err == nil && fi.IsDir() {
		return fmt.Errorf("%q is a directory: want a FILE.jsonl (for example %s)", loc.Path, filepath.Join(loc.Path, "dlq.jsonl"))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%q: %v", loc.Path, err)
	}
	dir := filepath.Dir(loc.Path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%q: directory %s does not exist", loc.Path, dir)
	}
	return nil
}
