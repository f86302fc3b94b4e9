package dynamodbemu_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/dynamodbemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func readObject(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

// An export needs point-in-time recovery, is IN_PROGRESS until the endpoint's
// clock has moved on, and then holds the items in AWS's documented layout
// (DynamoDB developer guide, "DynamoDB table export output format":
// AWSDynamoDB/<ExportId>/manifest-summary.json, manifest-files.json with
// dataFileS3Key per line, data/*.json.gz of {"Item":{...}} lines).
func TestExportTableToPointInTimeWritesAWSLayoutOnTheEndpointClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	ctx := context.Background()
	c := dynamodb.NewFromConfig(localawstest.Config(srv, 1))
	s3c := localawstest.S3(srv)
	emutest.Must(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}))
	tbl := emutest.Must(c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}})).TableDescription
	for _, id := range []string{"a", "b", "c"} {
		emutest.Must(c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: id}, "n": &types.AttributeValueMemberN{Value: "7"}}}))
	}
	in := &dynamodb.ExportTableToPointInTimeInput{TableArn: tbl.TableArn, S3Bucket: aws.String("lake"), S3Prefix: aws.String("cdc/orders/backfill")}
	// botocore dynamodb ExportTableToPointInTime errors: PointInTimeRecoveryUnavailableException.
	_, err := c.ExportTableToPointInTime(ctx, in)
	var pe *types.PointInTimeRecoveryUnavailableException
	emutest.WantCode(t, err, "PointInTimeRecoveryUnavailableException", "not enabled")
	if !errors.As(err, &pe) {
		t.Fatalf("not the typed error: %T", err)
	}
	cb := emutest.Must(c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("orders")}))
	if cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusDisabled {
		t.Fatalf("PITR %+v", cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription)
	}
	emutest.Must(c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("orders"),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}))
	exp := emutest.Must(c.ExportTableToPointInTime(ctx, in)).ExportDescription
	if exp.ExportStatus != types.ExportStatusInProgress || !strings.HasPrefix(aws.ToString(exp.ExportArn), aws.ToString(tbl.TableArn)+"/export/") {
		t.Fatalf("export %+v", exp)
	}
	// A later item is not in the export (it is of the export time).
	emutest.Must(c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "late"}}}))
	clk.Advance(time.Minute)
	if d := emutest.Must(c.DescribeExport(ctx, &dynamodb.DescribeExportInput{ExportArn: exp.ExportArn})).ExportDescription; d.ExportStatus != types.ExportStatusInProgress {
		t.Fatalf("after 1 minute: %s", d.ExportStatus)
	}
	clk.Advance(dynamodbemu.ExportDuration)
	d := emutest.Must(c.DescribeExport(ctx, &dynamodb.DescribeExportInput{ExportArn: exp.ExportArn})).ExportDescription
	if d.ExportStatus != types.ExportStatusCompleted || aws.ToInt64(d.ItemCount) != 3 {
		t.Fatalf("completed export %+v", d)
	}
	exportID := aws.ToString(exp.ExportArn)[strings.LastIndex(aws.ToString(exp.ExportArn), "/")+1:]
	base := "cdc/orders/backfill/AWSDynamoDB/" + exportID + "/"
	if aws.ToString(d.ExportManifest) != base+"manifest-summary.json" {
		t.Fatalf("manifest %s, want %s", aws.ToString(d.ExportManifest), base+"manifest-summary.json")
	}
	var summary struct {
		ExportArn, ExportTime, ManifestFilesS3Key, OutputFormat string
		ItemCount                                               int
	}
	if err := json.Unmarshal(readObject(t, s3c, "lake", base+"manifest-summary.json"), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.ExportArn != aws.ToString(exp.ExportArn) || summary.ItemCount != 3 || summary.OutputFormat != "DYNAMODB_JSON" || summary.ManifestFilesS3Key != base+"manifest-files.json" {
		t.Fatalf("summary %+v", summary)
	}
	if et, err := time.Parse(time.RFC3339Nano, summary.ExportTime); err != nil || !et.Equal(aws.ToTime(exp.ExportTime)) {
		t.Fatalf("exportTime %s vs %s", summary.ExportTime, aws.ToTime(exp.ExportTime))
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(string(readObject(t, s3c, "lake", base+"manifest-files.json"))))
	for sc.Scan() {
		var f struct {
			ItemCount     int
			DataFileS3Key string
		}
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil || !strings.HasPrefix(f.DataFileS3Key, base+"data/") || !strings.HasSuffix(f.DataFileS3Key, ".json.gz") {
			t.Fatalf("manifest-files line %s %v", sc.Text(), err)
		}
		zr, err := gzip.NewReader(strings.NewReader(string(readObject(t, s3c, "lake", f.DataFileS3Key))))
		if err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(zr)
		n := 0
		for lines.Scan() {
			var it struct{ Item map[string]map[string]string }
			if err := json.Unmarshal(lines.Bytes(), &it); err != nil {
				t.Fatalf("data line %s: %v", lines.Text(), err)
			}
			ids = append(ids, it.Item["id"]["S"])
			n++
		}
		if n != f.ItemCount {
			t.Fatalf("%s: %d items, manifest says %d", f.DataFileS3Key, n, f.ItemCount)
		}
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "a,b,c" {
		t.Fatalf("exported items %v", ids)
	}
	// ListExports pages (botocore dynamodb ListExportsMaxLimit 1-25).
	if l := emutest.Must(c.ListExports(ctx, &dynamodb.ListExportsInput{TableArn: tbl.TableArn})); len(l.ExportSummaries) != 1 || l.ExportSummaries[0].ExportStatus != types.ExportStatusCompleted {
		t.Fatalf("list %+v", l.ExportSummaries)
	}
	_, err = c.ListExports(ctx, &dynamodb.ListExportsInput{MaxResults: aws.Int32(26)})
	emutest.WantCode(t, err, "ValidationException", "between 1 and 25")
	_, err = c.DescribeExport(ctx, &dynamodb.DescribeExportInput{ExportArn: aws.String(aws.ToString(tbl.TableArn) + "/export/none")})
	emutest.WantCode(t, err, "ExportNotFoundException", "")
	_, err = c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("nope"),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	emutest.WantCode(t, err, "TableNotFoundException", "")
}
