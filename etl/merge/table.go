package merge

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/opsctl/opsctl/etl/cdc"
)

const nShards = 64

// Stats counts what the table saw.
type Stats struct {
	Changes    int64 `json:"changes"`
	Duplicates int64 `json:"duplicates"`
	Superseded int64 `json:"superseded"`
	Deletes    int64 `json:"delete_events"`
	Truncates  int64 `json:"truncate_events"`
	SpillRuns  int   `json:"spilled_runs"`
	SpillBytes int64 `json:"spilled_bytes"`
}

// Table holds the per-key state of a run in memory, spilling sorted runs to
// TempDir when its estimated size exceeds Limit bytes.
type Table struct {
	Limit   int64
	TempDir string

	shards [nShards]shard
	mem    atomic.Int64
	spill  sync.Mutex // held while spilling; also guards runs
	runs   []string

	tmu      sync.Mutex
	trunc    cdc.Position
	hasTrunc bool

	st struct {
		changes, dups, truncates atomic.Int64 // truncates, and duplicates found by Finish
	}
	spillBytes int64
	flush      int64 // see memFlush
	final      []*State
	replay     bool // Finish had no extra sources: Again may replay
	finishDups int64
}

// NewTable returns an empty table.
func NewTable(limit int64, tempDir string) *Table {
	flush := int64(memFlush)
	if limit > 0 {
		flush = min(flush, max(limit/(4*nShards), 1))
	}
	return &Table{Limit: limit, TempDir: tempDir, flush: flush}
}

var hashSeed = maphash.MakeSeed()

func hashKey(k []byte) uint64 { return maphash.Bytes(hashSeed, k) }

// memFlush: shards report their memory growth to the table in steps of this
// many bytes (less under a small limit), so the workers do not contend on
// one counter for every change. The table can thus overshoot its limit by
// at most nShards steps.
const memFlush = 256 << 10

// Add folds one change into the table. file and off locate the record.
// Batch does the same for many changes at a time, faster.
func (t *Table) Add(c *cdc.Change, file uint32, off int64, schema uint32) error {
	if c.Op == cdc.OpTruncate {
		t.addTruncate(c.Pos)
		return nil
	}
	e := Entry{Pos: c.Pos, File: file, Off: off, Op: c.Op, HasEventID: c.HasEventID, EventID: c.EventID, Schema: schema, Image: c.Image}
	h := hashKey(c.Key)
	sh := t.shardOf(h)
	sh.mu.Lock()
	s, ok := sh.find(h, c.Key)
	sh.apply(s, ok, &e)
	return t.settle(sh)
}

func (t *Table) shardOf(h uint64) *shard { return &t.shards[shardIndex(h)] }

func shardIndex(h uint64) int { return int((h >> 26) % nShards) }

func (t *Table) addTruncate(p cdc.Position) {
	t.st.truncates.Add(1)
	t.st.changes.Add(1)
	t.SetTruncate(p)
}

// apply folds e into s, the state find returned (found reports whether it
// existed), and counts it. The caller holds sh.mu.
func (sh *shard) apply(s *State, found bool, e *Entry) {
	sh.changes++
	if e.Op == cdc.OpDelete {
		sh.deletes++
	}
	if !found {
		setEntry(&s.Win, e)
		sh.mem += int64(len(s.Key)+cap(s.Win.Image)) + stateOverhead
		return
	}
	before := cap(s.Win.Image)
	for i := range s.Others {
		before += cap(s.Others[i].Image) + 100
	}
	switch Reduce(s, e) {
	case Duplicate:
		sh.dups++
	case Superseded:
		sh.superseded++
	}
	after := cap(s.Win.Image)
	for i := range s.Others {
		after += cap(s.Others[i].Image) + 100
	}
	sh.mem += int64(after - before)
}

