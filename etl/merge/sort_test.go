package merge

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestSortStatesOrdersByFullKey(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000, 1<<16 + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			seen := map[string]bool{}
			var items []sortItem
			for len(items) < n {
				// Long shared prefixes, short keys, keys that are prefixes of
				// others and keys with zero bytes, so that the cached
				// 16-byte prefixes tie often.
				var k []byte
				switch rng.IntN(4) {
				case 0:
					k = fmt.Appendf(nil, "sk000000000000000%06d", rng.IntN(1000000))
				case 1:
					k = fmt.Appendf(nil, "s%d", rng.IntN(1000))
				case 2:
					k = append([]byte("s\x00\x00"), byte(rng.IntN(4)))
					k = append(k, bytes.Repeat([]byte{0}, rng.IntN(20))...)
				default:
					k = fmt.Appendf(nil, "n%020d", rng.Int64())
				}
				if seen[string(k)] {
					continue
				}
				seen[string(k)] = true
				items = append(items, newSortItem(&State{Key: k}))
			}
			out := sortStates(items)
			if len(out) != n {
				t.Fatalf("got %d states, want %d", len(out), n)
			}
			for i := 1; i < len(out); i++ {
				if bytes.Compare(out[i-1].Key, out[i].Key) >= 0 {
					t.Fatalf("out of order at %d: %q then %q", i, out[i-1].Key, out[i].Key)
				}
			}
		})
	}
}
