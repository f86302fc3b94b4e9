package etl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/etl/merge"
	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/etl/source"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// Result is the run report (--output json).
type Result struct {
	Source          string   `json:"source"`
	Dest            string   `json:"dest"`
	Format          string   `json:"format"`
	DryRun          bool     `json:"dry_run"`
	UpToDate        bool     `json:"up_to_date"`
	Full            bool     `json:"full_rebuild"`
	Version         string   `json:"version,omitempty"`
	PreviousVersion string   `json:"previous_version,omitempty"`
	DataPath        string   `json:"data_path,omitempty"` // where readers point (folder or file)
	ObjectsListed   int      `json:"objects_listed"`
	ObjectsRead     int      `json:"objects_read"`
	ObjectsSkipped  int      `json:"objects_already_consumed"`
	PendingObjects  []string `json:"pending_objects,omitempty"` // dry run: what would be consumed
	BytesRead       int64    `json:"bytes_read"`
	BytesDecoded    int64    `json:"bytes_decompressed"`
	Records         int64    `json:"records"`
	Duplicates      int64    `json:"duplicates"`
	Superseded      int64    `json:"superseded"`
	BadRecords      int64    `json:"bad_records"`
	Skipped         int64    `json:"skipped_records"` // records that carry no row change (below)
	// SkippedByKind counts them: tombstone, schema_change, heartbeat,
	// transaction, message (Debezium); never quarantined.
	SkippedByKind   map[string]int64   `json:"skipped_by_kind,omitempty"`
	Quarantine      string             `json:"quarantine,omitempty"`
	DeleteEvents    int64              `json:"delete_events"`
	TruncateEvents  int64              `json:"truncate_events"`
	LiveKeys        int64              `json:"live_keys"`
	DeletedKeys     int64              `json:"deleted_keys"` // tombstones kept for later runs
	PreviousKeys    int64              `json:"previous_state_keys"`
	Columns         []snapshot.Column  `json:"columns,omitempty"`
	OutputFiles     []snapshot.OutFile `json:"output_files,omitempty"`
	OutputBytes     int64              `json:"output_bytes"`
	SpilledRuns     int                `json:"spilled_runs"`
	SpilledBytes    int64              `json:"spilled_bytes"`
	PrunedVersions  []string           `json:"pruned_versions,omitempty"`
	DurationSeconds float64            `json:"duration_seconds"`
	RecordsPerSec   float64            `json:"records_per_second"`
	// Glue is what --glue-table planned or changed (glue.go).
	Glue []plan.Change `json:"glue,omitempty"`
}

// Errors a caller may test for.
var (
	ErrEmptySource    = errors.New("empty source")
	ErrFormatMismatch = errors.New("format mismatch")
	ErrTooManyBad     = errors.New("too many bad records")
	// ErrRecordTooLarge: a record too large for --memory-limit.
	ErrRecordTooLarge = errors.New("record too large for the memory limit")
)

// Rebuild runs one rebuild: read the unconsumed increments (all of them with
// Full or a single-file destination), merge them with the current snapshot's
// state, write Parquet and publish a new version atomically.
func Rebuild(ctx context.Context, deps Deps, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	r := &run{deps: deps, opts: opts}
	if r.deps.Now == nil {
		r.deps.Now = time.Now
	}
	if r.deps.Log == nil {
		r.deps.Log = slog.New(slog.DiscardHandler)
	}
	return r.do(ctx)
}

type run struct {
	deps Deps
	opts Options
	res  Result
	t0   time.Time

	src       *source.Source
	dstLoc    source.Location
	store     snapshot.Store // nil for a single-file destination
	single    bool
	marked    bool  // the destination carries opsctl's marker
	limit     int64 // --memory-limit (or its default)
	maxRecord int   // the largest record the budget allows
	dec       cdc.Decoder

	tmp string // private temp dir (spills, staging), removed at the end

	prevPtr   snapshot.Pointer
	prev      *snapshot.Manifest
	published *snapshot.Manifest // the version this run switched _current to

	// file ranks
	names []string // all consumed object keys (previous + new), sorted; rank = index

	schemas    schemaTable
	quarantMu  sync.Mutex
	quarant    *bufio.Writer
	quarFile   *os.File
	quarPath   string
	quarErr    error // the quarantine could not be written: the run fails
	quarClosed bool
	badCount   atomic.Int64
	mismatch   atomic.Int64
	good       atomic.Int64
	skipped    atomic.Int64
	skippedBy  [cdc.NumSkipKinds]atomic.Int64
	firstMism  atomic.Value // string

	writeFailed atomic.Int64 // images that failed to decode in the write pass
	failedMu    sync.Mutex
	failedRows  map[rowID]bool // rows the inference pass quarantined
	nFailed     atomic.Int64

	progMu   sync.Mutex
	progress Progress
}

func (r *run) log() *slog.Logger { return r.deps.Log }

