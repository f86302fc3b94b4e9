package logsemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
)

// AppendContainerLog is the awslogs driver's side: it creates the stream,
// needs the group unless awslogs-create-group=true, skips empty lines, and
// what it writes reads back through GetLogEvents (the real SDK).
func TestAppendContainerLogWritesAsTheAwslogsDriver(t *testing.T) {
	ctx := context.Background()
	_, c, emu := start(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)

	err := emu.AppendContainerLog("/ecs/prod/api", "api/app/abc", false, at, []string{"hello"})
	var ae *awsproto.Error
	// botocore logs PutLogEvents errors: ResourceNotFoundException for a missing group.
	if !errors.As(err, &ae) || ae.Code != "ResourceNotFoundException" {
		t.Fatalf("missing group: %v, want ResourceNotFoundException", err)
	}
	if err := emu.AppendContainerLog("/ecs/prod/api", "api/app/abc", true, at, []string{"./migrate up", "", "done"}); err != nil {
		t.Fatal(err)
	}
	out := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/ecs/prod/api"), LogStreamName: aws.String("api/app/abc"), StartFromHead: aws.Bool(true)}))
	var got []string
	for _, e := range out.Events {
		got = append(got, aws.ToString(e.Message))
		if ts := aws.ToInt64(e.Timestamp); ts < at.UnixMilli() || ts > at.UnixMilli()+2 {
			t.Errorf("timestamp %d, want the container's %d (+ line)", ts, at.UnixMilli())
		}
	}
	if strings.Join(got, "|") != "./migrate up|done" {
		t.Fatalf("events %q", got)
	}
	// A container that writes nothing still gets its stream.
	if err := emu.AppendContainerLog("/ecs/prod/api", "api/sidecar/abc", false, at, nil); err != nil {
		t.Fatal(err)
	}
	streams := emutest.Must(c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/ecs/prod/api"), OrderBy: types.OrderByLogStreamName}))
	if len(streams.LogStreams) != 2 {
		t.Fatalf("streams %+v", streams.LogStreams)
	}
}
