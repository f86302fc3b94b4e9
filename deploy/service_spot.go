package deploy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// spotCheck applies spot-check's fallback decision (spotCheckOne, same tags,
// same --spot-after) to the service before service update plans it: a
// service whose tasks have not been placed on spot for SpotAfter moves to
// on-demand now rather than getting yet another spot deployment. It makes no
// call of its own: the service as read (with its tags) is what it decides
// on, and a healthy service or one already in fallback is left to the plan
// (a service in fallback stays there; spot-check's probe moves it back).
func (b *serviceBuilder) spotCheck(ctx context.Context) error {
	if b.live == nil || b.o.SpotAfter < 0 || !usesSpot(b.cl.strategy) || serviceTags(b.live)[TagSpotFallback] != "" {
		return nil
	}
	o := SpotCheckOptions{Cluster: b.o.Cluster, Service: b.o.Name, After: b.o.SpotAfter, DryRun: b.o.DryRun}
	if o.After == 0 {
		o.After = DefaultSpotAfter
	}
	r, err := spotCheckOne(ctx, b.d, o, b.cl, *b.live)
	b.res.Changes = append(b.res.Changes, r.Changes...)
	if r.State == SpotWatching || r.State == SpotFallback {
		b.res.SpotCheck = r.Message
		b.d.log().Warn("spot fallback", "service", b.o.Name, "state", r.State, "detail", r.Message)
	}
	if err != nil || r.State != SpotFallback {
		return err
	}
	b.spotFallbackNow = true
	if b.o.DryRun {
		return nil
	}
	// The fallback wrote the strategy and tags: plan the update on top of them.
	live, err := liveService(ctx, b.d, b.o.Cluster, aws.ToString(b.live.ServiceName))
	if err == nil && live != nil {
		b.live = live
	}
	return err
}
