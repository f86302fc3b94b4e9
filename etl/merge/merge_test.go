package merge

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/cdc"
)

type ev struct {
	key  string
	ts   int64
	op   cdc.Op
	id   byte // 0: no event id
	file uint32
	off  int64
	img  string
}

func (e ev) change() (*cdc.Change, uint32, int64) {
	c := &cdc.Change{Key: []byte(e.key), Pos: cdc.Position{e.ts}, Op: e.op, Image: []byte(e.img)}
	if e.id != 0 {
		c.HasEventID = true
		c.EventID[0] = e.id
	}
	if e.op != cdc.OpUpsert {
		c.Image = nil
	}
	return c, e.file, e.off
}

// final runs events through a table and returns key → image of live keys.
func final(t *testing.T, limit int64, evs []ev, extra ...Iter) (map[string]string, *Table) {
	t.Helper()
	tb := NewTable(limit, t.TempDir())
	for _, e := range evs {
		c, f, o := e.change()
		if err := tb.Add(c, f, o, 0); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	trunc := tb.Truncate()
	var last []byte
	err := tb.Finish(context.Background(), extra, func(s *State) error {
		if last != nil && bytes.Compare(s.Key, last) <= 0 {
			t.Fatalf("keys out of order: %q after %q", s.Key, last)
		}
		last = append(last[:0], s.Key...)
		if s.Live(trunc) {
			out[string(s.Key)] = string(s.Win.Image)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, tb
}

func TestReduceRules(t *testing.T) {
	up, del := cdc.OpUpsert, cdc.OpDelete
	tests := []struct {
		name string
		evs  []ev
		want map[string]string
		dups int64
	}{
		{"out of order: latest position wins whatever the arrival order",
			[]ev{{"k", 30, up, 3, 0, 0, "v3"}, {"k", 10, up, 1, 0, 100, "v1"}, {"k", 20, up, 2, 1, 0, "v2"}},
			map[string]string{"k": "v3"}, 0},
		{"delete removes the key",
			[]ev{{"k", 10, up, 1, 0, 0, "v1"}, {"k", 20, del, 2, 0, 10, ""}},
			map[string]string{}, 0},
		{"delete then re-insert brings it back",
			[]ev{{"k", 10, up, 1, 0, 0, "v1"}, {"k", 20, del, 2, 0, 10, ""}, {"k", 30, up, 3, 0, 20, "v3"}},
			map[string]string{"k": "v3"}, 0},
		{"late older change does not resurrect a deleted key",
			[]ev{{"k", 20, del, 2, 0, 0, ""}, {"k", 10, up, 1, 1, 0, "v1"}},
			map[string]string{}, 0},
		{"tie on position: later file wins",
			[]ev{{"k", 10, up, 2, 1, 0, "b"}, {"k", 10, up, 1, 0, 0, "a"}},
			map[string]string{"k": "b"}, 0},
		{"tie on position and file: later offset wins",
			[]ev{{"k", 10, up, 1, 0, 50, "b"}, {"k", 10, up, 2, 0, 10, "a"}},
			map[string]string{"k": "b"}, 0},
		{"repeated event id is applied once, at its first delivery",
			// A (file 0) and B (file 1) tie; A is redelivered in file 2. Applied
			// once, A sits at file 0, so B is last.
			[]ev{{"k", 10, up, 0xA, 2, 0, "A"}, {"k", 10, up, 0xB, 1, 0, "B"}, {"k", 10, up, 0xA, 0, 0, "A"}},
			map[string]string{"k": "B"}, 1},
		{"same order, other arrival: still B",
			[]ev{{"k", 10, up, 0xA, 0, 0, "A"}, {"k", 10, up, 0xB, 1, 0, "B"}, {"k", 10, up, 0xA, 2, 0, "A"}},
			map[string]string{"k": "B"}, 1},
		{"without event ids, same position is the same event",
			[]ev{{"k", 10, up, 0, 0, 0, "x"}, {"k", 10, up, 0, 3, 0, "x"}},
			map[string]string{"k": "x"}, 1},
		{"independent keys",
			[]ev{{"a", 1, up, 1, 0, 0, "a1"}, {"b", 1, up, 2, 0, 1, "b1"}, {"a", 2, del, 3, 0, 2, ""}},
			map[string]string{"b": "b1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tb := final(t, 0, tt.evs)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if d := tb.Stats().Duplicates; d != tt.dups {
				t.Fatalf("duplicates = %d, want %d", d, tt.dups)
			}
		})
	}
}

func TestTruncateRemovesEarlierKeysOnly(t *testing.T) {
	tb := NewTable(0, t.TempDir())
	add := func(key string, ts int64, op cdc.Op) {
		c := &cdc.Change{Key: []byte(key), Pos: cdc.Position{ts}, Op: op, Image: []byte(key)}
		if err := tb.Add(c, 0, ts, 0); err != nil {
			t.Fatal(err)
		}
	}
	add("before", 10, cdc.OpUpsert)
	add("", 20, cdc.OpTruncate)
	add("after", 30, cdc.OpUpsert)
	add("updated-after", 5, cdc.OpUpsert)
	add("updated-after", 25, cdc.OpUpsert)
	trunc := tb.Truncate()
	var live []string
	tb.Finish(context.Background(), nil, func(s *State) error {
		if s.Live(trunc) {
			live = append(live, string(s.Key))
		}
		return nil
	})
	if fmt.Sprint(live) != "[after updated-after]" {
		t.Fatalf("live after truncate: %v", live)
	}
}

func randomEvents(r *rand.Rand, n, keys int) []ev {
	var evs []ev
	for i := 0; i < n; i++ {
		e := ev{key: fmt.Sprintf("k%03d", r.IntN(keys)), ts: int64(r.IntN(n / 2)), id: byte(1 + r.IntN(250)), file: uint32(r.IntN(5)), off: int64(i)}
		switch r.IntN(10) {
		case 0, 1:
			e.op = cdc.OpDelete
		default:
			e.op = cdc.OpUpsert
			e.img = fmt.Sprintf("img-%d-%s", i, string(make([]byte, r.IntN(300))))
		}
		evs = append(evs, e)
		if r.IntN(10) == 0 { // duplicate delivery, later
			d := e
			d.file, d.off = uint32(r.IntN(5)), int64(n+i)
			evs = append(evs, d)
		}
	}
	return evs
}

func TestSpillGivesTheSameResult(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	evs := randomEvents(r, 5000, 300)
	want, _ := final(t, 0, evs)
	got, tb := final(t, 16<<10, evs) // a tiny limit: many spilled runs
	if tb.Stats().SpillRuns < 3 {
		t.Fatalf("expected spills, got %d runs", tb.Stats().SpillRuns)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("spilled result differs from the in-memory result")
	}
}

// TestMergingStatesEqualsOnePass is RULES.md rule 6 at the merge level: the
// state of a first batch, merged with a second batch, equals one pass.
func TestMergingStatesEqualsOnePass(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		evs := randomEvents(r, 800, 40)
		want, _ := final(t, 0, evs)
		split := r.IntN(len(evs))
		// batch 1 → state file
		tb := NewTable(0, t.TempDir())
		for _, e := range evs[:split] {
			c, f, o := e.change()
			tb.Add(c, f, o, 0)
		}
		path := filepath.Join(t.TempDir(), "state.s2")
		fh, _ := os.Create(path)
		w := NewRunWriter(fh)
		if err := tb.Finish(context.Background(), nil, func(s *State) error { return w.Write(s) }); err != nil {
			t.Fatal(err)
		}
		w.Close()
		fh.Close()
		// batch 2 + state
		fh, _ = os.Open(path)
		got, _ := final(t, 0, evs[split:], NewRunReader(fh))
		fh.Close()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: incremental %v\nfull %v", seed, got, want)
		}
	}
}

func TestRunFileRoundTripAndFileMap(t *testing.T) {
	var buf bytes.Buffer
	w := NewRunWriter(&buf)
	s := &State{Key: []byte("a"), Win: Entry{Pos: cdc.Position{1, -2, 3, 4}, File: 1, Off: 99, Op: cdc.OpUpsert, HasEventID: true, EventID: [16]byte{7}, Schema: 2, Image: []byte("{}")},
		Others: []Entry{{Pos: cdc.Position{1, -2, 3, 4}, File: 0, Off: 5, Op: cdc.OpDelete}}}
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&State{Key: []byte("a")}); err == nil {
		t.Fatal("out-of-order key accepted")
	}
	w.Close()
	r := NewRunReader(&buf)
	r.FileMap = []uint32{10, 11}
	if !r.Next() {
		t.Fatal(r.Err())
	}
	got := r.State()
	if got.Win.File != 11 || got.Others[0].File != 10 || got.Win.Pos != s.Win.Pos || string(got.Win.Image) != "{}" || got.Win.EventID != s.Win.EventID || got.Win.Schema != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	if r.Next() || r.Err() != nil {
		t.Fatalf("expected clean end, err %v", r.Err())
	}
}

