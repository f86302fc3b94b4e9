package glueemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

func start(t *testing.T) (*localaws.Server, *glue.Client, *clock.Fake) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	return srv, glue.NewFromConfig(localawstest.Config(srv, 3)), clk
}

func parquetTable(name, location string, cols ...string) *types.TableInput {
	sd := &types.StorageDescriptor{Location: aws.String(location),
		InputFormat:  aws.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
		OutputFormat: aws.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
		SerdeInfo:    &types.SerDeInfo{SerializationLibrary: aws.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")}}
	for i := 0; i+1 < len(cols); i += 2 {
		sd.Columns = append(sd.Columns, types.Column{Name: aws.String(cols[i]), Type: aws.String(cols[i+1])})
	}
	return &types.TableInput{Name: aws.String(name), TableType: aws.String("EXTERNAL_TABLE"), StorageDescriptor: sd,
		Parameters: map[string]string{"classification": "parquet"}}
}

func createDB(t *testing.T, c *glue.Client, name string) {
	t.Helper()
	emutest.Must(c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String(name)}}))
}

func TestDatabaseCreateGetAndAlreadyExists(t *testing.T) {
	srv, c, clk := start(t)
	createDB(t, c, "Lake")
	// DatabaseInput.Name: "For Hive compatibility, this is folded to
	// lowercase when it is stored" (botocore glue DatabaseInput).
	got := emutest.Must(c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("LAKE")}))
	if aws.ToString(got.Database.Name) != "lake" || !got.Database.CreateTime.Equal(clk.Now()) || aws.ToString(got.Database.CatalogId) != srv.Account {
		t.Fatalf("database = %+v", got.Database)
	}
	// botocore glue CreateDatabase errors: AlreadyExistsException.
	_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("lake")}})
	emutest.WantHTTP(t, err, "AlreadyExistsException", 400)
	var ae *types.AlreadyExistsException
	if !errors.As(err, &ae) {
		t.Fatalf("%T is not the SDK's AlreadyExistsException", err)
	}
	// botocore glue GetDatabase errors: EntityNotFoundException.
	_, err = c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("nope")})
	emutest.WantCode(t, err, "EntityNotFoundException", "Database nope not found")
	var nf *types.EntityNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("%T is not the SDK's EntityNotFoundException", err)
	}
}

func TestTableCreateGetDelete(t *testing.T) {
	_, c, clk := start(t)
	createDB(t, c, "lake")
	in := parquetTable("Orders", "s3://b/t/versions/v1/data/", "pk", "string", "n", "bigint")
	in.PartitionKeys = []types.Column{{Name: aws.String("country"), Type: aws.String("string")}}
	emutest.Must(c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: in}))
	got := emutest.Must(c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("orders")})).Table
	// A new table's VersionId is "0"; the name is stored in lower case.
	if aws.ToString(got.Name) != "orders" || aws.ToString(got.DatabaseName) != "lake" || aws.ToString(got.VersionId) != "0" ||
		aws.ToString(got.StorageDescriptor.Location) != "s3://b/t/versions/v1/data/" || len(got.StorageDescriptor.Columns) != 2 ||
		aws.ToString(got.StorageDescriptor.SerdeInfo.SerializationLibrary) != "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" ||
		len(got.PartitionKeys) != 1 || got.Parameters["classification"] != "parquet" || !got.CreateTime.Equal(clk.Now()) {
		t.Fatalf("table = %+v", got)
	}
	// botocore glue CreateTable errors: AlreadyExistsException,
	// EntityNotFoundException (no such database).
	_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("orders", "s3://b/x/")})
	emutest.WantCode(t, err, "AlreadyExistsException", "Table already exists")
	_, err = c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("other"), TableInput: parquetTable("orders", "s3://b/x/")})
	emutest.WantCode(t, err, "EntityNotFoundException", "Database other not found")
	// botocore glue DeleteTable; GetTable errors: EntityNotFoundException.
	emutest.Must(c.DeleteTable(ctx, &glue.DeleteTableInput{DatabaseName: aws.String("lake"), Name: aws.String("ORDERS")}))
	_, err = c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("orders")})
	emutest.WantHTTP(t, err, "EntityNotFoundException", 400)
	emutest.WantCode(t, err, "EntityNotFoundException", "Table orders not found")
	_, err = c.DeleteTable(ctx, &glue.DeleteTableInput{DatabaseName: aws.String("lake"), Name: aws.String("orders")})
	emutest.WantCode(t, err, "EntityNotFoundException", "")
}