func (r *run) do(ctx context.Context) (res Result, err error) {
	r.t0 = r.deps.Now()
	o := r.opts
	srcLoc, _ := source.ParseLocation(o.Source)
	r.dstLoc, _ = source.ParseLocation(o.Dest)
	r.single = isSingleFile(r.dstLoc)
	r.res = Result{Source: srcLoc.String(), Dest: r.dstLoc.String(), Format: o.Format, DryRun: o.DryRun, Full: o.Full || r.single}
	if (srcLoc.IsS3() || r.dstLoc.IsS3()) && r.deps.S3 == nil {
		return r.res, errors.New("an s3:// location needs an S3 client")
	}
	r.src = &source.Source{Loc: srcLoc, S3: r.deps.S3}
	if r.dec, err = cdc.New(o.Format, o.Key); err != nil {
		return r.res, err
	}
	switch {
	case r.single:
	case r.dstLoc.IsS3():
		r.store = snapshot.NewS3Store(r.deps.S3, r.dstLoc.Bucket, r.dstLoc.Prefix)
	default:
		r.store = &snapshot.LocalStore{Dir: r.dstLoc.Prefix}
	}

	objects, err := r.src.List(ctx)
	if err != nil {
		return r.res, err
	}
	r.res.ObjectsListed = len(objects)
	if len(objects) == 0 {
		return r.res, fmt.Errorf("%w: no objects under %s", ErrEmptySource, srcLoc)
	}

	// Plan without the lock (and without any write): what is new?
	pending, err := r.plan(ctx, objects)
	if err != nil {
		return r.res, err
	}
	if len(pending) == 0 {
		r.res.UpToDate = true
		r.res.Version = r.prevPtr.Version
		r.res.DataPath = r.dataPath(r.prevPtr.Version)
		r.res.LiveKeys = r.prev.RowCount
		r.res.Columns = r.prev.Schema
		// Nothing new to read; a Glue switch a failed run left undone is
		// made now.
		err := r.glueSwitch(ctx, r.prev, r.res.DataPath)
		r.finishStats()
		return r.res, err
	}
	if o.DryRun {
		for _, p := range pending {
			r.res.PendingObjects = append(r.res.PendingObjects, p.Key)
			r.res.BytesRead += p.Size
		}
		r.res.Version = r.prevPtr.Version
		err := r.glueSwitch(ctx, r.prev, r.dataPath(r.prevPtr.Version))
		r.finishStats()
		return r.res, err
	}

	if r.store != nil && !r.marked {
		// The destination's first write: from now on it is opsctl's.
		if err := snapshot.WriteMarker(ctx, r.store, r.deps.Now()); err != nil {
			return r.res, err
		}
	}
	// Private temp dir: spilled runs, staged output. Removed however we exit.
	base := o.TempDir
	if base == "" && r.store != nil && r.store.Local() != "" {
		// staging on the destination's file system makes publishing a rename
		base = r.store.Local()
		if err := os.MkdirAll(base, 0o700); err != nil {
			return r.res, fmt.Errorf("create %s: %w", base, err)
		}
	}
	if base == "" && r.single {
		base = filepath.Dir(r.dstLoc.Prefix)
		if err := os.MkdirAll(base, 0o700); err != nil {
			return r.res, fmt.Errorf("create %s: %w", base, err)
		}
	}
	if base == "" {
		base = os.TempDir()
	}
	if r.tmp, err = os.MkdirTemp(base, ".opsctl-rebuild-"); err != nil {
		return r.res, fmt.Errorf("create temp dir: %w", err)
	}
	if abs, err := filepath.Abs(r.tmp); err == nil {
		r.tmp = abs // compared with the absolute leftovers below
	}
	defer os.RemoveAll(r.tmp)
	snapshot.MarkTempDir(r.tmp)
	if r.single {
		// No lock guards a single-file destination: remove only the temp
		// dirs whose run (on this host) is gone.
		for _, d := range snapshot.CleanStaleTempDirs(base, r.tmp) {
			r.log().Info("removed temp dir of an interrupted run", "dir", d)
		}
	}

	if r.store != nil {
		// lerr, not err: the deferred release must set the named result.
		lock, lerr := snapshot.AcquireLockWith(ctx, r.store, snapshot.LockOptions{
			Info: snapshot.NewLockInfo(r.deps.Now(), "opsctl etl rebuild"), BreakLock: o.BreakLock,
			AllowUnprotected: o.AllowUnprotectedLock, Lease: o.LockLease, Now: r.deps.Now,
			Warn: func(msg string, args ...any) { r.log().Warn(msg, args...) }})
		if lerr != nil {
			return r.res, lerr
		}
		defer func() {
			if rerr := lock.Release(context.WithoutCancel(ctx)); rerr != nil && err == nil {
				err = fmt.Errorf("release lock: %w", rerr)
			}
		}()
		// Temp dirs of killed runs (kill -9 skips cleanup): safe to remove
		// now that we hold the lock.
		if base == r.store.Local() {
			absBase, _ := filepath.Abs(base)
			if old, _ := filepath.Glob(filepath.Join(absBase, ".opsctl-rebuild-*")); len(old) > 0 {
				for _, d := range old {
					if d != r.tmp {
						r.log().Info("removing temp dir of an interrupted run", "dir", d)
						os.RemoveAll(d)
					}
				}
			}
		}
		// Another run may have published between planning and locking.
		if pending, err = r.plan(ctx, objects); err != nil {
			return r.res, err
		}
		if len(pending) == 0 {
			r.res.UpToDate = true
			r.res.Version = r.prevPtr.Version
			err = r.glueSwitch(ctx, r.prev, r.dataPath(r.prevPtr.Version))
			r.finishStats()
			return r.res, err
		}
	}
	err = r.build(ctx, pending)
	if err == nil && r.published != nil {
		// After _current: a run killed before this leaves the table on
		// the previous version.
		err = r.glueSwitch(ctx, r.published, r.res.DataPath)
	}
	r.finishStats()
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w: %v", context.Canceled, err)
	}
	return r.res, err
}

