// Package merge reduces CDC changes to the latest state per key, following
// RULES.md (the single definition of ordering, de-duplication, deletes and
// truncates). Memory is bounded: when the per-key state exceeds the limit,
// sorted runs are spilled to a temp directory and k-way merged at the end.
package merge

import (
	"bytes"

	"github.com/opsctl/opsctl/etl/cdc"
)

// Entry is one event of one key, as kept by the reducer.
type Entry struct {
	Pos        cdc.Position
	File       uint32 // rank of the source object in the sorted list of all consumed objects
	Off        int64  // byte offset of the record in the decompressed object
	Op         cdc.Op
	HasEventID bool
	EventID    [16]byte
	Schema     uint32 // debezium schema id (0: none)
	Image      []byte
}

// State is the reduced state of one key: the winning event, plus the other
// distinct events at the winning position (needed so that merging states
// stays exact, RULES.md rule 6). Others is almost always empty.
type State struct {
	Key    []byte
	Win    Entry
	Others []Entry
}

// SameEvent reports whether two changes of one key at the same position are
// one event delivered twice (RULES.md rule 1).
func SameEvent(a, b *Entry) bool {
	if a.HasEventID || b.HasEventID {
		return a.HasEventID && b.HasEventID && a.EventID == b.EventID
	}
	return a.Pos == b.Pos
}

// Less orders two changes of one key (RULES.md rule 2): position, then the
// first delivery's (file rank, offset).
func Less(a, b *Entry) bool {
	if c := a.Pos.Compare(b.Pos); c != 0 {
		return c < 0
	}
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Off < b.Off
}

func deliveryBefore(a, b *Entry) bool {
	return a.File < b.File || (a.File == b.File && a.Off < b.Off)
}

// Outcome says what Reduce did with a change.
type Outcome int

// Outcomes.
const (
	Applied    Outcome = iota // the change is the key's new winner
	Superseded                // an older change, or a tie that does not win
	Duplicate                 // a copy of an event already held
)

// Reduce folds change e into s (RULES.md rules 1–3). The image bytes of e are
// copied when kept, reusing s's buffers when they fit.
func Reduce(s *State, e *Entry) Outcome {
	c := e.Pos.Compare(s.Win.Pos)
	if c < 0 {
		return Superseded
	}
	if c > 0 {
		setEntry(&s.Win, e)
		s.Others = s.Others[:0]
		return Applied
	}
	// Same position: the same event again, or a distinct tie.
	if SameEvent(&s.Win, e) {
		if deliveryBefore(e, &s.Win) {
			s.Win.File, s.Win.Off = e.File, e.Off
			s.fixWinner()
		}
		return Duplicate
	}
	for i := range s.Others {
		if SameEvent(&s.Others[i], e) {
			if deliveryBefore(e, &s.Others[i]) {
				s.Others[i].File, s.Others[i].Off = e.File, e.Off
				s.fixWinner()
			}
			return Duplicate
		}
	}
	var cp Entry
	setEntry(&cp, e)
	s.Others = append(s.Others, cp)
	if s.fixWinner() {
		return Applied
	}
	return Superseded
}

// fixWinner makes Win the last of the tie set; reports whether it changed.
func (s *State) fixWinner() bool {
	best := -1
	for i := range s.Others {
		if deliveryBefore(&s.Win, &s.Others[i]) && (best < 0 || deliveryBefore(&s.Others[best], &s.Others[i])) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	s.Win, s.Others[best] = s.Others[best], s.Win
	return true
}

func setEntry(dst *Entry, src *Entry) {
	img := dst.Image
	*dst = *src
	if src.Image == nil {
		dst.Image = img[:0]
		if cap(img) == 0 {
			dst.Image = nil
		}
		return
	}
	if cap(img) >= len(src.Image) {
		dst.Image = append(img[:0], src.Image...)
	} else {
		// A little slack: later versions of a row are usually a few bytes longer.
		dst.Image = append(make([]byte, 0, len(src.Image)+len(src.Image)/8+16), src.Image...)
	}
}

// MergeStates folds state b into a (same key); used when merging spilled
// runs and the previous snapshot's state.
func MergeStates(a *State, b *State, dups *int64) {
	if Reduce(a, &b.Win) == Duplicate {
		*dups++
	}
	for i := range b.Others {
		if Reduce(a, &b.Others[i]) == Duplicate {
			*dups++
		}
	}
}

// Live reports whether the key has a row: its winner is an upsert after the
// truncate position (RULES.md rules 3 and 4).
func (s *State) Live(trunc *cdc.Position) bool {
	return s.Win.Op == cdc.OpUpsert && !s.Truncated(trunc)
}

// Truncated reports whether a truncate at trunc removes the key.
func (s *State) Truncated(trunc *cdc.Position) bool {
	return trunc != nil && s.Win.Pos.Compare(*trunc) <= 0
}

func compareKeys(a, b []byte) int { return bytes.Compare(a, b) }
