package dynamodbemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

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
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("x"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}}); code(err) != "ValidationException" {
		t.Fatalf("short name / undefined key: %v", err)
	}
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String("not-an-arn")}); code(err) != "ValidationException" {
		t.Fatalf("bad arn: %v", err)
	}
	en, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn),
		EnableKinesisStreamingConfiguration: &types.EnableKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: types.ApproximateCreationDateTimePrecisionMicrosecond}})
	if err != nil || en.DestinationStatus != types.DestinationStatusEnabling {
		t.Fatalf("enable: %+v %v", en, err)
	}
	if _, err := c.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); code(err) != "ValidationException" {
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
	if _, err := c.DisableKinesisStreamingDestination(ctx, &dynamodb.DisableKinesisStreamingDestinationInput{TableName: aws.String("orders"), StreamArn: aws.String(streamArn)}); code(err) != "ResourceInUseException" {
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
	if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("after delete: %v", err)
	}
}