// TestUpdateTableVersionIdIsOptimisticConcurrency: two writers read version
// "0"; the first UpdateTable naming it wins, the second fails with
// ConcurrentModificationException (botocore glue UpdateTable errors;
// UpdateTableRequest.VersionId "The version ID at which to update the table
// contents") and the table keeps the winner's definition.
func TestUpdateTableVersionIdIsOptimisticConcurrency(t *testing.T) {
	_, c, clk := start(t)
	createDB(t, c, "lake")
	emutest.Must(c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/v1/")}))
	clk.Advance(time.Minute)
	emutest.Must(c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/v2/"),
		VersionId: aws.String("0"), SkipArchive: aws.Bool(true)}))
	_, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/loser/"),
		VersionId: aws.String("0"), SkipArchive: aws.Bool(true)})
	emutest.WantHTTP(t, err, "ConcurrentModificationException", 400)
	var cm *types.ConcurrentModificationException
	if !errors.As(err, &cm) {
		t.Fatalf("%T is not the SDK's ConcurrentModificationException", err)
	}
	got := emutest.Must(c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("t")})).Table
	if aws.ToString(got.StorageDescriptor.Location) != "s3://b/v2/" || aws.ToString(got.VersionId) != "1" || !got.UpdateTime.Equal(clk.Now()) {
		t.Fatalf("after the race: %+v", got)
	}
	// Without a VersionId the update is unconditional.
	emutest.Must(c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/v3/")}))
	// botocore glue UpdateTable errors: EntityNotFoundException.
	_, err = c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("gone", "s3://b/")})
	emutest.WantCode(t, err, "EntityNotFoundException", "Table gone not found")
}

// TestTableVersionsArchiveSkipAndDelete: UpdateTable archives the replaced
// definition unless SkipArchive (botocore glue UpdateTableRequest.SkipArchive);
// GetTableVersions pages through current + archived versions; archived ones
// can be deleted, one by one or in a batch.
func TestTableVersionsArchiveSkipAndDelete(t *testing.T) {
	_, c, _ := start(t)
	createDB(t, c, "lake")
	emutest.Must(c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/v0/")}))
	for i, skip := range []bool{false, false, true, false, false} {
		emutest.Must(c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"),
			TableInput: parquetTable("t", "s3://b/v"+string(rune('1'+i))+"/"), SkipArchive: aws.Bool(skip)}))
	}
	versions := func() []string {
		var ids []string
		p := glue.NewGetTableVersionsPaginator(c, &glue.GetTableVersionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("t")})
		for p.HasMorePages() {
			page := emutest.Must(p.NextPage(ctx))
			for _, v := range page.TableVersions {
				ids = append(ids, aws.ToString(v.VersionId)+"="+aws.ToString(v.Table.StorageDescriptor.Location))
			}
		}
		return ids
	}
	// Version 2 (replaced by the skip-archive update) was never archived.
	want := "5=s3://b/v5/ 4=s3://b/v4/ 3=s3://b/v3/ 1=s3://b/v1/ 0=s3://b/v0/"
	if got := strings.Join(versions(), " "); got != want {
		t.Fatalf("versions = %s, want %s", got, want)
	}
	emutest.Must(c.DeleteTableVersion(ctx, &glue.DeleteTableVersionInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), VersionId: aws.String("0")}))
	_, err := c.DeleteTableVersion(ctx, &glue.DeleteTableVersionInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), VersionId: aws.String("0")})
	emutest.WantCode(t, err, "EntityNotFoundException", "")
	_, err = c.DeleteTableVersion(ctx, &glue.DeleteTableVersionInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), VersionId: aws.String("5")})
	emutest.WantCode(t, err, "InvalidInputException", "current version")
	out := emutest.Must(c.BatchDeleteTableVersion(ctx, &glue.BatchDeleteTableVersionInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"),
		VersionIds: []string{"1", "3", "2"}}))
	// botocore glue BatchDeleteTableVersionResponse.Errors: one TableVersionError per failed id.
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].VersionId) != "2" || aws.ToString(out.Errors[0].ErrorDetail.ErrorCode) != "EntityNotFoundException" {
		t.Fatalf("batch errors = %+v", out.Errors)
	}
	if got := strings.Join(versions(), " "); got != "5=s3://b/v5/ 4=s3://b/v4/" {
		t.Fatalf("after deletes: %s", got)
	}
	// botocore glue GetTableVersions: an unknown NextToken is refused.
	_, err = c.GetTableVersions(ctx, &glue.GetTableVersionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), NextToken: aws.String("bogus")})
	emutest.WantCode(t, err, "InvalidInputException", "")
}

