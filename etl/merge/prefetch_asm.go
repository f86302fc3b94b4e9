//go:build amd64 || arm64

package merge

import "unsafe"

// prefetch asks the CPU to start loading the cache line at p. It is only a
// hint: it never faults, reads nothing the program sees, and p may be stale.
// Batch uses it to overlap the cache misses of many keys.
//
//go:noescape
func prefetch(p unsafe.Pointer)