func (r *run) finishStats() {
	d := r.deps.Now().Sub(r.t0).Seconds()
	r.res.DurationSeconds = d
	if d > 0 {
		r.res.RecordsPerSec = float64(r.res.Records) / d
	}
}

func (r *run) dataPath(version string) string {
	if r.single {
		return r.dstLoc.Prefix
	}
	if version == "" {
		return ""
	}
	return strings.TrimSuffix(r.store.String(), "/") + "/" + snapshot.VersionPath(version) + snapshot.DataDir
}

// plan reads the current snapshot and returns the objects not yet consumed.
func (r *run) plan(ctx context.Context, objects []source.Object) (_ []source.Object, err error) {
	r.prev = nil
	r.prevPtr = snapshot.Pointer{}
	if r.store == nil {
		return objects, nil
	}
	// Never write (nor prune) where opsctl did not write before.
	if r.marked, err = snapshot.CheckOwned(ctx, r.store); err != nil {
		if errors.Is(err, snapshot.ErrForeignDestination) {
			return nil, &opserr.UsageError{Err: fmt.Errorf("--dest: %w", err)}
		}
		return nil, err
	}
	ptr, m, ok, err := snapshot.ReadCurrent(ctx, r.store)
	if err != nil {
		return nil, err
	}
	if !ok {
		return objects, nil
	}
	r.prevPtr = ptr
	r.res.PreviousVersion = ptr.Version
	if r.opts.Full {
		r.prev = m // kept only as the previous version of the chain
		return objects, nil
	}
	if m.Format != r.opts.Format || !slices.Equal(m.Key, r.opts.Key) || m.PartitionBy != r.opts.PartitionBy || m.Source != r.src.Loc.String() {
		return nil, fmt.Errorf("current snapshot %s was built from %s (format %s, key %v, partition-by %q); this run asks for %s (format %s, key %v, partition-by %q): pass --full to rebuild",
			ptr.Version, m.Source, m.Format, m.Key, m.PartitionBy, r.src.Loc.String(), r.opts.Format, r.opts.Key, r.opts.PartitionBy)
	}
	r.prev = m
	consumed := make(map[string]struct{}, len(m.Consumed))
	for _, k := range m.Consumed {
		consumed[k] = struct{}{}
	}
	var pending []source.Object
	for _, o := range objects {
		if _, ok := consumed[o.Key]; !ok {
			pending = append(pending, o)
		}
	}
	r.res.ObjectsSkipped = len(objects) - len(pending)
	return pending, nil
}

func (r *run) incremental() bool { return r.prev != nil && !r.opts.Full }

func (r *run) report(f func(p *Progress)) {
	if r.opts.Progress == nil {
		return
	}
	r.progMu.Lock()
	f(&r.progress)
	p := r.progress
	r.opts.Progress(p)
	r.progMu.Unlock()
}