// BenchmarkTableAdd folds updates of random keys into a table already
// holding every key, as the read phase does: one change at a time (Add) or
// through a Batch. keys=1e6 with 450-byte images is the M benchmark's table,
// far larger than the caches.
func BenchmarkTableAdd(b *testing.B) {
	for _, nkeys := range []int{100_000, 1_000_000} {
		keys := make([][]byte, nkeys)
		for i := range keys {
			keys[i] = cdc.AppendKeyString(nil, []byte(fmt.Sprintf("k%09d", i)))
		}
		// The changes' keys, in one buffer read in order, like records.
		r := rand.New(rand.NewPCG(1, 2))
		seq := make([][]byte, 1<<20)
		var flat []byte
		for range seq {
			flat = append(flat, keys[r.IntN(nkeys)]...)
		}
		for i, n := 0, len(keys[0]); i < len(seq); i++ {
			seq[i] = flat[i*n : (i+1)*n : (i+1)*n]
		}
		for _, imgLen := range []int{8, 450} {
			img := bytes.Repeat([]byte("x"), imgLen)
			for _, mode := range []string{"add", "batch"} {
				b.Run(fmt.Sprintf("keys=%d/img=%d/%s", nkeys, imgLen, mode), func(b *testing.B) {
					tb := NewTable(0, b.TempDir())
					for i, k := range keys {
						c := cdc.Change{Key: k, Pos: cdc.Position{int64(i)}, Op: cdc.OpUpsert, Image: img}
						tb.Add(&c, 0, 0, 0)
					}
					bt := tb.NewBatch()
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						c := cdc.Change{Key: seq[i%len(seq)], Pos: cdc.Position{int64(nkeys + i)}, Op: cdc.OpUpsert, Image: img}
						if mode == "add" {
							tb.Add(&c, 1, int64(i), 0)
						} else {
							bt.Add(&c, 1, int64(i), 0)
						}
					}
					bt.Flush()
				})
			}
		}
	}
}