// settle reports the memory growth of sh to the table once it passed a
// step, unlocks sh, and spills when the table is over its limit.
func (t *Table) settle(sh *shard) error {
	if sh.mem < t.flush && sh.mem > -t.flush {
		sh.mu.Unlock()
		return nil
	}
	delta := sh.mem
	sh.mem = 0
	sh.mu.Unlock()
	if t.mem.Add(delta) > t.Limit && t.Limit > 0 {
		return t.spill1(false)
	}
	return nil
}

// SetTruncate records a truncate at p (the greatest one wins).
func (t *Table) SetTruncate(p cdc.Position) {
	t.tmu.Lock()
	if !t.hasTrunc || p.Compare(t.trunc) > 0 {
		t.trunc, t.hasTrunc = p, true
	}
	t.tmu.Unlock()
}

// Truncate returns the truncate position, or nil.
func (t *Table) Truncate() *cdc.Position {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	if !t.hasTrunc {
		return nil
	}
	p := t.trunc
	return &p
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	st := Stats{
		Changes: t.st.changes.Load(), Duplicates: t.st.dups.Load(),
		Truncates: t.st.truncates.Load(), SpillRuns: len(t.runs), SpillBytes: t.spillBytes,
	}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		st.Changes += sh.changes
		st.Duplicates += sh.dups
		st.Superseded += sh.superseded
		st.Deletes += sh.deletes
		sh.mu.Unlock()
	}
	return st
}

// Len returns the number of keys held in memory.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		t.shards[i].mu.Lock()
		n += t.shards[i].n
		t.shards[i].mu.Unlock()
	}
	return n
}

// Spill writes the in-memory states as one sorted run and empties memory.
func (t *Table) Spill() error { return t.spill1(true) }

func (t *Table) spill1(force bool) error {
	if !t.spill.TryLock() {
		// Another goroutine is spilling; wait for it rather than spill twice.
		t.spill.Lock()
		t.spill.Unlock()
		return nil
	}
	defer t.spill.Unlock()
	if !force && t.mem.Load() <= t.Limit {
		return nil // a concurrent spill already made room
	}
	for i := range t.shards {
		t.shards[i].mu.Lock()
	}
	defer func() {
		for i := range t.shards {
			t.shards[i].mu.Unlock()
		}
	}()
	states := t.drainLocked()
	if len(states) == 0 {
		return nil
	}
	if err := os.MkdirAll(t.TempDir, 0o700); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	path := filepath.Join(t.TempDir, fmt.Sprintf("run-%05d.s2", len(t.runs)))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	w := NewRunWriter(f)
	for _, s := range states {
		if err := w.Write(s); err != nil {
			f.Close()
			return fmt.Errorf("spill: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("spill: %w", err)
	}
	if fi, err := f.Stat(); err == nil {
		t.spillBytes += fi.Size()
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	t.runs = append(t.runs, path)
	t.mem.Store(0)
	return nil
}

// drainLocked removes every state from the shards, sorted by key.
func (t *Table) drainLocked() []*State {
	n := 0
	for i := range t.shards {
		n += t.shards[i].n
	}
	items := make([]sortItem, 0, n)
	for i := range t.shards {
		items = t.shards[i].drain(items)
	}
	return sortStates(items)
}

// sortItem caches the first 16 bytes of a key (big-endian, zero-padded) so
// that sorting compares integers and rarely follows the pointer.
type sortItem struct {
	p0, p1 uint64
	s      *State
}

func newSortItem(s *State) sortItem {
	var b [16]byte
	copy(b[:], s.Key)
	return sortItem{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), s}
}

func cmpItems(a, b sortItem) int {
	switch {
	case a.p0 != b.p0:
		return cmp.Compare(a.p0, b.p0)
	case a.p1 != b.p1:
		return cmp.Compare(a.p1, b.p1)
	}
	// Equal zero-padded prefixes: the full keys decide (length included).
	return compareKeys(a.s.Key, b.s.Key)
}

// sortStates sorts by key, the two halves in parallel on large inputs.
func sortStates(items []sortItem) []*State {
	out := make([]*State, len(items))
	if len(items) < 1<<16 {
		slices.SortFunc(items, cmpItems)
		for i := range items {
			out[i] = items[i].s
		}
		return out
	}
	half := len(items) / 2
	a, b := items[:half], items[half:]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); slices.SortFunc(a, cmpItems) }()
	slices.SortFunc(b, cmpItems)
	wg.Wait()
	i, j := 0, 0
	for k := range out {
		if j >= len(b) || (i < len(a) && cmpItems(a[i], b[j]) <= 0) {
			out[k] = a[i].s
			i++
		} else {
			out[k] = b[j].s
			j++
		}
	}
	return out
}

