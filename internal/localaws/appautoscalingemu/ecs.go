package appautoscalingemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/opsctl/opsctl/internal/clock"
)

// ECSCapacity is a Capacity backed by the endpoint's ECS emulation, reached
// through its own API (DescribeServices, UpdateService) so the two
// emulations share no state: ecs returns the "ecs" handler when called (the
// endpoint looks it up by name, so registration order does not matter).
func ECSCapacity(ecs func() http.Handler) Capacity { return ecsCapacity{ecs} }

type ecsCapacity struct{ h func() http.Handler }

func (c ecsCapacity) call(op string, in any, out any) error {
	h := c.h()
	if h == nil {
		return fmt.Errorf("no ECS emulation")
	}
	body, _ := json.Marshal(in)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(rec.Body.Bytes(), &e)
		return fmt.Errorf("%s", e.Message)
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

// split parses service/CLUSTER/SERVICE.
func split(id string) (cluster, service string, ok bool) {
	p := strings.Split(id, "/")
	if len(p) != 3 || p[0] != "service" {
		return "", "", false
	}
	return p[1], p[2], true
}

func (c ecsCapacity) Desired(ns, id, dim string) (int, bool) {
	cluster, service, ok := split(id)
	if ns != "ecs" || !ok {
		return 0, false
	}
	var out struct {
		Services []struct {
			Status       string `json:"status"`
			DesiredCount int    `json:"desiredCount"`
		} `json:"services"`
	}
	if err := c.call("DescribeServices", map[string]any{"cluster": cluster, "services": []string{service}}, &out); err != nil {
		return 0, false
	}
	for _, s := range out.Services {
		if s.Status == "ACTIVE" {
			return s.DesiredCount, true
		}
	}
	return 0, false
}

func (c ecsCapacity) SetDesired(ns, id, dim string, n int) error {
	cluster, service, ok := split(id)
	if ns != "ecs" || !ok {
		return fmt.Errorf("not an ECS service: %s", id)
	}
	return c.call("UpdateService", map[string]any{"cluster": cluster, "service": service, "desiredCount": n}, nil)
}

// NewWithECS is New with Capacity set to ECSCapacity(ecs): the endpoint's
// wiring, so registering a target checks the ECS service and bounds move its
// desired count, as in AWS.
func NewWithECS(region, account string, clk clock.Clock, ecs func() http.Handler) *Server {
	s := New(region, account, clk)
	s.Capacity = ECSCapacity(ecs)
	return s
}