// TestAgainReplaysTheFinishedStream: the second pass of a single-file
// rebuild replays memory and spilled runs; it must see what Finish saw,
// without counting duplicates twice.
func TestAgainReplaysTheFinishedStream(t *testing.T) {
	for _, limit := range []int64{0, 16 << 10} { // in memory; spilled
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			tb := NewTable(limit, t.TempDir())
			for _, e := range randomEvents(r, 3000, 200) {
				c, f, o := e.change()
				if err := tb.Add(c, f, o, 0); err != nil {
					t.Fatal(err)
				}
			}
			dump := func(s *State) string { return fmt.Sprintf("%s/%d/%s/%d;", s.Key, s.Win.Op, s.Win.Image, len(s.Others)) }
			var first strings.Builder
			if err := tb.Finish(context.Background(), nil, func(s *State) error { first.WriteString(dump(s)); return nil }); err != nil {
				t.Fatal(err)
			}
			if limit > 0 && tb.Stats().SpillRuns < 2 {
				t.Fatalf("expected spilled runs, got %d", tb.Stats().SpillRuns)
			}
			dups := tb.Stats().Duplicates
			it, stable, closeFn, ok, err := tb.Again(context.Background())
			if err != nil || !ok {
				t.Fatalf("Again: ok=%v err=%v", ok, err)
			}
			defer closeFn()
			if stable != (limit == 0) {
				t.Fatalf("stable = %v with limit %d", stable, limit)
			}
			var second strings.Builder
			for it.Next() {
				second.WriteString(dump(it.State()))
			}
			if it.Err() != nil || second.String() != first.String() {
				t.Fatalf("replay differs from Finish (err %v)", it.Err())
			}
			if tb.Stats().Duplicates != dups {
				t.Fatalf("duplicates counted again: %d then %d", dups, tb.Stats().Duplicates)
			}
		})
	}
}
