package merge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// runBatched feeds evs to a table through batches of workers goroutines
// (events dealt round-robin), the way the read phase does: keys come from a
// reused buffer, and images from a buffer that is overwritten right after
// each Flush, so a batch that kept either would be caught.
func runBatched(t *testing.T, limit int64, workers int, evs []ev) (map[string]string, Stats) {
	t.Helper()
	tb := NewTable(limit, t.TempDir())
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := tb.NewBatch()
			var keyBuf, imgBuf []byte
			flushEvery := 1 + w*7 + 13
			for i := w; i < len(evs); i += workers {
				c, f, o := evs[i].change()
				keyBuf = append(keyBuf[:0], c.Key...)
				c.Key = keyBuf
				if c.Image != nil {
					off := len(imgBuf)
					imgBuf = append(imgBuf, c.Image...)
					c.Image = imgBuf[off:len(imgBuf):len(imgBuf)]
				}
				if err := b.Add(c, f, o, 0); err != nil {
					errs <- err
					return
				}
				if i/workers%flushEvery == 0 {
					if err := b.Flush(); err != nil {
						errs <- err
						return
					}
					for j := range imgBuf {
						imgBuf[j] = '#'
					}
					imgBuf = imgBuf[:0]
				}
			}
			if err := b.Flush(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	trunc := tb.Truncate()
	err := tb.Finish(context.Background(), nil, func(s *State) error {
		if s.Live(trunc) {
			out[string(s.Key)] = string(s.Win.Image)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, tb.Stats()
}

func TestBatchGivesTheSameResultAsAdd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int64
		workers int
	}{
		{"one goroutine, in memory", 0, 1},
		{"one goroutine, spilling mid-batch", 16 << 10, 1},
		{"two goroutines, in memory", 0, 2},
		{"four goroutines, spilling", 16 << 10, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(0); seed < 5; seed++ {
				r := rand.New(rand.NewPCG(seed, 11))
				evs := randomEvents(r, 6000, 400)
				want, wtb := final(t, 0, evs)
				got, st := runBatched(t, tc.limit, tc.workers, evs)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d: batched result differs from Add", seed)
				}
				ws := wtb.Stats()
				if st.Changes != ws.Changes || st.Deletes != ws.Deletes {
					t.Fatalf("seed %d: stats %+v, want %+v", seed, st, ws)
				}
				// Which copy counts as the duplicate and which as superseded
				// depends on arrival order: exact only for the same order.
				if tc.workers == 1 && tc.limit == 0 && (st.Superseded != ws.Superseded || st.Duplicates != ws.Duplicates) {
					t.Fatalf("seed %d: stats %+v, want %+v", seed, st, ws)
				}
				if tc.limit > 0 && st.SpillRuns < 2 {
					t.Fatalf("seed %d: expected spills, got %d", seed, st.SpillRuns)
				}
			}
		})
	}
}
