package etl

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

type glueEnv struct {
	srv  *localaws.Server
	s3   *s3.Client
	glue *glue.Client
	deps Deps
}

func startGlue(t *testing.T) *glueEnv {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	e := &glueEnv{srv: srv, s3: localawstest.S3(srv), glue: glue.NewFromConfig(localawstest.Config(srv, 3))}
	for _, b := range []string{"lake", "tables"} {
		emutest.Must(e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}))
	}
	e.deps = Deps{S3: e.s3, Glue: e.glue}
	return e
}

func (e *glueEnv) table(t *testing.T, db, name string) *glue.GetTableOutput {
	t.Helper()
	return emutest.Must(e.glue.GetTable(context.Background(), &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(name)}))
}

func orderImg(pk, country string, qty int64, price string) string {
	return `{"pk":{"S":"` + pk + `"},"country":{"S":"` + country + `"},"qty":{"N":"` + strconv.FormatInt(qty, 10) + `"},"price":{"N":"` + price + `"},"paid":{"BOOL":true}}`
}

// TestGlueTableFollowsEachVersion: the first run creates the database (with
// --glue-database-create) and the table; each later run re-points it at the
// new version with one conditional UpdateTable and archives no table
// version; a run with nothing new makes no Glue write.
func TestGlueTableFollowsEachVersion(t *testing.T) {
	e := startGlue(t)
	ctx := context.Background()
	putObject(t, e.s3, "lake", "cdc/orders/2026/11/24/13/a", []byte(
		ddbEv("1", "INSERT", 1000, "a", orderImg("a", "DE", 1, "9.99"))+ddbEv("2", "INSERT", 1001, "b", orderImg("b", "FR", 2, "5"))))
	opts := Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Dest: "s3://tables/orders/", PartitionBy: "country",
		GlueTable: "Lake.Orders", GlueDatabaseCreate: true}
	res, err := Rebuild(ctx, e.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	emutest.WantOps(t, e.srv, "glue", "GetDatabase", "CreateDatabase", "CreateTable")
	tb := e.table(t, "lake", "orders").Table
	sd := tb.StorageDescriptor
	// Athena's Parquet SerDe (Athena user guide, "Parquet SerDe").
	if aws.ToString(sd.Location) != res.DataPath || aws.ToString(sd.SerdeInfo.SerializationLibrary) != "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" ||
		aws.ToString(sd.InputFormat) != "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat" || aws.ToString(tb.TableType) != "EXTERNAL_TABLE" {
		t.Fatalf("table = %+v, sd = %+v", tb, sd)
	}
	// The partition column is a partition key, not a data column; price
	// has a fraction, so it is an exact decimal (RULES.md, Types).
	if got := glueColumns(sd.Columns); got != "paid boolean, pk string, price decimal(38,2), qty bigint" {
		t.Fatalf("columns = %s", got)
	}
	if got := glueColumns(tb.PartitionKeys); got != "country string" {
		t.Fatalf("partition keys = %s", got)
	}
	// Partition projection (Athena user guide, "Partition projection"):
	// enum of the folders and the folder template.
	p := tb.Parameters
	if p["projection.enabled"] != "true" || p["projection.country.type"] != "enum" || p["projection.country.values"] != "DE,FR" ||
		p["storage.location.template"] != res.DataPath+"country=${country}/" || p["classification"] != "parquet" || p["opsctl.version"] != res.Version {
		t.Fatalf("parameters = %v", p)
	}

	putObject(t, e.s3, "lake", "cdc/orders/2026/11/24/14/b", []byte(ddbEv("3", "INSERT", 2000, "c", orderImg("c", "US", 3, "1"))))
	e.srv.ResetCalls()
	res2, err := Rebuild(ctx, e.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	emutest.WantOps(t, e.srv, "glue", "GetDatabase", "GetTable", "UpdateTable")
	tb = e.table(t, "lake", "orders").Table
	if aws.ToString(tb.StorageDescriptor.Location) != res2.DataPath || res2.DataPath == res.DataPath || aws.ToString(tb.VersionId) != "1" ||
		tb.Parameters["projection.country.values"] != "DE,FR,US" {
		t.Fatalf("after run 2: %+v %v", tb.StorageDescriptor, tb.Parameters)
	}
	// SkipArchive: only the current definition is listed.
	vs := emutest.Must(e.glue.GetTableVersions(ctx, &glue.GetTableVersionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("orders")}))
	if len(vs.TableVersions) != 1 {
		t.Fatalf("table versions piled up: %d", len(vs.TableVersions))
	}

	e.srv.ResetCalls()
	res3, err := Rebuild(ctx, e.deps, opts)
	if err != nil || !res3.UpToDate {
		t.Fatalf("re-run: %+v %v", res3, err)
	}
	emutest.WantNoWrites(t, e.srv, "glue")
	if len(res3.Glue) != 2 || res3.Glue[1].Status != "unchanged" {
		t.Fatalf("re-run glue plan: %+v", res3.Glue)
	}
}

