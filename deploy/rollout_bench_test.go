package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/wait"
)

// BenchmarkFollowRollout measures the API calls per poll while `deploy
// rollout` follows a deployment (from the endpoint's call log), for a rollout
// that completes and one the circuit breaker rolls back.
//
//	go test -run '^$' -bench FollowRollout -benchtime 3x ./deploy/
func BenchmarkFollowRollout(b *testing.B) {
	for _, sc := range []struct{ name, image string }{{"completes", "example/web:v2"}, {"rolled_back", "example/web:fail-pull"}} {
		b.Run(sc.name, func(b *testing.B) {
			var calls, polls int
			for i := 0; i < b.N; i++ {
				f := newRolloutFixture(b)
				f.setup(4, true)
				n := 0
				f.deps.OnTick = func(wait.Tick) { n++ }
				f.srv.ResetCalls()
				_, _ = Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: sc.image, Container: "app"})
				calls += len(f.srv.Calls()) - 7 // minus the 7 calls before following: DescribeServices, DescribeTaskDefinition x2, GetRole, RegisterTaskDefinition, UpdateService, ListServiceDeployments
				polls += n
				f.srv.Close()
			}
			b.ReportMetric(float64(calls)/float64(polls), "calls/poll")
			b.ReportMetric(float64(polls)/float64(b.N), "polls")
		})
	}
}

// BenchmarkServicesStableWaiter is the AWS CLI way on the same scenario:
// `aws ecs wait services-stable` (the SDK's ServicesStable waiter, one
// DescribeServices per 15 s) — which also reports success for the rolled-back
// deployment, because the rolled-back service is stable again. Seeing events
// and stopped reasons the CLI way adds describe-services, list-tasks and
// describe-tasks per poll (+3 calls).
func BenchmarkServicesStableWaiter(b *testing.B) {
	for _, sc := range []struct{ name, image string }{{"completes", "example/web:v2"}, {"rolled_back", "example/web:fail-pull"}} {
		b.Run(sc.name, func(b *testing.B) {
			var calls, success int
			for i := 0; i < b.N; i++ {
				clk := clock.NewOffset(clock.Real(), 600)
				srv, err := localaws.New(context.Background(), localaws.Options{Clock: clk})
				if err != nil {
					b.Fatal(err)
				}
				f := &rolloutFixture{t: b, clk: clk, srv: srv, ecs: ecs.NewFromConfig(localawstest.Config(srv, 0)), ctx: context.Background()}
				f.setup(4, true)
				td := registerBench(b, f, sc.image)
				if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(td)}); err != nil {
					b.Fatal(err)
				}
				srv.ResetCalls()
				w := ecs.NewServicesStableWaiter(f.ecs, func(o *ecs.ServicesStableWaiterOptions) {
					o.MinDelay, o.MaxDelay = 25*time.Millisecond, 25*time.Millisecond
				})
				if w.Wait(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}, time.Minute) == nil {
					success++
				}
				calls += len(srv.Calls())
				srv.Close()
			}
			b.ReportMetric(1, "calls/poll")
			b.ReportMetric(float64(calls)/float64(b.N), "polls")
			b.ReportMetric(float64(success)/float64(b.N), "reported_success")
		})
	}
}

func registerBench(b *testing.B, f *rolloutFixture, image string) string {
	cur, err := f.ecs.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		b.Fatal(err)
	}
	in := registerInput(cur.TaskDefinition, nil)
	in.ContainerDefinitions[0].Image = aws.String(image)
	out, err := f.ecs.RegisterTaskDefinition(f.ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}
