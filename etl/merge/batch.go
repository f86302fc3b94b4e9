package merge

import (
	"sync/atomic"
	"unsafe"

	"github.com/opsctl/opsctl/etl/cdc"
)

// A Batch folds changes into a Table many at a time. One change at a time,
// the read phase waits on three cache misses per change, one after the
// other: the key's slot, its state, and the state's image buffer. A batch
// groups its changes by shard, locks each shard once, and walks the group in
// stages that only fetch (load or prefetch), so the misses of the whole group
// overlap. The table ends up as Add for each change would leave it.
//
// A Batch belongs to one goroutine. The images of added changes are not
// copied until Flush: the caller keeps them valid until then.
type Batch struct {
	t     *Table
	items []pending
	keys  []byte  // the items' keys (decoders reuse their key buffers)
	order []int32 // item indexes grouped by shard
	first int     // shard the next Flush starts with
	sink  uint64  // see applyGroup
}

type pending struct {
	e      Entry
	h      uint64
	k0, k1 int32 // key is keys[k0:k1]
	s      *State
	found  bool
}

// batchSize is the most changes a batch holds before it flushes by itself:
// groups of about 64 changes per shard.
const batchSize = 4096

var batchSeq atomic.Uint32

// NewBatch returns an empty batch for t.
func (t *Table) NewBatch() *Batch {
	// Batches of different goroutines start on different shards, so they
	// rarely wait for each other's lock.
	first := int(batchSeq.Add(1)*(nShards/2+1)) % nShards
	return &Batch{t: t, items: make([]pending, 0, batchSize), order: make([]int32, batchSize), first: first}
}

// Add queues a change (see Table.Add). c.Image must stay valid until the
// next Flush; the key is copied. A full batch flushes itself.
func (b *Batch) Add(c *cdc.Change, file uint32, off int64, schema uint32) error {
	if c.Op == cdc.OpTruncate {
		b.t.addTruncate(c.Pos)
		return nil
	}
	k0 := len(b.keys)
	b.keys = append(b.keys, c.Key...)
	b.items = append(b.items, pending{
		e:  Entry{Pos: c.Pos, File: file, Off: off, Op: c.Op, HasEventID: c.HasEventID, EventID: c.EventID, Schema: schema, Image: c.Image},
		k0: int32(k0), k1: int32(len(b.keys)),
	})
	if len(b.items) == batchSize {
		return b.Flush()
	}
	return nil
}

// Len returns the number of queued changes.
func (b *Batch) Len() int { return len(b.items) }

// Flush folds the queued changes into the table.
func (b *Batch) Flush() error {
	items := b.items
	if len(items) == 0 {
		return nil
	}
	defer b.Reset()
	var start [nShards + 1]int32
	for i := range items {
		it := &items[i]
		it.h = hashKey(b.keys[it.k0:it.k1])
		start[shardIndex(it.h)+1]++
	}
	for s := 1; s <= nShards; s++ {
		start[s] += start[s-1]
	}
	next := start
	order := b.order[:len(items)]
	for i := range items {
		s := shardIndex(items[i].h)
		order[next[s]] = int32(i)
		next[s]++
	}
	first := b.first
	b.first = (b.first + 1) % nShards
	// Shards another goroutine holds are put off until the others are done.
	var busy [nShards]bool
	nbusy := 0
	for pass := 0; pass < 2; pass++ {
		for j := 0; j < nShards; j++ {
			s := (first + j) % nShards
			group := order[start[s]:start[s+1]]
			if len(group) == 0 || (pass == 1 && !busy[s]) {
				continue
			}
			sh := &b.t.shards[s]
			if pass == 0 && !sh.mu.TryLock() {
				busy[s] = true
				nbusy++
				continue
			}
			if pass == 1 {
				sh.mu.Lock()
			}
			b.applyGroup(sh, group)
			if err := b.t.settle(sh); err != nil {
				return err
			}
		}
		if nbusy == 0 {
			break
		}
	}
	return nil
}

// applyGroup applies one shard's changes; the caller holds sh.mu.
func (b *Batch) applyGroup(sh *shard, group []int32) {
	items := b.items
	// Stage 1: the slots, with plain loads (summed into b.sink so that they
	// are kept): the CPU overlaps them well, while prefetch instructions did
	// less here, probably dropped when the page is not in the TLB, which at
	// a million keys it rarely is. (Loads did worse than prefetches for the
	// states and the image buffers: too many lines in flight.)
	if len(sh.slots) > 0 {
		mask := uint64(len(sh.slots) - 1)
		var sum uint64
		for _, i := range group {
			sum += sh.slots[items[i].h&mask]
		}
		b.sink += sum
		// Stage 2: the states the slots point to (the likely hits).
		for _, i := range group {
			if p := sh.peek(items[i].h); p != nil {
				prefetch(p)
				prefetch(unsafe.Add(p, 64))
				prefetch(unsafe.Add(p, 128))
			}
		}
	}
	// Stage 3: find (or insert) each state, and prefetch the image buffer
	// the change will be copied into.
	for _, i := range group {
		it := &items[i]
		it.s, it.found = sh.find(it.h, b.keys[it.k0:it.k1])
		if img := it.s.Win.Image; it.found && cap(img) > 0 {
			p := unsafe.Pointer(unsafe.SliceData(img))
			for o := 0; o < min(cap(img), 1024); o += 64 {
				prefetch(unsafe.Add(p, o))
			}
		}
	}
	// Stage 4: apply, in the order the changes were added.
	for _, i := range group {
		it := &items[i]
		sh.apply(it.s, it.found, &it.e)
		it.s = nil
	}
}

// Reset drops the queued changes without applying them.
func (b *Batch) Reset() {
	clear(b.items)
	b.items, b.keys = b.items[:0], b.keys[:0]
}
