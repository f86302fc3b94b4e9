package etl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/athena"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

type athenaEnv struct {
	srv  *localaws.Server
	s3   *s3.Client
	deps Deps
	run  athena.Runner
}

func startAthena(t *testing.T) *athenaEnv {
	t.Helper()
	duckdbDir(t)
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 3)
	e := &athenaEnv{srv: srv, s3: localawstest.S3(srv)}
	for _, b := range []string{"lake", "tables"} {
		emutest.Must(e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}))
	}
	a := awsathena.NewFromConfig(cfg)
	e.deps = Deps{S3: e.s3, Glue: glue.NewFromConfig(cfg), Athena: a, Clock: clk, Now: clk.Now}
	e.run = athena.Runner{API: a, Clock: clk, Output: "s3://tables/check/"}
	return e
}

// same requires the two Glue tables to hold the same rows (an Athena query).
func (e *athenaEnv) same(t *testing.T, a, b string, cols []string, want int64) {
	t.Helper()
	sel := `"` + strings.Join(cols, `", "`) + `"`
	rows, _, err := e.run.Query(context.Background(), "SELECT (SELECT count(*) FROM "+a+") AS n, "+
		"(SELECT count(*) FROM (SELECT "+sel+" FROM "+a+" EXCEPT SELECT "+sel+" FROM "+b+") x) AS only_a, "+
		"(SELECT count(*) FROM (SELECT "+sel+" FROM "+b+" EXCEPT SELECT "+sel+" FROM "+a+") y) AS only_b")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(rows[0][0]) + "/" + aws.ToString(rows[0][1]) + "/" + aws.ToString(rows[0][2]); got != itoa64(want)+"/0/0" {
		t.Fatalf("%s vs %s (rows/only a/only b) = %s, want %d/0/0", a, b, got, want)
	}
}

// TestEngineAthenaEqualsTheLocalEngine: a snapshot started by the local
// engine is continued by --engine athena (a full read, then an incremental
// run from the Athena state); after each run the Glue table shows exactly
// the rows the local engine computes from the same increments.
func TestEngineAthenaEqualsTheLocalEngine(t *testing.T) {
	e := startAthena(t)
	ctx := context.Background()
	cs := sqlCases[1]
	put := func(batch []object) {
		for _, o := range batch {
			putObject(t, e.s3, "lake", "cdc/orders/"+o.key, []byte(strings.Join(o.recs, "\n")+"\n"))
		}
	}
	base := Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Key: []string{"pk"}, PartitionBy: "country", GlueDatabaseCreate: true}
	local := base
	local.Dest, local.GlueTable = "s3://tables/local/", "lake.orders_local"
	viaAthena := base
	viaAthena.Dest, viaAthena.GlueTable = "s3://tables/orders/", "lake.orders"

	put(cs.batches[0])
	emutest.Must(Rebuild(ctx, e.deps, viaAthena)) // the local engine starts the snapshot
	cols := []string{"pk", "paid", "price", "qty", "note", "country"}
	for i, batch := range cs.batches[1:] {
		put(batch)
		want := emutest.Must(Rebuild(ctx, e.deps, local))
		dry := viaAthena
		dry.Engine, dry.DryRun = "athena", true
		e.srv.ResetCalls()
		plan := emutest.Must(Rebuild(ctx, e.deps, dry))
		emutest.WantNoWrites(t, e.srv, "")
		if len(plan.SQL) != 3 || plan.EstimatedScanBytes <= 0 || len(plan.AthenaDeviations) == 0 || !strings.Contains(plan.SQL[1], "row_number() OVER") {
			t.Fatalf("dry run %d: %+v", i, plan)
		}
		run := viaAthena
		run.Engine = "athena"
		got, err := Rebuild(ctx, e.deps, run)
		if err != nil {
			t.Fatalf("athena run %d: %v", i, err)
		}
		if got.Engine != "athena" || got.LiveKeys != want.LiveKeys || got.BytesRead <= 0 || got.Version == "" || len(got.Glue) != 2 || got.Glue[1].Status != "applied" {
			t.Fatalf("athena run %d report: %+v (local %d live)", i, got, want.LiveKeys)
		}
		if i == 1 && got.BytesRead >= plan.EstimatedScanBytes*10 {
			t.Fatalf("the incremental run scanned %d bytes", got.BytesRead)
		}
		e.same(t, "lake.orders", "lake.orders_local", cols, want.LiveKeys)
	}
	// The local engine refuses to continue from an Athena state.
	_, err := Rebuild(ctx, e.deps, viaAthena)
	if err == nil || !strings.Contains(err.Error(), "--engine athena") {
		t.Fatalf("local after athena: %v", err)
	}
}

func TestEngineAthenaOptionsAreCheckedBeforeAnyCall(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		msg  string
	}{
		{Options{Engine: "spark"}, "must be local or athena"},
		{Options{Engine: "athena", Key: []string{"pk"}}, "needs --glue-table"},
		{Options{Engine: "athena", GlueTable: "lake.t"}, "needs --key"},
		{Options{Engine: "athena", GlueTable: "lake.t", Key: []string{"pk"}, Workgroup: "bad name"}, "--workgroup"},
		{Options{Engine: "athena", GlueTable: "lake.t", Key: []string{"pk"}, AthenaOutput: "/tmp/x"}, "--athena-output"},
		{Options{Workgroup: "wg"}, "need --engine athena"},
	} {
		o := tc.opts
		o.Source, o.Format, o.Dest = "s3://lake/cdc/", "dynamodb", "s3://tables/t/"
		_, err := Rebuild(context.Background(), Deps{}, o)
		if opserr.ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v (exit %d), want usage error with %q", tc.opts, err, opserr.ExitCode(err), tc.msg)
		}
	}
}
