// Package emutest is the test kit of opsctl's AWS emulations: assertions on
// the errors real SDK clients return (AWS error code, message, HTTP status),
// golden files with -update, assertions on the endpoint's call log, and
// shorthands for injecting faults. Every emulation's conformance test uses it
// instead of its own copy.
//
//	srv := localawstest.Start(t, localaws.Options{})
//	c := lambda.NewFromConfig(localawstest.Config(srv, 1))
//	_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
//	emutest.WantHTTP(t, err, "ResourceNotFoundException", 404)
//
//	emutest.Throttle(srv, "lambda", "Invoke", 2)
//	... // the SDK retries twice, then succeeds
//	emutest.WantCalls(t, srv, "lambda", "Invoke", emutest.Calls{Faulted: 2, OK: 1})
package emutest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/opsctl/opsctl/internal/localaws"
)

// ---- errors ----

// Code returns the AWS error code of err ("" when err is not an AWS API
// error, for example nil).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Status returns the HTTP status of the response that produced err (0 when
// there was none).
func Status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// WantCode fails t unless err is an AWS API error with code and a message
// containing msg ("" accepts any message).
func WantCode(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want AWS error %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// WantHTTP fails t unless err is an AWS API error with code answered with
// HTTP status (0 accepts any status).
func WantHTTP(t testing.TB, err error, code string, status int) {
	t.Helper()
	if c := Code(err); c != code {
		t.Fatalf("err = %v, want AWS error %s", err, code)
	}
	if s := Status(err); status != 0 && s != status {
		t.Fatalf("err = %v: HTTP %d, want %d for %s", err, s, status, code)
	}
}

// Must returns v, or panics with err: for calls that must succeed in a test
// (the panic's stack names the line), as in must(c.GetLogEvents(ctx, in)).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

// ---- golden files ----

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with what the tests produce")

// Golden compares got with testdata/name, or writes it there when the test
// runs with -update. Use golden files only for documents opsctl generates.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the test produced (run with -update after checking the change)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// ---- the call log ----

// Calls counts recorded calls of one operation: OK (answered 2xx by the
// emulation), Faulted (answered by an injected fault) and Failed (answered
// with an error by the emulation).
type Calls struct {
	OK, Faulted, Failed int
}

// Total is every call counted.
func (c Calls) Total() int { return c.OK + c.Faulted + c.Failed }

// CountCalls counts the calls of service's operation op recorded by srv
// ("" matches any service or operation).
func CountCalls(srv *localaws.Server, service, op string) Calls {
	var n Calls
	for _, c := range srv.Calls() {
		if (service != "" && c.Service != service) || (op != "" && c.Operation != op) {
			continue
		}
		switch {
		case c.Faulted:
			n.Faulted++
		case c.Status >= 200 && c.Status < 300:
			n.OK++
		default:
			n.Failed++
		}
	}
	return n
}

// WantCalls fails t unless the calls of service's operation op are want.
func WantCalls(t testing.TB, srv *localaws.Server, service, op string, want Calls) {
	t.Helper()
	if got := CountCalls(srv, service, op); got != want {
		t.Fatalf("%s %s calls: %+v, want %+v\nall calls: %+v", service, op, got, want, srv.Calls())
	}
}

// Ops returns the operation names of service's recorded calls, in order
// ("" for every service).
func Ops(srv *localaws.Server, service string) []string {
	var out []string
	for _, c := range srv.Calls() {
		if service == "" || c.Service == service {
			out = append(out, c.Operation)
		}
	}
	return out
}

// WantOps fails t unless every operation in ops was called on service.
func WantOps(t testing.TB, srv *localaws.Server, service string, ops ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, op := range Ops(srv, service) {
		seen[op] = true
	}
	for _, op := range ops {
		if !seen[op] {
			t.Errorf("operation %s of %s not recorded; recorded: %v", op, service, Ops(srv, service))
		}
	}
}

// WantNoWrites fails t if any state-changing call (localaws.IsWrite) was
// recorded for service ("" for every service): a re-run with nothing to
// change must not write.
func WantNoWrites(t testing.TB, srv *localaws.Server, service string) {
	t.Helper()
	for _, c := range srv.WriteCalls() {
		if service == "" || c.Service == service {
			t.Fatalf("unexpected write %s %s; writes: %+v", c.Service, c.Operation, srv.WriteCalls())
		}
	}
}

// ---- faults ----

// Times for a fault that stays until ClearFaults.
const Always = -1

// Throttle makes the next times calls of service's op fail with the service's
// throttling error (the SDK's standard retryer retries them).
func Throttle(srv *localaws.Server, service, op string, times int) {
	srv.InjectFault(localaws.Fault{Service: service, Operation: op, Kind: localaws.FaultThrottle, Times: times})
}

// ServerError makes the next times calls fail with HTTP 500 InternalFailure
// (retried by the SDK).
func ServerError(srv *localaws.Server, service, op string, times int) {
	srv.InjectFault(localaws.Fault{Service: service, Operation: op, Kind: localaws.Fault5xx, Times: times})
}

// Fail makes the next times calls fail with an AWS error code, HTTP status
// (0: 400) and message ("": "injected fault"); times Always makes a permanent
// failure such as AccessDenied or a resource that is gone.
func Fail(srv *localaws.Server, service, op string, times int, code string, status int, msg string) {
	srv.InjectFault(localaws.Fault{Service: service, Operation: op, Kind: localaws.FaultError, Times: times, Code: code, Status: status, Message: msg})
}
