package alarms

import "time"

// SetRoleRetryDelay shortens the IAM propagation wait for tests.
func SetRoleRetryDelay(d time.Duration) func() {
	old := roleRetryDelay
	roleRetryDelay = d
	return func() { roleRetryDelay = old }
}