// build reads pending objects, merges and publishes.
func (r *run) build(ctx context.Context, pending []source.Object) (err error) {
	o := r.opts
	defer func() {
		// On every exit (a failed run's quarantine tells why it failed).
		if qerr := r.closeQuarantine(context.WithoutCancel(ctx)); qerr != nil && err == nil {
			err = qerr
		}
	}()
	// File ranks over every consumed object key, old and new.
	var prevNames []string
	if r.incremental() {
		prevNames = r.prev.Consumed
	}
	nameSet := make(map[string]struct{}, len(prevNames)+len(pending))
	for _, n := range prevNames {
		nameSet[n] = struct{}{}
	}
	for _, p := range pending {
		nameSet[p.Key] = struct{}{}
	}
	r.names = make([]string, 0, len(nameSet))
	for n := range nameSet {
		r.names = append(r.names, n)
	}
	sort.Strings(r.names)
	rank := make(map[string]uint32, len(r.names))
	for i, n := range r.names {
		rank[n] = uint32(i)
	}
	if r.incremental() {
		for _, s := range r.prev.Schemas {
			r.schemas.intern([]byte(s))
		}
	}

	limit := o.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryLimit()
	}
	r.limit = limit
	// One record is copied many times on its way to Parquet (framing
	// buffer and its growth, per-key state, page buffer, statistics,
	// compression: about 20 times its size measured with /usr/bin/time): a
	// record beyond 1/RecordShare of the budget fails the run with a clear
	// message, before its bytes are even buffered, instead of taking the
	// process past the limit; a compressed object is read whole only up to
	// an eighth of it.
	r.maxRecord = int(min(limit/RecordShare, source.DefaultMaxRecord))
	r.src.MaxInMemory = int(limit / 8)
	// The per-key state gets most of the budget; decompression buffers,
	// Parquet row groups and the GC's headroom need the rest.
	table := merge.NewTable(limit*45/100, filepath.Join(r.tmp, "spill"))
	defer table.Cleanup()

	tRead := time.Now()
	if err := r.read(ctx, pending, rank, table); err != nil {
		if errors.Is(err, errBadLimit) {
			// Stopped early: the run fails anyway, so the rest of the
			// input is not read (nor quarantined).
			r.res.BadRecords = r.badCount.Load()
			return fmt.Errorf("%w: more than %d (--max-bad-records); reading stopped at bad record %d; nothing published; see %s", ErrTooManyBad, o.MaxBadRecords, r.res.BadRecords, r.res.Quarantine)
		}
		return err
	}
	r.log().Debug("phase done", "phase", "read", "seconds", time.Since(tRead).Seconds(), "records", r.res.Records)
	st := table.Stats()
	r.res.Duplicates, r.res.Superseded = st.Duplicates, st.Superseded
	r.res.DeleteEvents, r.res.TruncateEvents = st.Deletes, st.Truncates

	if r.good.Load() == 0 && r.mismatch.Load() > 0 {
		first, _ := r.firstMism.Load().(string)
		return fmt.Errorf("%w: none of the %d records looks like %s (first: %s); check --format", ErrFormatMismatch, r.res.Records, o.Format, first)
	}
	if !r.incremental() && (r.res.Records == 0 || r.good.Load() == 0) {
		if r.badCount.Load() == 0 {
			return fmt.Errorf("%w: the %d objects under %s hold no change records", ErrEmptySource, len(pending), r.src.Loc)
		}
	}
	if err := r.checkBad(); err != nil {
		return err
	}

	// Merge memory + spilled runs + the previous state; write the new state
	// and infer the schema from the live rows.
	r.report(func(p *Progress) { p.Phase = "merge" })
	tMerge := time.Now()
	var extra []merge.Iter
	var trunc *cdc.Position = table.Truncate()
	if r.incremental() {
		if r.prev.Truncate != nil && (trunc == nil || r.prev.Truncate.Compare(*trunc) > 0) {
			t := *r.prev.Truncate
			trunc = &t
		}
		rc, err := r.store.Open(ctx, snapshot.VersionPath(r.prev.Version)+r.prev.State)
		if err != nil {
			return fmt.Errorf("read state of current version %s: %w", r.prev.Version, err)
		}
		defer rc.Close()
		rr := merge.NewRunReader(rc)
		fileMap := make([]uint32, len(prevNames))
		for i, n := range prevNames {
			fileMap[i] = rank[n]
		}
		rr.FileMap = fileMap
		extra = append(extra, &countingIter{Iter: rr, n: &r.res.PreviousKeys})
	}
	// The state file is the next run's input (versioned destinations). A
	// single-file destination needs none: the second pass replays the merge
	// of memory and spilled runs instead of writing and reading every state.
	statePath := filepath.Join(r.tmp, snapshot.StateName)
	sf, err := os.OpenFile(statePath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer sf.Close()
	sw := merge.NewRunWriter(sf)
	writeState := !r.single || len(extra) > 0
	inMemory := table.Stats().SpillRuns == 0 && len(extra) == 0
	infer := newInferPool(r, inMemory)
	var live, tombs int64
	var tombKey []byte // a deleted key: the key columns' types for an emptied table
	err = table.Finish(ctx, extra, func(s *merge.State) error {
		if s.Truncated(trunc) {
			return nil
		}
		if s.Win.Op != cdc.OpUpsert {
			if tombs == 0 {
				tombKey = bytes.Clone(s.Key)
			}
			tombs++
		} else {
			infer.add(&s.Win)
			live++
		}
		if writeState {
			return sw.Write(s)
		}
		return nil
	})
	schema, failed := infer.close()
	live -= failed
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := sw.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	st = table.Stats()
	r.res.Duplicates = st.Duplicates
	r.res.SpilledRuns, r.res.SpilledBytes = st.SpillRuns, st.SpillBytes
	// Replay (memory, or memory + spilled runs) when there is no state file
	// or everything is in memory; else read the state file and free memory.
	replay := !writeState || st.SpillRuns == 0
	if !replay {
		table.Release()
		table.Cleanup()
	}
	r.res.LiveKeys, r.res.DeletedKeys = live, tombs
	if err := r.checkBad(); err != nil {
		return err
	}
	if live == 0 {
		r.emptyTableSchema(schema, tombKey)
	}
	if o.PartitionBy != "" {
		if _, ok := schema.Cols[o.PartitionBy]; !ok && live == 0 {
			schema.Cols[o.PartitionBy] = &snapshot.Type{Kind: snapshot.Null}
		}
		if _, ok := schema.Cols[o.PartitionBy]; !ok && live > 0 {
			// A usage error found only once the columns are known: nothing
			// was written yet.
			return opserr.Usagef("--partition-by %s: no row has that column (columns: %s)", o.PartitionBy, columnNames(schema))
		}
	}
	schema.Finalize()
	r.res.Columns = schema.Columns()

	// Second pass over the (sorted) state: write the live rows as Parquet.
	r.log().Debug("phase done", "phase", "merge", "seconds", time.Since(tMerge).Seconds(), "live", live)
	r.report(func(p *Progress) { p.Phase = "write" })
	tWrite := time.Now()
	outDir := filepath.Join(r.tmp, "data")
	outTarget := outDir
	if r.single {
		outTarget = filepath.Join(r.tmp, filepath.Base(r.dstLoc.Prefix))
	}
	var files []snapshot.OutFile
	if live > 0 {
		var states merge.Iter
		stable := false
		again, stbl, closeAgain, ok, err := table.Again(ctx)
		if err != nil {
			return err
		}
		if ok && replay {
			defer closeAgain()
			states, stable = again, stbl
		} else {
			f, err := os.Open(statePath)
			if err != nil {
				return err
			}
			defer f.Close()
			states = merge.NewRunReader(f)
		}
		if files, err = r.writeParquet(ctx, states, stable, outTarget, schema, trunc); err != nil {
			return err
		}
	}
	table.Release()
	if len(files) == 0 {
		// An empty table is a table: published with its columns.
		if files, err = r.writeEmpty(outTarget, schema); err != nil {
			return err
		}
	}
	for _, f := range files {
		r.res.OutputBytes += f.Bytes
	}
	if n := r.writeFailed.Load(); n > 0 {
		live -= n
		r.res.LiveKeys = live
		if err := r.checkBad(); err != nil {
			return err
		}
	}
	r.log().Debug("phase done", "phase", "write", "seconds", time.Since(tWrite).Seconds())
	// Every bad record is on disk before anything is published.
	if err := r.closeQuarantine(ctx); err != nil {
		return err
	}

	if r.single {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Rename(outTarget, r.dstLoc.Prefix); err != nil {
			return fmt.Errorf("publish %s: %w", r.dstLoc.Prefix, err)
		}
		if r.badCount.Load() == 0 {
			os.Remove(r.quarantinePath()) // a previous run's bad records no longer describe this file
		}
		r.res.OutputFiles = []snapshot.OutFile{{Path: r.dstLoc.Prefix, Rows: files[0].Rows, Bytes: files[0].Bytes}}
		r.res.DataPath = r.dstLoc.Prefix
		return nil
	}
	return r.publish(ctx, files, outDir, statePath, live, tombs, trunc, schema, pending)
}

