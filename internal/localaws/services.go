package localaws

import (
	"net/http"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/acmemu"
	"github.com/opsctl/opsctl/internal/localaws/appautoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/athenaemu"
	"github.com/opsctl/opsctl/internal/localaws/autoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/codebuildemu"
	"github.com/opsctl/opsctl/internal/localaws/codeconnectionsemu"
	"github.com/opsctl/opsctl/internal/localaws/codepipelineemu"
	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/dynamodbemu"
	"github.com/opsctl/opsctl/internal/localaws/ec2emu"
	"github.com/opsctl/opsctl/internal/localaws/ecremu"
	"github.com/opsctl/opsctl/internal/localaws/ecsemu"
	"github.com/opsctl/opsctl/internal/localaws/elbv2emu"
	"github.com/opsctl/opsctl/internal/localaws/eventsemu"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/glueemu"
	"github.com/opsctl/opsctl/internal/localaws/iamemu"
	"github.com/opsctl/opsctl/internal/localaws/iampolicy"
	"github.com/opsctl/opsctl/internal/localaws/kmsemu"
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
		iam := iamemu.New(s.Region, s.Account, s.Clock())
		// IAM as the emulated services meet it (README: "IAM on the local
		// endpoint"): roles' policies and bucket policies, evaluated by
		// iampolicy on the enforced paths.
		kms := kmsemu.New(s.Region, s.Account, s.Clock())
		authz := &iampolicy.Store{Role: iam.RolePolicies, KeyPolicy: kms.KeyPolicy, ResourcePolicy: func(arn string) (string, bool) {
			if b := iampolicy.BucketOf(arn); b != "" {
				return s3srv.BucketPolicy(b)
			}
			return "", false
		}}
		firehose := firehoseemu.New(s.Region, s.Account)
		firehose.Connect(firehoseemu.Backends{KinesisURL: s.URL, Region: s.Region, S3: s3srv, Metrics: firehoseMetrics(s), Logf: s.opts.Logf,
			Clock: s.Clock(), Authz: authz})
		s.OnClose(firehose.Close)
		dynamo := dynamodbemu.New(s.Region, s.Account)
		dynamo.Connect(s.URL) // item changes stream to Kinesis destinations
		dynamo.UseClock(s.Clock())
		dynamo.ExportTo(s3srv.PutObjectDirect) // exports to S3 write here
		cw := cwemu.New(s.Region, s.Account)
		logs := logsemu.New(s.Region, s.Account)
		// Log events that match a metric filter become CloudWatch datapoints,
		// as in AWS, so a log-pattern alarm can be exercised end to end.
		logs.MetricSink = cw.RecordMetric
		logs.Clock = s.Clock() // Logs Insights query states
		ec2 := ec2emu.New(s.Region, s.Account, s.Clock())
		pipelines := codepipelineemu.New(s.Region, s.Account, s.Clock())
		pipelines.Service = s.Service
		builds := codebuildemu.New(s.Region, s.Account, s.Clock())
		builds.Service = s.Service
		lam := lambdaemu.New(s.Region, s.Account)
		lam.Connect(s.Clock(), s.URL) // async invokes: retries on the clock, failures to SQS
		events := eventsemu.New(s.Region, s.Account, s.Clock())
		events.Connect(s.URL) // SNS targets are published to through the endpoint
		pipelines.Events = events.Deliver
		// HTTPS listeners take ACM's ISSUED certificates; ACM reports the
		// load balancers that use one (InUseBy).
		acm := acmemu.New(s.Region, s.Account, s.Clock())
		elb := elbv2emu.New(s.Region, s.Account, s.Clock(), ec2)
		elb.SetCertificates(acm)
		acm.InUseBy = elb.CertificateUsers
		// ECS registers service tasks as targets; ELBv2 brings ECS up to now
		// before it answers.
		ecs := ecsemu.New(s.Region, s.Account, s.Clock())
		ecs.SetLoadBalancing(elb)
		elb.Sync = ecs.Advance
		// ECS deployment alarms read the CloudWatch emulation's alarm state.
		ecs.AlarmState = cw.AlarmStateValue
		// Tasks' awslogs containers write their (emulated) output to Logs.
		ecs.TaskLog = logs.AppendContainerLog
		asg := autoscalingemu.New(s.Region, s.Account, s.Clock(), ec2)
		// CreateCapacityProvider checks that its Auto Scaling group exists.
		ecs.AutoScalingGroupExists = func(nameOrARN string) bool { _, _, _, ok := asg.Group(nameOrARN); return ok }
		glue := glueemu.New(s.Region, s.Account, s.Clock())
		return map[string]http.Handler{
			"s3":         s3srv,
			"firehose":   firehose,
			"dynamodb":   dynamo,
			"monitoring": cw,
			"iam":        iam,
			"logs":       logs,
			"lambda":     lam,
			"ecs":        ecs,

			// EC2 and Auto Scaling, for deploy cluster.
			"ec2":         ec2,
			"autoscaling": asg,

			// Parameter Store, Secrets Manager, ECR and Application Auto Scaling, for deploy.
			"ssm":                     ssmemu.New(s.Region, s.Account, s.Clock()),
			"secretsmanager":          secretsmanageremu.New(s.Region, s.Account, s.Clock()),
			"ecr":                     ecremu.New(s.Region, s.Account, s.Clock()),
			"application-autoscaling": appautoscalingemu.NewWithECS(s.Region, s.Account, s.Clock(), func() http.Handler { return s.Service("ecs") }),

			// CodeConnections, for pipeline create (connections stay PENDING until the handshake control).
			"codeconnections": codeconnectionsemu.New(s.Region, s.Account),
			// EventBridge, for pipeline failure notifications (rules → SNS).
			"events": events,
			// CodePipeline and CodeBuild, for pipeline.
			"codepipeline": pipelines,
			"codebuild":    builds,
			// Elastic Load Balancing v2, for load-balanced deploys.
			"elasticloadbalancing": elb,
			"acm":                  acm,
			// KMS key and alias lookups, for etl archive --kms-key.
			"kms": kms,
			// Glue Data Catalog and Athena, for etl rebuild --glue-table and --engine athena.
			"glue":   glue,
			"athena": athenaemu.New(s.Region, s.Account, s.Clock(), athenaemu.Backends{Glue: glue, EndpointURL: s.URL, ModulesDir: FindEmulatorsDir}),
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
