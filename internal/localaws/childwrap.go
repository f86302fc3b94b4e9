package localaws

import (
	"net/http"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/snswrap"
)

// wrapChild puts a documented fix-up in front of an npm emulator where it
// deviates from AWS in a way opsctl must test:
//
//   - sns (fauxqs): email subscriptions stay "pending confirmation" until a
//     test confirms them (snswrap.Handler.Confirm), as on AWS, and expire
//     after 48 hours on the endpoint's clock.
func wrapChild(service string, h http.Handler, clk clock.Clock) http.Handler {
	if service == "sns" {
		return snswrap.New(h, clk)
	}
	return h
}