type countingIter struct {
	merge.Iter
	n *int64
}

func (c *countingIter) Next() bool {
	ok := c.Iter.Next()
	if ok {
		*c.n++
	}
	return ok
}

func (r *run) checkBad() error {
	if err := r.quarantineErr(); err != nil {
		return err
	}
	bad := r.badCount.Load()
	r.res.BadRecords = bad
	if bad > r.opts.MaxBadRecords {
		return fmt.Errorf("%w: %d bad records (limit --max-bad-records %d); nothing published; see %s", ErrTooManyBad, bad, r.opts.MaxBadRecords, r.res.Quarantine)
	}
	return nil
}

// publish uploads the version (data, state, manifest), switches the pointer
// last, then prunes old versions.
func (r *run) publish(ctx context.Context, files []snapshot.OutFile, outDir, statePath string, live, tombs int64, trunc *cdc.Position, schema *snapshot.Schema, pending []source.Object) error {
	r.report(func(p *Progress) { p.Phase = "publish" })
	version := snapshot.NewVersionID(r.deps.Now())
	if r.prevPtr.Version != "" && version <= r.prevPtr.Version {
		// clocks can step back; versions must keep sorting after their predecessor
		version = r.prevPtr.Version + "+1"
	}
	vdir := snapshot.VersionPath(version)
	for i := range files {
		name := vdir + snapshot.DataDir + files[i].Path
		if err := r.store.PutFile(ctx, name, filepath.Join(outDir, filepath.FromSlash(files[i].Path))); err != nil {
			return fmt.Errorf("publish %s: %w", name, err)
		}
		files[i].Path = snapshot.DataDir + files[i].Path
	}
	if err := r.store.PutFile(ctx, vdir+snapshot.StateName, statePath); err != nil {
		return fmt.Errorf("publish state: %w", err)
	}
	m := &snapshot.Manifest{
		FormatVersion: 1, Version: version, PreviousVersion: r.prevPtr.Version, CreatedAt: r.deps.Now().UTC(),
		Source: r.src.Loc.String(), Format: r.opts.Format, Key: r.opts.Key, PartitionBy: r.opts.PartitionBy,
		RowCount: live, Files: files, Schema: schema.Columns(), ColumnTypes: schema.Cols, State: snapshot.StateName, StateKeys: live + tombs, Tombstones: tombs,
		Truncate: trunc, Schemas: r.schemas.all(), Full: !r.incremental(), NewObjects: len(pending), Consumed: r.names,
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := r.store.Put(ctx, vdir+snapshot.ManifestName, mb); err != nil {
		return fmt.Errorf("publish manifest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted before the switch: the previous version stays current
	}
	ptr := snapshot.Pointer{Version: version, Manifest: vdir + snapshot.ManifestName, Data: vdir + snapshot.DataDir, UpdatedAt: r.deps.Now().UTC()}
	pb, _ := json.MarshalIndent(ptr, "", "  ")
	if err := r.store.Put(ctx, snapshot.CurrentName, pb); err != nil {
		return fmt.Errorf("switch %s to %s: %w", snapshot.CurrentName, version, err)
	}
	r.res.Version = version
	r.res.DataPath = r.dataPath(version)
	r.res.OutputFiles = files
	r.published = m
	keep := r.opts.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	pruned, err := snapshot.PruneStartedAt(context.WithoutCancel(ctx), r.store, m, keep, r.t0, func(v string) (*snapshot.Manifest, error) {
		b, err := r.store.Get(ctx, snapshot.VersionPath(v)+snapshot.ManifestName)
		if err != nil {
			return nil, err
		}
		var pm snapshot.Manifest
		return &pm, json.Unmarshal(b, &pm)
	})
	r.res.PrunedVersions = pruned
	if err != nil {
		r.log().Warn("prune old versions", "err", err)
	}
	return nil
}

// schemaTable interns Debezium schemas (ids start at 1).
type schemaTable struct {
	mu   sync.RWMutex
	byS  map[string]uint32
	list [][]byte
}

func (t *schemaTable) intern(raw []byte) uint32 {
	if len(raw) == 0 {
		return 0
	}
	t.mu.RLock()
	id, ok := t.byS[string(raw)]
	t.mu.RUnlock()
	if ok {
		return id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.byS[string(raw)]; ok {
		return id
	}
	if t.byS == nil {
		t.byS = map[string]uint32{}
	}
	cp := bytes.Clone(raw)
	t.list = append(t.list, cp)
	id = uint32(len(t.list))
	t.byS[string(cp)] = id
	return id
}

func (t *schemaTable) get(id uint32) []byte {
	if id == 0 {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.list[id-1]
}

func (t *schemaTable) all() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, len(t.list))
	for i, b := range t.list {
		out[i] = string(b)
	}
	return out
}

// quarantine records a bad record with its object and byte offset. A
// quarantine that cannot be written fails the run (quarantineErr): bad
// records are never dropped silently.
func (r *run) quarantine(object string, off int64, reason string, data []byte) {
	r.badCount.Add(1)
	r.quarantMu.Lock()
	defer r.quarantMu.Unlock()
	if r.quarErr != nil {
		return
	}
	if r.quarant == nil {
		if r.quarClosed {
			r.quarErr = errors.New("quarantine already closed (internal error)")
			return
		}
		path := r.quarantinePath()
		r.quarPath = path
		r.res.Quarantine = r.quarantineTarget()
		f, err := createPrivate(path)
		if err != nil {
			r.quarErr = fmt.Errorf("write quarantine %s: %w", path, err)
			return
		}
		r.quarant = bufio.NewWriterSize(f, 64<<10)
		r.quarFile = f
	}
	const maxShown = 64 << 10
	rec := data
	if len(rec) > maxShown {
		rec = rec[:maxShown]
	}
	q := struct {
		Object       string `json:"object"`
		Offset       int64  `json:"offset"`
		Reason       string `json:"reason"`
		Record       string `json:"record"`
		RecordBase64 []byte `json:"record_base64,omitempty"` // when the bytes are not valid UTF-8
		Length       int    `json:"length"`
	}{Object: object, Offset: off, Reason: reason, Length: len(data)}
	if utf8.Valid(rec) {
		q.Record = string(rec)
	} else {
		q.RecordBase64 = rec // JSON text cannot hold the bytes as they are
	}
	line, err := json.Marshal(q)
	if err == nil {
		_, err = r.quarant.Write(append(line, '\n'))
	}
	if err != nil {
		r.quarErr = fmt.Errorf("write quarantine %s: %w", r.quarPath, err)
	}
}

// createPrivate creates path for this run's use only: mode 0600 in a 0700
// directory, never through a symlink (O_NOFOLLOW) and never an existing
// file (O_EXCL): the quarantine's path is predictable, so another user could
// plant a link there. A regular file left by an earlier run is replaced.
func createPrivate(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s exists and is not a regular file (%s); refusing to write through it", path, fi.Mode().Type())
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
}

// quarantineErr returns why the quarantine could not be written, if so.
func (r *run) quarantineErr() error {
	r.quarantMu.Lock()
	defer r.quarantMu.Unlock()
	return r.quarErr
}

func (r *run) quarantinePath() string {
	switch {
	case r.single:
		return r.dstLoc.Prefix + ".quarantine.ndjson"
	case r.store.Local() != "":
		return filepath.Join(r.store.Local(), filepath.FromSlash(snapshot.QuarantineDir), r.t0.UTC().Format("20060102T150405.000Z")+".ndjson")
	}
	return filepath.Join(r.tmp, "quarantine.ndjson")
}

func (r *run) quarantineTarget() string {
	if r.store != nil && r.store.Local() == "" {
		return strings.TrimSuffix(r.store.String(), "/") + "/" + snapshot.QuarantineDir + r.t0.UTC().Format("20060102T150405.000Z") + ".ndjson"
	}
	return r.quarantinePath()
}

// closeQuarantine flushes and closes the file and uploads it when the
// destination is S3. Bad records found after it (none: it runs last) would
// fail the run.
func (r *run) closeQuarantine(ctx context.Context) error {
	r.quarantMu.Lock()
	defer r.quarantMu.Unlock()
	r.quarClosed = true
	if r.quarant == nil {
		return r.quarErr
	}
	err := r.quarant.Flush()
	if e := r.quarFile.Sync(); err == nil {
		err = e
	}
	if e := r.quarFile.Close(); err == nil {
		err = e
	}
	r.quarant, r.quarFile = nil, nil
	if err == nil && r.store != nil && r.store.Local() == "" {
		err = r.store.PutFile(ctx, snapshot.QuarantineDir+r.t0.UTC().Format("20060102T150405.000Z")+".ndjson", r.quarPath)
	}
	if err != nil && r.quarErr == nil {
		r.quarErr = fmt.Errorf("write quarantine %s: %w", r.quarPath, err)
	}
	return r.quarErr
}

// read decodes every pending object with a pool of workers.
func (r *run) read(ctx context.Context, pending []source.Object, rank map[string]uint32, table *merge.Table) (err error) {
	workers := r.opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(pending))
	var total int64
	for _, p := range pending {
		total += p.Size
	}
	r.report(func(p *Progress) { p.Phase = "read"; p.ObjectsTotal = len(pending); p.BytesTotal = total })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan source.Object)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	var records, decoded atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := table.NewBatch()
			for obj := range jobs {
				n, nb, err := r.readObject(ctx, obj, rank[obj.Key], batch)
				records.Add(n)
				decoded.Add(nb)
				if err != nil {
					errc <- err
					cancel()
					return
				}
				r.report(func(p *Progress) { p.ObjectsDone++; p.BytesDone += obj.Size; p.Records = records.Load() })
			}
		}()
	}
