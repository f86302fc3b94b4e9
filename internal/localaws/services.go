package localaws

import (
	"net/http"

	"github.com/opsctl/opsctl/internal/localaws/s3emu"
)

// The endpoint's in-process services, by SigV4 signing name. Each own
// emulation lives in its own subpackage and is added here.
func init() {
	builtinServices = func(s *Server) map[string]http.Handler {
		return map[string]http.Handler{
			"s3": s3emu.New(),
		}
	}
}