// Iter iterates states in key order.
type Iter interface {
	Next() bool
	State() *State
	Err() error
}

type sliceIter struct {
	s []*State
	i int
}

func (it *sliceIter) Next() bool {
	if it.i >= len(it.s) {
		return false
	}
	it.i++
	return true
}
func (it *sliceIter) State() *State { return it.s[it.i-1] }
func (it *sliceIter) Err() error    { return nil }

// SliceIter iterates states already sorted by key.
func SliceIter(s []*State) Iter { return &sliceIter{s: s} }

// Finish merges memory, spilled runs and the extra sources (e.g. the previous
// snapshot's state, sorted by key) and calls fn for every key in key order
// with its final state. fn must not keep s. Duplicates found while merging
// are added to the stats. Afterwards Again can replay the same stream when
// there were no extra sources.
func (t *Table) Finish(ctx context.Context, extra []Iter, fn func(s *State) error) error {
	for i := range t.shards {
		t.shards[i].mu.Lock()
	}
	mem := t.drainLocked()
	for i := range t.shards {
		t.shards[i].mu.Unlock()
	}
	t.mem.Store(0)
	if len(extra) == 0 {
		t.final, t.replay = mem, true
	}
	it, closeRuns, err := t.merged(ctx, mem, extra, &t.finishDups)
	if err != nil {
		return err
	}
	defer closeRuns()
	for it.Next() {
		if err := fn(it.State()); err != nil {
			return err
		}
	}
	t.st.dups.Add(t.finishDups)
	return it.Err()
}

// merged returns the merge of mem, the spilled runs and extra.
func (t *Table) merged(ctx context.Context, mem []*State, extra []Iter, dups *int64) (Iter, func(), error) {
	iters := append([]Iter{SliceIter(mem)}, extra...)
	var files []*os.File
	closeRuns := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, p := range t.runs {
		f, err := os.Open(p)
		if err != nil {
			closeRuns()
			return nil, nil, fmt.Errorf("open spilled run: %w", err)
		}
		files = append(files, f)
		iters = append(iters, NewRunReader(f))
	}
	if len(iters) == 1 {
		return iters[0], closeRuns, nil
	}
	m, err := NewMergedIter(ctx, iters, dups)
	if err != nil {
		closeRuns()
		return nil, nil, err
	}
	return m, closeRuns, nil
}

// Again replays the stream Finish produced (memory and spilled runs, merged
// again; duplicates are not counted twice). stable reports whether the
// states' images stay valid after the next call to Next (all in memory). ok
// is false when Finish had extra sources. Close the returned func after use.
func (t *Table) Again(ctx context.Context) (it Iter, stable bool, closeFn func(), ok bool, err error) {
	if !t.replay {
		return nil, false, nil, false, nil
	}
	if len(t.runs) == 0 {
		return SliceIter(t.final), true, func() {}, true, nil
	}
	var dups int64
	it, closeFn, err = t.merged(ctx, t.final, nil, &dups)
	return it, false, closeFn, err == nil, err
}

// Release drops the in-memory states.
func (t *Table) Release() { t.final, t.replay = nil, false }