// TestGlueConflictLosesWithoutBreakingTheTable: when another writer updated
// the table after this run read it, Glue answers the conditional update with
// ConcurrentModificationException; the run fails with ErrGlueConflict (exit
// 1), the table stays as it was, and the next run (nothing new to read)
// re-points it.
func TestGlueConflictLosesWithoutBreakingTheTable(t *testing.T) {
	e := startGlue(t)
	ctx := context.Background()
	putObject(t, e.s3, "lake", "cdc/o/1", []byte(ddbEv("1", "INSERT", 1000, "a", ddbImg("a", 1))))
	opts := Options{Source: "s3://lake/cdc/o/", Format: "dynamodb", Dest: "s3://tables/o/", GlueTable: "lake.o", GlueDatabaseCreate: true}
	first, err := Rebuild(ctx, e.deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, e.s3, "lake", "cdc/o/2", []byte(ddbEv("2", "INSERT", 2000, "b", ddbImg("b", 2))))
	// botocore glue UpdateTable errors: ConcurrentModificationException.
	emutest.Fail(e.srv, "glue", "UpdateTable", 1, "ConcurrentModificationException", 400, "Update table failed due to concurrent modifications.")
	second, err := Rebuild(ctx, e.deps, opts)
	if !errors.Is(err, ErrGlueConflict) || opserr.ExitCode(err) != 1 {
		t.Fatalf("err = %v (exit %d)", err, opserr.ExitCode(err))
	}
	if got := aws.ToString(e.table(t, "lake", "o").Table.StorageDescriptor.Location); got != first.DataPath {
		t.Fatalf("table moved to %s after losing", got)
	}
	if len(second.Glue) != 2 || second.Glue[1].Status != "failed" {
		t.Fatalf("report: %+v", second.Glue)
	}
	third, err := Rebuild(ctx, e.deps, opts)
	if err != nil || !third.UpToDate {
		t.Fatalf("reconcile run: %+v %v", third, err)
	}
	if got := aws.ToString(e.table(t, "lake", "o").Table.StorageDescriptor.Location); got != second.DataPath {
		t.Fatalf("not reconciled: %s, want %s", got, second.DataPath)
	}
}

// TestGlueRefusals: a missing database without --glue-database-create, a
// table opsctl did not make, and a permanent AccessDenied all fail the run
// and leave the catalog as it was.
func TestGlueRefusals(t *testing.T) {
	e := startGlue(t)
	ctx := context.Background()
	putObject(t, e.s3, "lake", "cdc/o/1", []byte(ddbEv("1", "INSERT", 1000, "a", ddbImg("a", 1))))
	opts := Options{Source: "s3://lake/cdc/o/", Format: "dynamodb", Dest: "s3://tables/o/", GlueTable: "lake.o"}
	_, err := Rebuild(ctx, e.deps, opts)
	if err == nil || !strings.Contains(err.Error(), "glue database lake does not exist") {
		t.Fatalf("missing database: %v", err)
	}
	emutest.WantNoWrites(t, e.srv, "glue")

	emutest.Must(e.glue.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("lake")}}))
	emutest.Must(e.glue.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: &gluetypes.TableInput{Name: aws.String("o"), StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String("s3://elsewhere/o/")}}}))
	e.srv.ResetCalls()
	_, err = Rebuild(ctx, e.deps, opts)
	if err == nil || !strings.Contains(err.Error(), "refusing to re-point it") {
		t.Fatalf("foreign table: %v", err)
	}
	emutest.WantNoWrites(t, e.srv, "glue")

	emutest.Fail(e.srv, "glue", "GetDatabase", emutest.Always, "AccessDeniedException", 403, "not authorized to perform: glue:GetDatabase")
	_, err = Rebuild(ctx, e.deps, Options{Source: "s3://lake/cdc/o/", Format: "dynamodb", Dest: "s3://tables/o2/", GlueTable: "lake.o2"})
	if emutest.Code(err) != "AccessDeniedException" || opserr.ExitCode(err) != 1 {
		t.Fatalf("access denied: %v", err)
	}
}

