package dynamodbemu_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const streamArn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders-cdc"

func waitStatus(t *testing.T, c *dynamodb.Client, want types.DestinationStatus) types.KinesisDataStreamDestination {
	t.Helper()
	for range 100 {
		out, err := c.DescribeKinesisStreamingDestination(context.Background(), &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String("orders")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.KinesisDataStreamDestinations) == 1 && out.KinesisDataStreamDestinations[0].DestinationStatus == want {
			return out.KinesisDataStreamDestinations[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("destination never reached %s", want)
	return types.KinesisDataStreamDestination{}
}

func TestStreamingDestinationLifecycle(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	c := dynamodb.NewFromConfig(localawstest.Config(srv, 1))
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); emutest.Code(err) != "ResourceNotFoundException" {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("x"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}}); emutest.Code(err) != "ValidationException" {
		t.Fatalf("short name / undefined key: %v", err)
	}
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String("not-an-arn")}); emutest.Code(err) != "ValidationException" {
		t.Fatalf("bad arn: %v", err)
	}
	en, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn),
		EnableKinesisStreamingConfiguration: &types.EnableKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: types.ApproximateCreationDateTimePrecisionMicrosecond}})
	if err != nil || en.DestinationStatus != types.DestinationStatusEnabling {
		t.Fatalf("enable: %+v %v", en, err)
	}
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); emutest.Code(err) != "ValidationException" {
		t.Fatalf("enable twice: %v", err)
	}
	d := waitStatus(t, c, types.DestinationStatusActive)
	if d.ApproximateCreationDateTimePrecision != types.ApproximateCreationDateTimePrecisionMicrosecond {
		t.Fatalf("precision %s", d.ApproximateCreationDateTimePrecision)
	}
	if _, err := c.UpdateKinesisStreamingDestination(ctx, &dynamodb.UpdateKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn),
		UpdateKinesisStreamingConfiguration: &types.UpdateKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: types.ApproximateCreationDateTimePrecisionMillisecond}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableKinesisStreamingDestination(ctx, &dynamodb.DisableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); emutest.Code(err) != "ResourceInUseException" {
		t.Fatalf("disable while UPDATING: %v", err)
	}
	d = waitStatus(t, c, types.DestinationStatusActive)
	if d.ApproximateCreationDateTimePrecision != types.ApproximateCreationDateTimePrecisionMillisecond {
		t.Fatalf("precision after update %s", d.ApproximateCreationDateTimePrecision)
	}
	if _, err := c.DisableKinesisStreamingDestination(ctx, &dynamodb.DisableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, types.DestinationStatusDisabled)
	tables, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || len(tables.TableNames) != 1 {
		t.Fatalf("list %+v %v", tables, err)
	}
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); emutest.Code(err) != "ResourceNotFoundException" {
		t.Fatalf("after delete: %v", err)
	}
}

func TestItemChangesStreamToTheKinesisDestination(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorKinesis}})
	ctx := context.Background()
	cfg := localawstest.Config(srv, 0)
	c := dynamodb.NewFromConfig(cfg)
	kc := kinesis.NewFromConfig(cfg)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders-cdc"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders-cdc")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	// Before the destination exists, changes go nowhere.
	item := func(id, total string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}, "total": &types.AttributeValueMemberN{Value: total}}
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: item("o0", "1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"total": &types.AttributeValueMemberN{Value: "1"}}}); emutest.Code(err) != "ValidationException" {
		t.Fatalf("item without its key: %v", err)
	}
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn),
		EnableKinesisStreamingConfiguration: &types.EnableKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: types.ApproximateCreationDateTimePrecisionMicrosecond}}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, types.DestinationStatusActive)
	for _, it := range []map[string]types.AttributeValue{item("o1", "10"), item("o1", "15")} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("orders"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "o1"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "o0"}}})
	if err != nil || got.Item["total"].(*types.AttributeValueMemberN).Value != "1" {
		t.Fatalf("get o0: %+v %v", got, err)
	}
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("orders-cdc")})
	if err != nil {
		t.Fatal(err)
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("orders-cdc"), ShardId: shards.Shards[0].ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	iter := it.ShardIterator
	for range 20 {
		out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				t.Fatalf("record %s: %v", r.Data, err)
			}
			recs = append(recs, m)
		}
		if len(recs) >= 3 {
			break
		}
		iter = out.NextShardIterator
		time.Sleep(50 * time.Millisecond)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records in the stream, want 3 (o0 was written before streaming)", len(recs))
	}
	var events []string
	for _, r := range recs {
		d := r["dynamodb"].(map[string]any)
		events = append(events, r["eventName"].(string))
		if d["ApproximateCreationDateTimePrecision"] != "MICROSECOND" || d["ApproximateCreationDateTime"].(float64) < 1e15 {
			t.Errorf("creation time not in microseconds: %v", d)
		}
		if r["tableName"] != "orders" || r["eventSource"] != "aws:dynamodb" || r["eventID"] == "" {
			t.Errorf("record envelope %v", r)
		}
	}
	if strings.Join(events, ",") != "INSERT,MODIFY,REMOVE" {
		t.Fatalf("events %v", events)
	}
	modify := recs[1]["dynamodb"].(map[string]any)
	if modify["NewImage"].(map[string]any)["total"].(map[string]any)["N"] != "15" || modify["OldImage"].(map[string]any)["total"].(map[string]any)["N"] != "10" {
		t.Fatalf("MODIFY images %v", modify)
	}
	if _, ok := recs[2]["dynamodb"].(map[string]any)["NewImage"]; ok {
		t.Fatalf("REMOVE has a NewImage: %v", recs[2])
	}
}
