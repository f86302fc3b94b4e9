package emutest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// recorder is a testing.TB whose Fatalf/Errorf are recorded instead of
// stopping the test, so the kit's own failures can be checked.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

type stop struct{}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	panic(stop{})
}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

// fails reports whether f failed the TB it was given.
func fails(t *testing.T, f func(tb testing.TB)) bool {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(stop); !ok {
					panic(p)
				}
			}
		}()
		f(r)
	}()
	return r.failed
}

func TestErrorAssertionsReadTheSDKsError(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	c := cwl.NewFromConfig(localawstest.Config(srv, 1))
	ctx := context.Background()
	in := &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}
	emutest.Must(c.CreateLogGroup(ctx, in))
	_, err := c.CreateLogGroup(ctx, in)

	// botocore logs: ResourceAlreadyExistsException, a client error (HTTP 400).
	if emutest.Code(err) != "ResourceAlreadyExistsException" || emutest.Status(err) != 400 {
		t.Fatalf("Code/Status = %q/%d", emutest.Code(err), emutest.Status(err))
	}
	if emutest.Code(nil) != "" || emutest.Code(errors.New("plain")) != "" || emutest.Status(nil) != 0 {
		t.Fatal("non-AWS errors have no code or status")
	}
	cases := []struct {
		name string
		f    func(tb testing.TB)
		fail bool
	}{
		{"code and message match", func(tb testing.TB) { emutest.WantCode(tb, err, "ResourceAlreadyExistsException", "already exists") }, false},
		{"other code", func(tb testing.TB) { emutest.WantCode(tb, err, "ResourceNotFoundException", "") }, true},
		{"other message", func(tb testing.TB) { emutest.WantCode(tb, err, "ResourceAlreadyExistsException", "gone") }, true},
		{"nil error", func(tb testing.TB) { emutest.WantCode(tb, nil, "ResourceAlreadyExistsException", "") }, true},
		{"code and status match", func(tb testing.TB) { emutest.WantHTTP(tb, err, "ResourceAlreadyExistsException", 400) }, false},
		{"other status", func(tb testing.TB) { emutest.WantHTTP(tb, err, "ResourceAlreadyExistsException", 409) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fails(t, tc.f); got != tc.fail {
				t.Fatalf("failed = %v, want %v", got, tc.fail)
			}
		})
	}
}

func TestMustPanicsOnError(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Must did not panic")
		}
	}()
	emutest.Must(0, errors.New("boom"))
}

func TestCallLogAndFaultShorthands(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	retrying := cwl.NewFromConfig(localawstest.Config(srv, 5))
	once := cwl.NewFromConfig(localawstest.Config(srv, 1))

	emutest.Throttle(srv, "logs", "CreateLogGroup", 1)
	emutest.ServerError(srv, "logs", "CreateLogGroup", 1)
	emutest.Must(retrying.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}))
	emutest.WantCalls(t, srv, "logs", "CreateLogGroup", emutest.Calls{Faulted: 2, OK: 1})

	// A permanent failure stays until cleared.
	emutest.Fail(srv, "logs", "DescribeLogGroups", emutest.Always, "AccessDeniedException", 403, "no")
	for range 2 {
		_, err := once.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
		emutest.WantHTTP(t, err, "AccessDeniedException", 403)
	}
	srv.ClearFaults()
	emutest.Must(once.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	_, err := once.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	emutest.WantCode(t, err, "ResourceAlreadyExistsException", "")

	if got := emutest.CountCalls(srv, "logs", "DescribeLogGroups"); got != (emutest.Calls{Faulted: 2, OK: 1}) || got.Total() != 3 {
		t.Fatalf("DescribeLogGroups calls %+v", got)
	}
	if got := emutest.CountCalls(srv, "logs", "CreateLogGroup"); got != (emutest.Calls{Faulted: 2, OK: 1, Failed: 1}) {
		t.Fatalf("CreateLogGroup calls %+v", got)
	}
	emutest.WantOps(t, srv, "logs", "CreateLogGroup", "DescribeLogGroups")
	if !fails(t, func(tb testing.TB) { emutest.WantOps(tb, srv, "logs", "DeleteLogGroup") }) {
		t.Fatal("WantOps accepted an operation never called")
	}
	if !fails(t, func(tb testing.TB) { emutest.WantNoWrites(tb, srv, "logs") }) {
		t.Fatal("WantNoWrites missed CreateLogGroup")
	}
	srv.ResetCalls()
	emutest.Must(once.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	emutest.WantNoWrites(t, srv, "")
	if ops := emutest.Ops(srv, ""); len(ops) != 1 || ops[0] != "DescribeLogGroups" {
		t.Fatalf("Ops = %v", ops)
	}
}

func TestGoldenComparesWithTestdata(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "doc.json"), []byte(`{"a":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fails(t, func(tb testing.TB) { emutest.Golden(tb, "doc.json", []byte(`{"a":1}`+"\n")) }) {
		t.Fatal("equal document rejected")
	}
	if !fails(t, func(tb testing.TB) { emutest.Golden(tb, "doc.json", []byte(`{"a":2}`+"\n")) }) {
		t.Fatal("different document accepted")
	}
	if !fails(t, func(tb testing.TB) { emutest.Golden(tb, "missing.json", nil) }) {
		t.Fatal("missing golden file accepted")
	}
}