feed:
	for _, p := range pending {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errc)
	r.res.Records = records.Load()
	r.res.BytesDecoded = decoded.Load()
	r.res.ObjectsRead = len(pending)
	for _, p := range pending {
		r.res.BytesRead += p.Size
	}
	r.res.Skipped = r.skipped.Load()
	for k := range r.skippedBy {
		if n := r.skippedBy[k].Load(); n > 0 {
			if r.res.SkippedByKind == nil {
				r.res.SkippedByKind = map[string]int64{}
			}
			r.res.SkippedByKind[cdc.SkipKind(k).String()] = n
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}

// errBadLimit stops the read phase once more records are bad than
// --max-bad-records allows.
var errBadLimit = errors.New("bad record limit exceeded")

// overBadLimit reports whether the run has more bad records than it may
// have, and so cannot succeed. While every bad record so far is a format
// mismatch and none was good, reading goes on: the format check
// (mismatchAbort) then gives the better message.
func (r *run) overBadLimit() bool {
	if r.badCount.Load() <= r.opts.MaxBadRecords {
		return false
	}
	return r.good.Load() > 0 || r.mismatch.Load() < r.badCount.Load()
}

// mismatchAbort: after this many records of an object with nothing but
// format mismatches, stop early (the format is wrong, not the data).
const mismatchAbort = 1000

// readObject decodes one object's records into batch, which it flushes
// before the scanner reuses the bytes the queued changes alias.
func (r *run) readObject(ctx context.Context, obj source.Object, file uint32, batch *merge.Batch) (records, decoded int64, err error) {
	rc, err := r.src.Open(ctx, obj)
	if errors.Is(err, source.ErrCorrupt) {
		return 0, 0, r.badObject(obj, 0, 0, err, nil)
	}
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	defer batch.Reset() // on error: drop what still aliases this object
	sc := source.NewScanner(rc, min(1<<20, r.maxRecord))
	sc.SetMaxRecord(r.maxRecord)
	var c cdc.Change
	sc.Try = func(b []byte) (int, bool) {
		n, err := r.dec.DecodePrefix(b, &c)
		return n, err == nil
	}
	var flushErr error
	sc.BeforeRefill = func() {
		if flushErr == nil {
			flushErr = batch.Flush()
		}
	}
	var lastSchema []byte
	var lastID uint32
	for sc.Next() {
		if flushErr != nil {
			return records, decoded, flushErr
		}
		rec := sc.Record()
		records++
		if records%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return records, decoded, err
			}
		}
		decoded = rec.Offset + int64(len(rec.Data))
		if rec.Bad && isNullLiteral(rec.Data) {
			// JSON null is no object, but it is a Debezium tombstone:
			// let the decoder say what it is.
			rec.Bad = false
		}
		if rec.Bad && rec.TooLarge {
			return records, decoded, fmt.Errorf("%w: %s byte %d: a record larger than %s (1/%d of --memory-limit %s) cannot be processed within the memory limit; raise --memory-limit (%s for each MiB of the largest record)",
				ErrRecordTooLarge, obj.Key, rec.Offset, sizeText(int64(r.maxRecord)), RecordShare, sizeText(r.limit), sizeText(RecordShare<<20))
		}
		if rec.Bad {
			r.quarantine(obj.Key, rec.Offset, rec.Reason, rec.Data)
			if r.overBadLimit() {
				return records, decoded, errBadLimit
			}
			continue
		}
		var err error
		if !rec.Decoded {
			err = r.dec.Decode(rec.Data, &c)
		}
		if err != nil {
			switch {
			case errors.Is(err, cdc.ErrSkip):
				r.skipped.Add(1)
				r.skippedBy[cdc.SkipKindOf(err)].Add(1)
				continue
			case errors.Is(err, cdc.ErrMismatch):
				if r.mismatch.Add(1) == 1 {
					r.firstMism.Store(err.Error())
				}
				if r.good.Load() == 0 && r.mismatch.Load() >= mismatchAbort {
					return records, decoded, fmt.Errorf("%w: %d records in a row do not look like %s (%v); check --format", ErrFormatMismatch, r.mismatch.Load(), r.opts.Format, err)
				}
			}
			r.quarantine(obj.Key, rec.Offset, err.Error(), rec.Data)
			if r.overBadLimit() {
				return records, decoded, errBadLimit
			}
			continue
		}
		if r.good.Load() == 0 {
			r.good.Store(1) // a flag: a shared counter would cost every record a contended write
		}
		var sid uint32
		if len(c.Schema) > 0 {
			if bytes.Equal(c.Schema, lastSchema) {
				sid = lastID
			} else {
				sid = r.schemas.intern(c.Schema)
				lastSchema, lastID = append(lastSchema[:0], c.Schema...), sid
			}
		}
		if err := batch.Add(&c, file, rec.Offset, sid); err != nil {
			return records, decoded, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, source.ErrCorrupt) {
			if flushErr == nil {
				flushErr = batch.Flush() // the records read before it are applied
			}
			if flushErr != nil {
				return records, decoded, flushErr
			}
			rest, off := sc.Pending()
			return records, max(decoded, off+int64(len(rest))), r.badObject(obj, off, records, err, rest)
		}
		return records, decoded, fmt.Errorf("read %s: %w", obj.Key, err)
	}
	if flushErr == nil {
		flushErr = batch.Flush()
	}
	return records, decoded, flushErr
}

