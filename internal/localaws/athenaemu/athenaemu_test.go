package athenaemu_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	atypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gtypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

type env struct {
	srv *localaws.Server
	clk *clock.Fake
	a   *athena.Client
	g   *glue.Client
	s3  *s3.Client
}

// needDuckDB skips (fails under CI) without node and @duckdb/node-api.
func needDuckDB(t *testing.T) {
	dir, err := localaws.FindEmulatorsDir()
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"))
	}
	if _, nerr := exec.LookPath("node"); err == nil {
		err = nerr
	}
	if err != nil {
		if localawstest.InCI() {
			t.Fatalf("under CI DuckDB must be installed: %v", err)
		}
		t.Skipf("DuckDB not installed: %v", err)
	}
}

func start(t *testing.T) *env {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 3)
	e := &env{srv: srv, clk: clk, a: athena.NewFromConfig(cfg), g: glue.NewFromConfig(cfg), s3: localawstest.S3(srv)}
	emutest.Must(e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}))
	emutest.Must(e.g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gtypes.DatabaseInput{Name: aws.String("lake")}}))
	return e
}

func (e *env) put(t *testing.T, key, body string) {
	t.Helper()
	emutest.Must(e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(key), Body: strings.NewReader(body)}))
}

// rawTable is a text table of lines over Firehose hour folders.
func (e *env) rawTable(t *testing.T) {
	emutest.Must(e.g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gtypes.TableInput{
		Name: aws.String("raw"), TableType: aws.String("EXTERNAL_TABLE"),
		PartitionKeys: []gtypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
		StorageDescriptor: &gtypes.StorageDescriptor{Location: aws.String("s3://lake/raw/"),
			Columns:   []gtypes.Column{{Name: aws.String("line"), Type: aws.String("string")}},
			SerdeInfo: &gtypes.SerDeInfo{SerializationLibrary: aws.String("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")}},
	}}))
}

func (e *env) startQuery(t *testing.T, sql string) string {
	t.Helper()
	out := emutest.Must(e.a.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String(sql),
		ResultConfiguration: &atypes.ResultConfiguration{OutputLocation: aws.String("s3://lake/results/")}}))
	return aws.ToString(out.QueryExecutionId)
}

func (e *env) state(t *testing.T, id string) *atypes.QueryExecution {
	t.Helper()
	return emutest.Must(e.a.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})).QueryExecution
}

// TestQueryGoesQueuedRunningSucceededAndReadsS3 runs a query of the SQL the
// Athena engine generates (Trino JSON functions and paths, "$path", the hour
// partition) over objects in the S3 emulation.
func TestQueryGoesQueuedRunningSucceededAndReadsS3(t *testing.T) {
	needDuckDB(t)
	e := start(t)
	e.rawTable(t)
	a := `{"id":"a","n":{"v":1}}` + "\n" + `{"id":"b","n":{"v":2}}` + "\n"
	b := `{"id":"c","n":null}` + "\n"
	e.put(t, "raw/2026/11/24/13/a", a)
	e.put(t, "raw/2026/11/24/14/b", b)
	e.put(t, "raw/_SUCCESS", "") // names starting with _ are not data (Athena)
	id := e.startQuery(t, `SELECT json_extract_scalar(line, '$["id"]') AS id, json_format(json_extract(line, '$["n"]')) AS n, "$path" AS src, dt FROM lake.raw ORDER BY id`)
	// botocore athena QueryExecutionState: QUEUED → RUNNING → SUCCEEDED.
	if s := e.state(t, id); s.Status.State != atypes.QueryExecutionStateQueued || !s.Status.SubmissionDateTime.Equal(e.clk.Now()) {
		t.Fatalf("at submission: %+v", s.Status)
	}
	_, err := e.a.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	emutest.WantCode(t, err, "InvalidRequestException", "Query has not yet finished. Current state: QUEUED")
	e.clk.Advance(time.Second)
	if s := e.state(t, id); s.Status.State != atypes.QueryExecutionStateRunning {
		t.Fatalf("after 1s: %s", s.Status.State)
	}
	e.clk.Advance(time.Second)
	s := e.state(t, id)
	if s.Status.State != atypes.QueryExecutionStateSucceeded || s.Status.CompletionDateTime == nil ||
		aws.ToInt64(s.Statistics.DataScannedInBytes) != int64(len(a)+len(b)) || aws.ToString(s.ResultConfiguration.OutputLocation) != "s3://lake/results/"+id+".csv" {
		t.Fatalf("after 2s: %+v %+v reason %s", s.Status, s.Statistics, aws.ToString(s.Status.StateChangeReason))
	}
	// Results: the header row first, NULL as a datum without a value; paged.
	var got []string
	p := athena.NewGetQueryResultsPaginator(e.a, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page := emutest.Must(p.NextPage(ctx))
		pages++
		for _, r := range page.ResultSet.Rows {
			var f []string
			for _, d := range r.Data {
				if d.VarCharValue == nil {
					f = append(f, "NULL")
				} else {
					f = append(f, *d.VarCharValue)
				}
			}
			got = append(got, strings.Join(f, "|"))
		}
		if ci := page.ResultSet.ResultSetMetadata.ColumnInfo; len(ci) != 4 || aws.ToString(ci[0].Type) != "varchar" {
			t.Fatalf("column info %+v", ci)
		}
	}
	want := "id|n|src|dt;" +
		`a|{"v":1}|s3://lake/raw/2026/11/24/13/a|2026/11/24/13;` +
		`b|{"v":2}|s3://lake/raw/2026/11/24/13/a|2026/11/24/13;` +
		"c|null|s3://lake/raw/2026/11/24/14/b|2026/11/24/14"
	if strings.Join(got, ";") != want || pages != 2 {
		t.Fatalf("results (%d pages)\n%s\nwant\n%s", pages, strings.Join(got, ";"), want)
	}
	// A lower bound on the hour partition prunes the hours below it: only
	// the 14h object is read and billed (Athena partition projection).
	pruned := e.startQuery(t, `SELECT count(*) AS n FROM lake.raw WHERE dt >= '2026/11/24/14'`)
	e.clk.Advance(QueueAndRun)
	if s := e.state(t, pruned); aws.ToInt64(s.Statistics.DataScannedInBytes) != int64(len(b)) {
		t.Fatalf("pruned query scanned %d bytes, want %d (%s)", aws.ToInt64(s.Statistics.DataScannedInBytes), len(b), aws.ToString(s.Status.StateChangeReason))
	}
	// The results CSV is in the output location (every field quoted).
	obj := emutest.Must(e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("results/" + id + ".csv")}))
	body, _ := io.ReadAll(obj.Body)
	if !bytes.HasPrefix(body, []byte(`"id","n","src","dt"`)) {
		t.Fatalf("results csv: %s", body)
	}
	emutest.Must(e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: aws.String("results/" + id + ".csv.metadata")}))
}