// TestModelConstraints: each case cites its botocore glue shape.
func TestModelConstraints(t *testing.T) {
	_, c, _ := start(t)
	createDB(t, c, "lake")
	long := strings.Repeat("a", 256)
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"database name longer than NameString max 255", func() error {
			_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String(long)}})
			return err
		}, "ValidationException", "at 'databaseInput.name' failed to satisfy constraint: Member must have length less than or equal to 255"},
		{"database name empty (NameString min 1)", func() error {
			_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("")}})
			return err
		}, "ValidationException", "Member must have length greater than or equal to 1"},
		{"database name with a newline (NameString pattern)", func() error {
			_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("a\nb")}})
			return err
		}, "ValidationException", `Member must satisfy regular expression pattern: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*`},
		{"column comment over CommentString max 255", func() error {
			in := parquetTable("t", "s3://b/")
			in.StorageDescriptor.Columns = []types.Column{{Name: aws.String("c"), Type: aws.String("string"), Comment: aws.String(long)}}
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: in})
			return err
		}, "ValidationException", "at 'table.storageDescriptor.columns.1.member.comment'"},
		{"input format over FormatString max 128", func() error {
			in := parquetTable("t", "s3://b/")
			in.StorageDescriptor.InputFormat = aws.String(strings.Repeat("x", 129))
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: in})
			return err
		}, "ValidationException", "at 'table.storageDescriptor.inputFormat'"},
		{"table parameter key over KeyString max 255", func() error {
			in := parquetTable("t", "s3://b/")
			in.Parameters[long] = "v"
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: in})
			return err
		}, "ValidationException", "at 'table.parameters.key'"},
		{"a column named twice", func() error {
			in := parquetTable("t", "s3://b/", "a", "string", "A", "bigint")
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("lake"), TableInput: in})
			return err
		}, "InvalidInputException", "Duplicate column name"},
		{"version id over VersionString max 255", func() error {
			_, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/"), VersionId: aws.String(long)})
			return err
		}, "ValidationException", "at 'versionId'"},
		{"GetTableVersions MaxResults above CatalogGetterPageSize max 100", func() error {
			_, err := c.GetTableVersions(ctx, &glue.GetTableVersionsInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), MaxResults: aws.Int32(101)})
			return err
		}, "ValidationException", "Member must have value less than or equal to 100"},
		{"BatchDeleteTableVersion over BatchDeleteTableVersionList max 100", func() error {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = "1"
			}
			_, err := c.BatchDeleteTableVersion(ctx, &glue.BatchDeleteTableVersionInput{DatabaseName: aws.String("lake"), TableName: aws.String("t"), VersionIds: ids})
			return err
		}, "ValidationException", "Member must have length less than or equal to 100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			emutest.WantHTTP(t, err, tc.code, 400)
			emutest.WantCode(t, err, tc.code, tc.msg)
		})
	}
}

func TestFaultsRetriedAndPermanent(t *testing.T) {
	srv, c, _ := start(t)
	createDB(t, c, "lake")
	emutest.Throttle(srv, "glue", "GetDatabase", 2)
	emutest.Must(c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("lake")}))
	emutest.WantCalls(t, srv, "glue", "GetDatabase", emutest.Calls{Faulted: 2, OK: 1})
	emutest.Fail(srv, "glue", "UpdateTable", emutest.Always, "AccessDeniedException", 403, "not authorized to perform: glue:UpdateTable")
	_, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("lake"), TableInput: parquetTable("t", "s3://b/")})
	emutest.WantHTTP(t, err, "AccessDeniedException", 403)
}
