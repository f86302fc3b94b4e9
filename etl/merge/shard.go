package merge

import (
	"bytes"
	"sync"
	"unsafe"
)

// A shard is an open-addressing hash table of states, built for the read
// phase's one hot operation: find or insert a key. Compared with a
// map[string]*State it saves the cache misses that dominate at a million
// keys: the slots are 8-byte words (a hash tag and a state index), states
// live in fixed chunks (no allocation per key, stable addresses), and keys
// are packed into an arena where they stay close together.
type shard struct {
	mu     sync.Mutex
	slots  []uint64 // 0: empty; else hash>>32 << 32 | state index+1
	chunks []*[chunkLen]entry
	n      int
	arena  []byte // current key arena chunk
	mem    int64  // bytes added since last reported to the table (under mu)
	// Counters of the changes applied here (Stats sums them): per shard,
	// under mu, so the workers do not fight over shared counters.
	changes, dups, superseded, deletes int64
	_                                  [64]byte
}

const (
	chunkLen   = 512
	arenaChunk = 64 << 10
	minSlots   = 1 << 10
)

// entry is a state with room for a short key next to it: the key compare on
// lookup then reads the cache line the state's header is on anyway.
type entry struct {
	kin [inlineKey]byte
	s   State
}

const inlineKey = 24

// stateOverhead is the memory per key beyond key and image bytes: the State
// in its chunk and (at most 3/4 full, doubling) about 16 bytes of slots.
const stateOverhead = int64(unsafe.Sizeof(entry{})) + 16

// find returns the state of key (hash h), inserting an empty one with the
// key set when there is none (found false).
func (sh *shard) find(h uint64, key []byte) (s *State, found bool) {
	if (sh.n+1)*4 > len(sh.slots)*3 {
		sh.grow()
	}
	mask := uint64(len(sh.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		v := sh.slots[i]
		if v == 0 {
			idx := sh.n
			if idx%chunkLen == 0 {
				sh.chunks = append(sh.chunks, new([chunkLen]entry))
			}
			sh.n++
			sh.slots[i] = tag<<32 | uint64(idx+1)
			e := &sh.chunks[idx/chunkLen][idx%chunkLen]
			if len(key) <= inlineKey {
				e.s.Key = append(e.kin[:0:len(key)], key...)
			} else {
				e.s.Key = sh.keep(key)
			}
			return &e.s, false
		}
		if v>>32 == tag {
			idx := int(uint32(v)) - 1
			s = &sh.chunks[idx/chunkLen][idx%chunkLen].s
			if bytes.Equal(s.Key, key) {
				return s, true
			}
		}
	}
}

// keep copies a long key into the arena (keys are never modified afterwards).
func (sh *shard) keep(key []byte) []byte {
	if len(key) > arenaChunk/8 {
		return append([]byte(nil), key...)
	}
	if len(sh.arena)+len(key) > cap(sh.arena) {
		sh.arena = make([]byte, 0, arenaChunk)
	}
	off := len(sh.arena)
	sh.arena = append(sh.arena, key...)
	return sh.arena[off : off+len(key) : off+len(key)]
}

func (sh *shard) grow() {
	n := 2 * len(sh.slots)
	if n < minSlots {
		n = minSlots
	}
	slots := make([]uint64, n)
	mask := uint64(n - 1)
	for idx := 0; idx < sh.n; idx++ {
		h := hashKey(sh.chunks[idx/chunkLen][idx%chunkLen].s.Key)
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = h>>32<<32 | uint64(idx+1)
	}
	sh.slots = slots
}

// drain appends the shard's states to out and empties the shard.
func (sh *shard) drain(out []sortItem) []sortItem {
	for idx := 0; idx < sh.n; idx++ {
		out = append(out, newSortItem(&sh.chunks[idx/chunkLen][idx%chunkLen].s))
	}
	sh.slots, sh.chunks, sh.n, sh.arena, sh.mem = nil, nil, 0, nil, 0
	return out
}

// peek returns the state entry the probe for h reaches first with a matching
// tag (the likely hit), or nil; only for prefetching.
func (sh *shard) peek(h uint64) unsafe.Pointer {
	mask := uint64(len(sh.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		v := sh.slots[i]
		if v == 0 {
			return nil
		}
		if v>>32 == tag {
			idx := int(uint32(v)) - 1
			return unsafe.Pointer(&sh.chunks[idx/chunkLen][idx%chunkLen])
		}
	}
}