func TestFailedAndCancelledQueries(t *testing.T) {
	needDuckDB(t)
	e := start(t)
	bad := e.startQuery(t, "SELECT nope FROM (SELECT 1 AS x) t")
	e.clk.Advance(QueueAndRun)
	s := e.state(t, bad)
	if s.Status.State != atypes.QueryExecutionStateFailed || s.Status.AthenaError == nil || !strings.Contains(aws.ToString(s.Status.StateChangeReason), "nope") {
		t.Fatalf("failed query: %+v", s.Status)
	}
	_, err := e.a.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(bad)})
	emutest.WantCode(t, err, "InvalidRequestException", "FAILED")

	ddl := e.startQuery(t, "DROP TABLE lake.raw")
	e.clk.Advance(QueueAndRun)
	if s := e.state(t, ddl); s.Status.State != atypes.QueryExecutionStateFailed || s.StatementType != atypes.StatementTypeDdl {
		t.Fatalf("ddl: %+v", s)
	}

	stopped := e.startQuery(t, "SELECT 1")
	emutest.Must(e.a.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(stopped)}))
	e.clk.Advance(QueueAndRun)
	if s := e.state(t, stopped); s.Status.State != atypes.QueryExecutionStateCancelled {
		t.Fatalf("stopped: %s", s.Status.State)
	}
	ok := e.startQuery(t, "SELECT CAST(1.50 AS DECIMAL(10,2)) AS price, 7 AS n")
	e.clk.Advance(QueueAndRun)
	res := emutest.Must(e.a.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(ok)}))
	ci := res.ResultSet.ResultSetMetadata.ColumnInfo
	if aws.ToString(ci[0].Type) != "decimal" || ci[0].Precision != 10 || ci[0].Scale != 2 || aws.ToString(ci[1].Type) != "integer" ||
		aws.ToString(res.ResultSet.Rows[1].Data[0].VarCharValue) != "1.50" {
		t.Fatalf("typed results: %+v %+v", ci, res.ResultSet.Rows)
	}
}

// QueueAndRun is how long a query takes on the endpoint clock.
const QueueAndRun = 2 * time.Second

