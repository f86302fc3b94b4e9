package localaws

import (
	"net/http"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/dynamodbemu"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/iamemu"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/logsemu"
	"github.com/opsctl/opsctl/internal/localaws/s3emu"
)

// The endpoint's in-process services, by SigV4 signing name. Each own
// emulation lives in its own subpackage and is added here.
func init() {
	builtinServices = func(s *Server) map[string]http.Handler {
		s3srv := s3emu.New()
		firehose := firehoseemu.New(s.Region, s.Account)
		firehose.Connect(firehoseemu.Backends{KinesisURL: s.URL, Region: s.Region, S3: s3srv, Metrics: firehoseMetrics(s), Logf: s.opts.Logf,
			Clock: s.Clock()})
		s.OnClose(firehose.Close)
		dynamo := dynamodbemu.New(s.Region, s.Account)
		dynamo.Connect(s.URL) // item changes stream to Kinesis destinations
		cw := cwemu.New(s.Region, s.Account)
		logs := logsemu.New(s.Region, s.Account)
		// Log events that match a metric filter become CloudWatch datapoints,
		// as in AWS, so a log-pattern alarm can be exercised end to end.
		logs.MetricSink = cw.RecordMetric
		return map[string]http.Handler{
			"s3":         s3srv,
			"firehose":   firehose,
			"dynamodb":   dynamo,
			"monitoring": cw,
			"iam":        iamemu.New(s.Region, s.Account),
			"logs":       logs,
			"lambda":     lambdaemu.New(s.Region, s.Account),
		}
	}
}

// firehoseMetrics sends the Firehose emulation's AWS/Firehose datapoints to
// the CloudWatch emulation ("monitoring"), looked up at delivery time so the
// order of registration does not matter; without one they are dropped.
func firehoseMetrics(s *Server) firehoseemu.MetricFunc {
	type recorder interface {
		RecordMetricWithUnit(namespace, name string, dims map[string]string, value float64, unit string, at time.Time)
	}
	return func(namespace, name string, dims map[string]string, value float64, unit string, at time.Time) {
		if r, ok := s.Service("monitoring").(recorder); ok {
			r.RecordMetricWithUnit(namespace, name, dims, value, unit, at)
		}
	}
}