// Cleanup removes spilled runs.
func (t *Table) Cleanup() {
	for _, p := range t.runs {
		os.Remove(p)
	}
}

type heapItem struct {
	it  Iter
	idx int
}

type iterHeap []heapItem

func (h iterHeap) Len() int { return len(h) }
func (h iterHeap) Less(i, j int) bool {
	c := compareKeys(h[i].it.State().Key, h[j].it.State().Key)
	if c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h iterHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *iterHeap) Push(x any)   { *h = append(*h, x.(heapItem)) }
func (h *iterHeap) Pop() any     { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

// MergedIter k-way merges sorted state iterators, folding states of the
// same key with MergeStates (RULES.md rule 6).
type MergedIter struct {
	ctx     context.Context
	h       iterHeap
	acc     State
	cur     *State
	pending bool // the heap's top was returned and must be advanced first
	dups    *int64
	n       int
	err     error
}

// NewMergedIter starts merging iters; duplicates found are added to *dups.
func NewMergedIter(ctx context.Context, iters []Iter, dups *int64) (*MergedIter, error) {
	m := &MergedIter{ctx: ctx, dups: dups}
	for i, it := range iters {
		if it.Next() {
			m.h = append(m.h, heapItem{it, i})
		} else if err := it.Err(); err != nil {
			return nil, err
		}
	}
	heap.Init(&m.h)
	return m, nil
}

// Next implements Iter.
func (m *MergedIter) Next() bool {
	if m.err != nil {
		return false
	}
	if m.pending {
		m.pending = false
		if m.err = advance(&m.h); m.err != nil {
			return false
		}
	}
	if m.h.Len() == 0 {
		return false
	}
	if m.n++; m.n%4096 == 0 {
		if m.err = m.ctx.Err(); m.err != nil {
			return false
		}
	}
	s := m.h[0].it.State()
	if len(m.h) == 1 || compareKeys(s.Key, nextKey(m.h)) != 0 {
		// Fast path: the key occurs in one source only.
		m.cur, m.pending = s, true
		return true
	}
	copyState(&m.acc, s)
	if m.err = advance(&m.h); m.err != nil {
		return false
	}
	for m.h.Len() > 0 && compareKeys(m.h[0].it.State().Key, m.acc.Key) == 0 {
		MergeStates(&m.acc, m.h[0].it.State(), m.dups)
		if m.err = advance(&m.h); m.err != nil {
			return false
		}
	}
	m.cur = &m.acc
	return true
}

// State implements Iter.
func (m *MergedIter) State() *State { return m.cur }

// Err implements Iter.
func (m *MergedIter) Err() error { return m.err }

// MergeIters calls fn for every state of the merge of iters, in key order.
func MergeIters(ctx context.Context, iters []Iter, dups *int64, fn func(s *State) error) error {
	m, err := NewMergedIter(ctx, iters, dups)
	if err != nil {
		return err
	}
	for m.Next() {
		if err := fn(m.State()); err != nil {
			return err
		}
	}
	return m.Err()
}

// nextKey returns the smallest key among the heap's children of the root.
func nextKey(h iterHeap) []byte {
	var k []byte
	for _, i := range []int{1, 2} {
		if i < len(h) {
			if kk := h[i].it.State().Key; k == nil || compareKeys(kk, k) < 0 {
				k = kk
			}
		}
	}
	return k
}

func advance(h *iterHeap) error {
	top := (*h)[0]
	if top.it.Next() {
		heap.Fix(h, 0)
		return nil
	}
	if err := top.it.Err(); err != nil {
		return err
	}
	heap.Pop(h)
	return nil
}

func copyState(dst, src *State) {
	dst.Key = append(dst.Key[:0], src.Key...)
	setEntry(&dst.Win, &src.Win)
	dst.Others = dst.Others[:0]
	for i := range src.Others {
		var e Entry
		setEntry(&e, &src.Others[i])
		dst.Others = append(dst.Others, e)
	}
}
