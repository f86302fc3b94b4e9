package archive_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/clock"
)

// Backfill exports the items the table already holds to PREFIX/backfill/
// (DynamoDB export to S3, which needs point-in-time recovery): without
// --enable-pitr it names the command and writes nothing; with it, it turns
// PITR on and waits for the export on the endpoint's clock (issue 16 item 1).
func TestBackfillExportsExistingItemsOnlyWithConsentForPITR(t *testing.T) {
	fake := clock.NewFake(time.Now().UTC())
	e := startClock(t, fake)
	ctx := context.Background()
	e.table(t, "orders")
	for _, id := range []string{"o1", "o2"} {
		if _, err := e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]ddbtypes.AttributeValue{
			"id": &ddbtypes.AttributeValueMemberS{Value: id}, "total": &ddbtypes.AttributeValueMemberN{Value: "5"}}}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, e, dynamoOpts())
	e.deps.Clock, e.deps.WaitTimeout = fake, time.Hour

	e.srv.ResetCalls()
	_, err := archive.Backfill(ctx, e.deps, archive.BackfillOptions{Name: "orders"})
	if err == nil || !strings.Contains(err.Error(), archive.PITRCommand("orders")) {
		t.Fatalf("without --enable-pitr: %v, want the exact command", err)
	}
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("without consent wrote %v", w)
	}
	began := fake.Now()
	res, err := archive.Backfill(ctx, e.deps, archive.BackfillOptions{Name: "orders", EnablePITR: true})
	if err != nil {
		t.Fatalf("backfill: %v %+v", err, res.Changes)
	}
	if res.ExportStatus != "COMPLETED" || res.ItemCount != 2 || res.ExportPrefix != "cdc/orders/backfill" || fake.Now().Sub(began) < 2*time.Minute {
		t.Fatalf("result %+v after %s of endpoint time", res, fake.Now().Sub(began))
	}
	if w := strings.Join(writes(e.srv), ","); w != "dynamodb.UpdateContinuousBackups,dynamodb.ExportTableToPointInTime" {
		t.Fatalf("wrote %s", w)
	}
	if !strings.HasPrefix(res.Manifest, "cdc/orders/backfill/AWSDynamoDB/") || !strings.HasSuffix(res.Manifest, "/manifest-summary.json") {
		t.Fatalf("manifest %s", res.Manifest)
	}
	if _, err := e.s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("acme-cdc"), Key: aws.String(res.Manifest)}); err != nil {
		t.Fatalf("manifest not in the bucket: %v", err)
	}
	// PITR on now: a second backfill only exports.
	e.srv.ResetCalls()
	if _, err := archive.Backfill(ctx, e.deps, archive.BackfillOptions{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(writes(e.srv), ","); w != "dynamodb.ExportTableToPointInTime" {
		t.Fatalf("second backfill wrote %s", w)
	}
	// Debezium sources are told where their rows come from.
	if _, err := archive.Backfill(ctx, e.deps, archive.BackfillOptions{Name: "nope"}); err == nil {
		t.Fatal("backfill of a missing archive succeeded")
	}
}