// TestModelConstraintsAndErrors: each case cites its botocore athena shape.
func TestModelConstraintsAndErrors(t *testing.T) {
	e := start(t)
	cases := []struct {
		name string
		call func() error
		msg  string
	}{
		{"no output location (primary has none)", func() error {
			_, err := e.a.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1")})
			return err
		}, "No output location provided"},
		{"WorkGroupName pattern [a-zA-Z0-9._-]{1,128}", func() error {
			_, err := e.a.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("bad name")})
			return err
		}, "Member must satisfy regular expression pattern"},
		{"unknown workgroup", func() error {
			_, err := e.a.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), WorkGroup: aws.String("etl"),
				ResultConfiguration: &atypes.ResultConfiguration{OutputLocation: aws.String("s3://lake/r/")}})
			return err
		}, "WorkGroup etl is not found"},
		{"unknown query execution", func() error {
			_, err := e.a.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("nope")})
			return err
		}, "QueryExecution nope was not found"},
		{"MaxQueryResults 1-1000", func() error {
			_, err := e.a.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String("x"), MaxResults: aws.Int32(1001)})
			return err
		}, "Member must have value less than or equal to 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			emutest.WantHTTP(t, err, "InvalidRequestException", 400)
			emutest.WantCode(t, err, "InvalidRequestException", tc.msg)
			var ir *atypes.InvalidRequestException
			if !errors.As(err, &ir) {
				t.Fatalf("%T is not the SDK's InvalidRequestException", err)
			}
		})
	}
	wg := emutest.Must(e.a.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("primary")}))
	if aws.ToString(wg.WorkGroup.Name) != "primary" || wg.WorkGroup.State != atypes.WorkGroupStateEnabled {
		t.Fatalf("workgroup %+v", wg.WorkGroup)
	}
	e.srv.ResetCalls()
	emutest.Throttle(e.srv, "athena", "GetWorkGroup", 2)
	emutest.Must(e.a.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("primary")}))
	emutest.WantCalls(t, e.srv, "athena", "GetWorkGroup", emutest.Calls{Faulted: 2, OK: 1})
}

// TestCreateTableAsAndInsertInto: a partitioned CTAS writes Parquet to its
// external_location and registers the table in Glue; INSERT INTO adds rows;
// a CTAS into a location that holds objects fails (HIVE_PATH_ALREADY_EXISTS).
func TestCreateTableAsAndInsertInto(t *testing.T) {
	needDuckDB(t)
	e := start(t)
	run := func(sql string) *atypes.QueryExecution {
		t.Helper()
		id := e.startQuery(t, sql)
		e.clk.Advance(QueueAndRun)
		return e.state(t, id)
	}
	s := run(`CREATE TABLE lake.t WITH (format = 'PARQUET', write_compression = 'ZSTD', external_location = 's3://lake/t/v1/', partitioned_by = ARRAY['c']) AS
SELECT * FROM (VALUES (1, 'x'), (2, 'y')) v(n, c)`)
	if s.Status.State != atypes.QueryExecutionStateSucceeded {
		t.Fatalf("ctas: %+v %s", s.Status, aws.ToString(s.Status.StateChangeReason))
	}
	tb := emutest.Must(e.g.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("t")})).Table
	if aws.ToString(tb.StorageDescriptor.Location) != "s3://lake/t/v1/" || len(tb.PartitionKeys) != 1 || aws.ToString(tb.PartitionKeys[0].Name) != "c" ||
		len(tb.StorageDescriptor.Columns) != 1 || aws.ToString(tb.StorageDescriptor.Columns[0].Type) != "int" {
		t.Fatalf("registered table: %+v %+v", tb.StorageDescriptor, tb.PartitionKeys)
	}
	if s := run(`INSERT INTO lake.t SELECT 3 AS n, 'z' AS c`); s.Status.State != atypes.QueryExecutionStateSucceeded {
		t.Fatalf("insert: %s", aws.ToString(s.Status.StateChangeReason))
	}
	id := e.startQuery(t, `SELECT c, sum(n) AS n FROM lake.t GROUP BY c ORDER BY c`)
	e.clk.Advance(QueueAndRun)
	res := emutest.Must(e.a.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)}))
	var got []string
	for _, r := range res.ResultSet.Rows[1:] {
		got = append(got, aws.ToString(r.Data[0].VarCharValue)+"="+aws.ToString(r.Data[1].VarCharValue))
	}
	if strings.Join(got, ",") != "x=1,y=2,z=3" {
		t.Fatalf("rows after insert: %v", got)
	}
	objs := emutest.Must(e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("t/v1/c=x/")}))
	if len(objs.Contents) != 1 {
		t.Fatalf("hive folder c=x: %d objects", len(objs.Contents))
	}
	if s := run(`CREATE TABLE lake.t2 WITH (external_location = 's3://lake/t/v1/') AS SELECT 1 AS n`); s.Status.State != atypes.QueryExecutionStateFailed ||
		!strings.Contains(aws.ToString(s.Status.StateChangeReason), "HIVE_PATH_ALREADY_EXISTS") {
		t.Fatalf("ctas into a used location: %+v", s.Status)
	}
}
