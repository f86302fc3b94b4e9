package etl

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/athena"
	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/etl/source"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestAthenaStatementsThroughTheAPIMatchTheLocalEngine runs the Athena
// engine's statements through the real Athena and Glue SDK clients against
// the local endpoint (its Athena runs them on DuckDB over the S3 emulation):
// the state CTAS over the raw increments' table, the table CTAS plus INSERT
// batches into a version folder; the result must equal the snapshot the
// local engine published from the same S3 increments, which --glue-table
// registered. The comparison itself is an Athena query.
func TestAthenaStatementsThroughTheAPIMatchTheLocalEngine(t *testing.T) {
	duckdbDir(t)
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 3)
	s3c, gc := localawstest.S3(srv), glue.NewFromConfig(cfg)
	for _, b := range []string{"lake", "tables"} {
		emutest.Must(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
	}
	for _, batch := range sqlCases[0].batches {
		for _, o := range batch {
			putObject(t, s3c, "lake", "cdc/orders/"+o.key, []byte(strings.Join(o.recs, "\n")+"\n"))
		}
	}
	res, err := Rebuild(ctx, Deps{S3: s3c, Glue: gc}, Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Key: []string{"pk"},
		Dest: "s3://tables/orders/", PartitionBy: "country", MaxBadRecords: 10, GlueTable: "lake.orders", GlueDatabaseCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	// The raw increments' table (what RawTableDDL declares).
	emutest.Must(gc.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gluetypes.TableInput{
		Name: aws.String("orders_raw"), TableType: aws.String("EXTERNAL_TABLE"),
		PartitionKeys: []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
		StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String("s3://lake/cdc/orders/"),
			Columns:   []gluetypes.Column{{Name: aws.String("line"), Type: aws.String("string")}},
			SerdeInfo: &gluetypes.SerDeInfo{SerializationLibrary: aws.String("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")}},
	}}))
	run := athena.Runner{API: awsathena.NewFromConfig(cfg), Clock: clk, Output: "s3://tables/athena-results/"}
	spec := athena.Spec{Format: "dynamodb", Key: []string{"pk"}, Dialect: athena.Trino}
	state, err := spec.State(athena.AthenaLines("lake.orders_raw", ""), "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := run.Exec(ctx, "CREATE TABLE lake.orders_state WITH (format = 'PARQUET', external_location = 's3://tables/athena/state/') AS\n"+state)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != res.BytesRead {
		t.Fatalf("state CTAS scanned %d bytes, the increments are %d", st.Scanned, res.BytesRead)
	}
	cols := athena.Columns(manifestTypes(t, s3c, res), "country")
	table, err := spec.Table("lake.orders_state", cols)
	if err != nil {
		t.Fatal(err)
	}
	parts, _, err := run.Query(ctx, "SELECT DISTINCT country FROM ("+table+") t ORDER BY country")
	if err != nil {
		t.Fatal(err)
	}
	var values []*string
	for _, p := range parts {
		values = append(values, p[0])
	}
	stmts := athena.Batches(athena.AthenaCTAS("lake.orders_sql", "s3://tables/athena/data/", "country"), "lake.orders_sql", table, "country", values, 2)
	if len(stmts) < 2 {
		t.Fatalf("%d partitions in %d statements", len(values), len(stmts))
	}
	for _, s := range stmts {
		if _, err := run.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = `"` + c.Name + `"`
	}
	sel := strings.Join(names, ", ")
	diff, _, err := run.Query(ctx, "SELECT (SELECT count(*) FROM lake.orders_sql) AS n, "+
		"(SELECT count(*) FROM (SELECT "+sel+" FROM lake.orders_sql EXCEPT SELECT "+sel+" FROM lake.orders) a) AS only_sql, "+
		"(SELECT count(*) FROM (SELECT "+sel+" FROM lake.orders EXCEPT SELECT "+sel+" FROM lake.orders_sql) b) AS only_local")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(diff[0][0]) + "/" + aws.ToString(diff[0][1]) + "/" + aws.ToString(diff[0][2]); got != itoa64(res.LiveKeys)+"/0/0" {
		t.Fatalf("Athena engine vs local engine (rows/only sql/only local): %s, local live keys %d", got, res.LiveKeys)
	}
}

// manifestTypes returns the column types of the version res published on S3.
func manifestTypes(t *testing.T, c *s3.Client, res Result) map[string]*cdc.Type {
	t.Helper()
	loc, _ := source.ParseLocation(res.Dest)
	_, m, ok, err := snapshot.ReadCurrent(context.Background(), snapshot.NewS3Store(c, loc.Bucket, loc.Prefix))
	if err != nil || !ok || m.Version != res.Version {
		t.Fatalf("current manifest: %v %v", ok, err)
	}
	return m.ColumnTypes
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