func TestGlueOptionsAreCheckedBeforeAnyCall(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		msg  string
	}{
		{"no dot", Options{GlueTable: "orders"}, "want DATABASE.TABLE"},
		{"two dots", Options{GlueTable: "a.b.c"}, "want DATABASE.TABLE"},
		{"empty table", Options{GlueTable: "lake."}, "letters, digits and underscores"},
		{"hyphen (Athena names)", Options{GlueTable: "my-lake.orders"}, "letters, digits and underscores"},
		{"name over 255", Options{GlueTable: "lake." + strings.Repeat("t", 256)}, "1-255"},
		{"local destination", Options{GlueTable: "lake.orders", Dest: "/tmp/x"}, "needs an s3:// --dest"},
		{"create without a table", Options{GlueDatabaseCreate: true}, "--glue-database-create needs --glue-table"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Source, o.Format = "s3://lake/cdc/", "dynamodb"
			if o.Dest == "" {
				o.Dest = "s3://tables/t/"
			}
			_, err := Rebuild(context.Background(), Deps{}, o) // no clients: nothing may be called
			if opserr.ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (exit %d), want usage error with %q", err, opserr.ExitCode(err), tc.msg)
			}
		})
	}
	if db, tb, err := ParseGlueTable("Lake.Orders_2"); err != nil || db != "lake" || tb != "orders_2" {
		t.Fatalf("parse = %s %s %v", db, tb, err)
	}
}

// TestHiveTypes: the Glue/Athena type of every snapshot type (Athena user
// guide, "Data types in Amazon Athena").
func TestHiveTypes(t *testing.T) {
	cases := []struct {
		t    *cdc.Type
		want string
	}{
		{&cdc.Type{Kind: cdc.KindBool}, "boolean"},
		{&cdc.Type{Kind: cdc.KindInt, Bits: 8}, "tinyint"},
		{&cdc.Type{Kind: cdc.KindInt, Bits: 16}, "smallint"},
		{&cdc.Type{Kind: cdc.KindInt, Bits: 32}, "int"},
		{&cdc.Type{Kind: cdc.KindInt}, "bigint"},
		{&cdc.Type{Kind: cdc.KindDouble}, "double"},
		{&cdc.Type{Kind: cdc.KindString}, "string"},
		{&cdc.Type{Kind: cdc.KindBinary}, "binary"},
		{&cdc.Type{Kind: cdc.KindDate}, "date"},
		{&cdc.Type{Kind: cdc.KindTimestamp, UTC: true}, "timestamp"},
		{&cdc.Type{Kind: cdc.KindTime}, "bigint"},
		{&cdc.Type{Kind: cdc.KindDecimal, Prec: 10, Scale: 2}, "decimal(10,2)"},
		{&cdc.Type{Kind: cdc.KindDecimal, Scale: 4}, "decimal(38,4)"},
		{&cdc.Type{Kind: cdc.KindList, Elem: &cdc.Type{Kind: cdc.KindString}}, "array<string>"},
		{&cdc.Type{Kind: cdc.KindStruct, Fields: map[string]*cdc.Type{"b": {Kind: cdc.KindInt, Bits: 32}, "a": {Kind: cdc.KindList, Elem: &cdc.Type{Kind: cdc.KindDouble}}}},
			"struct<a:array<double>,b:int>"},
	}
	for _, tc := range cases {
		if got := HiveType(tc.t); got != tc.want {
			t.Errorf("HiveType(%+v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}