func columnNames(s *snapshot.Schema) string {
	names := make([]string, 0, len(s.Cols))
	for k := range s.Cols {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func isNullLiteral(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// emptyTableSchema gives a table without live rows the columns it had: those
// of the current version, those the Debezium schema wrappers declare, and
// the key columns (typed from a deleted key).
func (r *run) emptyTableSchema(s *snapshot.Schema, tombKey []byte) {
	add := func(cols map[string]*cdc.Type) {
		for k, t := range cols {
			s.Cols[k] = snapshot.Merge(s.Cols[k], t)
		}
	}
	if r.prev != nil {
		add(r.prev.ColumnTypes)
	}
	if dbz, ok := r.dec.(*cdc.Debezium); ok {
		for _, raw := range r.schemas.all() {
			if cols, err := dbz.SchemaColumns([]byte(raw)); err == nil {
				add(cols)
			}
		}
	}
	if tombKey != nil {
		add(r.dec.KeyColumns(tombKey))
	}
}

// writeEmpty writes a table without rows.
func (r *run) writeEmpty(target string, schema *snapshot.Schema) ([]snapshot.OutFile, error) {
	w, err := snapshot.NewWriter(target, r.single, r.opts.PartitionBy, schema)
	if err != nil {
		return nil, fmt.Errorf("no live rows, and no column is known (no schema wrapper, no previous version): %w", err)
	}
	return w.CloseEmpty()
}

// badObject quarantines what could be read of a compressed object that is
// corrupt or truncated: the records before the damage were applied, the
// bytes after the last whole record are kept in the quarantine with the
// reason. It counts as one bad record (--max-bad-records), and the object
// is consumed like any other, so it does not block later runs.
func (r *run) badObject(obj source.Object, off, records int64, cause error, rest []byte) error {
	reason := fmt.Sprintf("bad object: %v; %d records before byte %d of the decompressed data were read", cause, records, off)
	r.log().Warn("corrupt or truncated object", "object", obj.Key, "err", cause, "records_read", records)
	r.quarantine(obj.Key, off, reason, rest)
	if r.overBadLimit() {
		return errBadLimit
	}
	return nil
}

// RecordShare: the largest record is 1/RecordShare of the memory limit.
const RecordShare = 64

func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
