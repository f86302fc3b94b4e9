//go:build !amd64 && !arm64

package merge

import "unsafe"

// prefetch is a no-op where opsctl has no prefetch instruction wired up.
func prefetch(unsafe.Pointer) {}
