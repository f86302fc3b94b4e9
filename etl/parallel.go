package etl

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/etl/merge"
	"github.com/opsctl/opsctl/etl/snapshot"
)

// Winning rows are decoded twice, both times in parallel: once to infer the
// schema (inferPool), once to write them (writeParquet). Keeping decoded rows
// between the passes would cost far more memory than decoding again.

const rowBatch = 256

type imgJob struct {
	img    []byte
	schema uint32
	file   uint32
	off    int64
}

type inferPool struct {
	r       *run
	stable  bool // images stay valid (in-memory states): no copy needed
	jobs    chan []imgJob
	batch   []imgJob
	wg      sync.WaitGroup
	schemas []*snapshot.Schema
	failed  atomic.Int64
}

func (r *run) workers() int {
	if r.opts.Workers > 0 {
		return r.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func newInferPool(r *run, stable bool) *inferPool {
	n := r.workers()
	p := &inferPool{r: r, stable: stable, jobs: make(chan []imgJob, 2*n)}
	for i := 0; i < n; i++ {
		s := snapshot.NewSchema()
		p.schemas = append(p.schemas, s)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range p.jobs {
				for _, j := range b {
					// Types straight from the raw image: no values built.
					if err := r.dec.InferImage(j.img, r.schemas.get(j.schema), s.Cols); err != nil {
						p.failed.Add(1)
						r.markFailed(j.file, j.off)
						r.quarantine(r.names[j.file], j.off, "row image: "+err.Error(), j.img)
						continue
					}
				}
			}
		}()
	}
	return p
}

// add queues a live winner's image (copied: the caller reuses the buffer).
func (p *inferPool) add(e *merge.Entry) {
	img := e.Image
	if !p.stable {
		img = append([]byte(nil), img...)
	}
	p.batch = append(p.batch, imgJob{img: img, schema: e.Schema, file: e.File, off: e.Off})
	if len(p.batch) == rowBatch {
		p.jobs <- p.batch
		p.batch = make([]imgJob, 0, rowBatch)
	}
}

// close waits for the workers and returns the merged schema and the number
// of images that failed to decode (quarantined).
func (p *inferPool) close() (*snapshot.Schema, int64) {
	if len(p.batch) > 0 {
		p.jobs <- p.batch
	}
	close(p.jobs)
	p.wg.Wait()
	out := snapshot.NewSchema()
	for _, s := range p.schemas {
		for k, t := range s.Cols {
			out.Cols[k] = snapshot.Merge(out.Cols[k], t)
		}
	}
	return out, p.failed.Load()
}

type writeBatch struct {
	jobs []imgJob
	out  []snapshot.Prepared
	ok   []bool
	done chan struct{}
}

// writeParquet decodes the live rows of the state file again (in parallel)
// and writes them in key order.
func (r *run) writeParquet(ctx context.Context, rr merge.Iter, stable bool, target string, schema *snapshot.Schema, trunc *cdc.Position) ([]snapshot.OutFile, error) {
	w, err := snapshot.NewWriter(target, r.single, r.opts.PartitionBy, schema)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := r.workers()
	work := make(chan *writeBatch, 2*n)
	order := make(chan *writeBatch, 4*n)
	var readErr error
	go func() {
		defer close(work)
		defer close(order)
		b := &writeBatch{done: make(chan struct{})}
		send := func() bool {
			select {
			case order <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return false
			}
			b = &writeBatch{done: make(chan struct{})}
			return true
		}
		for rr.Next() {
			s := rr.State()
			if s.Win.Op != cdc.OpUpsert || s.Truncated(trunc) {
				continue
			}
			img := s.Win.Image
			if !stable {
				img = append([]byte(nil), img...)
			}
			b.jobs = append(b.jobs, imgJob{img: img, schema: s.Win.Schema, file: s.Win.File, off: s.Win.Off})
			if len(b.jobs) == rowBatch && !send() {
				return
			}
		}
		if readErr = rr.Err(); readErr != nil {
			cancel()
			return
		}
		if len(b.jobs) > 0 {
			send()
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := make(map[string]any, 32) // reused: Prepare keeps no reference to it
			var arena snapshot.RowArena
			for b := range work {
				b.out = make([]snapshot.Prepared, len(b.jobs))
				b.ok = make([]bool, len(b.jobs))
				for i, j := range b.jobs {
					if r.failedBefore(j.file, j.off) {
						continue // quarantined by the inference pass: counted once
					}
					if err := r.dec.DecodeImageInto(j.img, r.schemas.get(j.schema), row); err != nil {
						// InferImage is not a validator: a value it could
						// type may still not decode (e.g. bad base64).
						r.writeFailed.Add(1)
						r.quarantine(r.names[j.file], j.off, "row image: "+err.Error(), j.img)
						continue
					}
					b.out[i] = w.PrepareIn(row, len(j.img), &arena)
					b.ok[i] = true
				}
				b.jobs = nil
				close(b.done)
			}
		}()
	}
	var werr error
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if werr != nil || ctx.Err() != nil {
			continue // drain
		}
		for i := range b.out {
			if b.ok[i] {
				if err := w.WritePrepared(b.out[i]); err != nil {
					werr = err
					cancel()
					break
				}
			}
		}
	}
	wg.Wait()
	if werr == nil && readErr != nil {
		werr = fmt.Errorf("read state: %w", readErr)
	}
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		w.Abort()
		return nil, werr
	}
	return w.Close()
}

type rowID struct {
	file uint32
	off  int64
}

// markFailed remembers a row the inference pass quarantined, so that the
// write pass skips it instead of quarantining (and counting) it again.
func (r *run) markFailed(file uint32, off int64) {
	r.failedMu.Lock()
	defer r.failedMu.Unlock()
	if r.failedRows == nil {
		r.failedRows = map[rowID]bool{}
	}
	r.failedRows[rowID{file, off}] = true
	r.nFailed.Add(1)
}

func (r *run) failedBefore(file uint32, off int64) bool {
	if r.nFailed.Load() == 0 {
		return false
	}
	r.failedMu.Lock()
	defer r.failedMu.Unlock()
	return r.failedRows[rowID{file, off}]
}
