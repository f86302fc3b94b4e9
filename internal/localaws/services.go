package localaws

import (
	"net/http"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/appautoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/autoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/dynamodbemu"
	"github.com/opsctl/opsctl/internal/localaws/ec2emu"
	"github.com/opsctl/opsctl/internal/localaws/ecremu"
	"github.com/opsctl/opsctl/internal/localaws/ecsemu"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/iamemu"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/logsemu"
	"github.com/opsctl/opsctl/internal/localaws/s3emu"
	"github.com/opsctl/opsctl/internal/localaws/secretsmanageremu"
	"github.com/opsctl/opsctl/internal/localaws/ssmemu"
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
		logs.Clock = s.Clock() // Logs Insights query states
		ec2 := ec2emu.New(s.Region, s.Account, s.Clock())
		lam := lambdaemu.New(s.Region, s.Account)
		lam.Connect(s.Clock(), s.URL) // async invokes: retries on the clock, failures to SQS
		return map[string]http.Handler{
			"s3":         s3srv,
			"firehose":   firehose,
			"dynamodb":   dynamo,
			"monitoring": cw,
			"iam":        iamemu.New(s.Region, s.Account, s.Clock()),
			"logs":       logs,
			"lambda":     lam,
			"ecs":        ecsemu.New(s.Region, s.Account, s.Clock()),

			// EC2 and Auto Scaling, for deploy cluster.
			"ec2":         ec2,
			"autoscaling": autoscalingemu.New(s.Region, s.Account, s.Clock(), ec2),

			// Parameter Store, Secrets Manager, ECR and Application Auto Scaling, for deploy.
			"ssm":                     ssmemu.New(s.Region, s.Account, s.Clock()),
			"secretsmanager":          secretsmanageremu.New(s.Region, s.Account, s.Clock()),
			"ecr":                     ecremu.New(s.Region, s.Account, s.Clock()),
			"application-autoscaling": appautoscalingemu.NewWithECS(s.Region, s.Account, s.Clock(), func() http.Handler { return s.Service("ecs") }),
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
