package snapshot

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// RowGroupBytes is the target size of a row group, counted as uncompressed
// column data (see valueBytes): about
// 128 MiB, what Athena, Spark and DuckDB read best.
const RowGroupBytes = 128 << 20

// MaxPartitions bounds --partition-by fan-out (one open file per partition).
const MaxPartitions = 1000

// OutFile is one written Parquet file.
type OutFile struct {
	Path  string `json:"path"` // relative to the writer's directory, slash-separated
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Writer writes rows (already in key order) as zstd Parquet under Dir:
// part-00000.parquet, or col=value/part-00000.parquet with PartitionBy.
// With Single set, Dir is the exact file path.
type Writer struct {
	Dir         string
	Single      bool
	PartitionBy string
	// RowGroupBytes overrides the row group target (tests); 0 = RowGroupBytes.
	RowGroupBytes int64

	schema   *Schema
	pqSchema *parquet.Schema
	rb       *rowBuilder
	perPool  sync.Pool
	parts    map[string]*partWriter
	order    []string
	rowBytes int64
}

type partWriter struct {
	rel    string
	f      *os.File
	w      *parquet.Writer
	batch  []parquet.Row
	rows   int64
	rgSize int64
}

// NewWriter returns a writer for rows of schema s (finalized).
func NewWriter(dir string, single bool, partitionBy string, s *Schema) (*Writer, error) {
	g := parquet.Group{}
	for name, t := range s.Cols {
		if name == partitionBy {
			continue
		}
		g[name] = Node(t)
	}
	if len(g) == 0 {
		return nil, fmt.Errorf("no columns to write")
	}
	w := &Writer{Dir: dir, Single: single, PartitionBy: partitionBy, schema: s, pqSchema: parquet.NewSchema("snapshot", g), parts: map[string]*partWriter{}}
	w.rb = newRowBuilder(s, partitionBy)
	w.perPool.New = func() any { return make([][]parquet.Value, w.rb.nLeaf) }
	return w, nil
}

// PartitionDir returns the hive folder for a partition value.
func PartitionDir(col string, v any) string {
	if v == nil {
		return col + "=__HIVE_DEFAULT_PARTITION__"
	}
	return col + "=" + url.PathEscape(ToString(v))
}

// Prepared is a row converted for the Parquet schema, with its partition.
type Prepared struct {
	Row  parquet.Row
	Part string
	Size int
}

// Prepare converts a decoded row for writing. It is safe for concurrent use
// (workers prepare rows, one goroutine writes them in key order).
func (w *Writer) Prepare(row map[string]any, size int) Prepared {
	return w.PrepareIn(row, size, nil)
}

// PrepareIn is Prepare with the row's values stored in arena (one per
// worker), which saves an allocation per row.
func (w *Writer) PrepareIn(row map[string]any, size int, arena *RowArena) Prepared {
	p := Prepared{Size: size}
	if w.PartitionBy != "" {
		p.Part = PartitionDir(w.PartitionBy, row[w.PartitionBy])
	}
	per := w.perPool.Get().([][]parquet.Value)
	p.Row = w.rb.build(row, per, arena)
	w.perPool.Put(per)
	p.Size = valueBytes(p.Row)
	return p
}

// Write converts and writes one row. size is an estimate of its bytes.
func (w *Writer) Write(row map[string]any, size int) error {
	return w.WritePrepared(w.Prepare(row, size))
}

// WritePrepared writes a prepared row (rows must come in key order).
func (w *Writer) WritePrepared(p Prepared) error {
	pw, err := w.part(p.Part)
	if err != nil {
		return err
	}
	size := p.Size
	pw.batch = append(pw.batch, p.Row)
	pw.rows++
	pw.rgSize += int64(size)
	if len(pw.batch) >= 1024 {
		if err := pw.flushBatch(); err != nil {
			return err
		}
	}
	limit := w.RowGroupBytes
	if limit <= 0 {
		limit = RowGroupBytes
	}
	if pw.rgSize >= limit {
		if err := pw.flushBatch(); err != nil {
			return err
		}
		if err := pw.w.Flush(); err != nil {
			return err
		}
		pw.rgSize = 0
	}
	return nil
}

// CloseEmpty finishes a table without rows: one file with the schema and
// no row (in the null partition with PartitionBy), so that readers see an
// empty table with its columns rather than no table.
func (w *Writer) CloseEmpty() ([]OutFile, error) {
	if len(w.parts) == 0 {
		part := ""
		if w.PartitionBy != "" {
			part = PartitionDir(w.PartitionBy, nil)
		}
		if _, err := w.part(part); err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w.Close()
}

// part returns the writer of a partition, creating its file.
func (w *Writer) part(part string) (*partWriter, error) {
	pw := w.parts[part]
	if pw == nil {
		if len(w.parts) >= MaxPartitions {
			return nil, fmt.Errorf("--partition-by %s: more than %d partitions", w.PartitionBy, MaxPartitions)
		}
		rel := "part-00000.parquet"
		path := filepath.Join(w.Dir, rel)
		if w.Single {
			rel, path = filepath.Base(w.Dir), w.Dir
		} else if part != "" {
			rel = part + "/" + rel
			path = filepath.Join(w.Dir, part, "part-00000.parquet")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		pw = &partWriter{rel: rel, f: f, w: parquet.NewWriter(f, w.pqSchema,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
			parquet.PageBufferSize(1<<20),
			parquet.MaxRowsPerRowGroup(1<<40),
			parquet.CreatedBy("opsctl", "etl rebuild", ""),
		)}
		w.parts[part] = pw
		w.order = append(w.order, part)
	}
	return pw, nil
}

func (pw *partWriter) flushBatch() error {
	if len(pw.batch) == 0 {
		return nil
	}
	if _, err := pw.w.WriteRows(pw.batch); err != nil {
		return fmt.Errorf("write parquet %s: %w", pw.rel, err)
	}
	clear(pw.batch)
	pw.batch = pw.batch[:0]
	return nil
}

// Close finishes every file and returns them.
func (w *Writer) Close() ([]OutFile, error) {
	var out []OutFile
	var firstErr error
	order := slices.Clone(w.order)
	slices.Sort(order)
	for _, p := range order {
		pw := w.parts[p]
		err := pw.flushBatch()
		if err == nil {
			err = pw.w.Close()
		}
		if err == nil {
			err = pw.f.Sync()
		}
		var size int64
		if fi, e := pw.f.Stat(); e == nil {
			size = fi.Size()
		}
		if e := pw.f.Close(); err == nil {
			err = e
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("write parquet %s: %w", pw.rel, err)
		}
		out = append(out, OutFile{Path: pw.rel, Rows: pw.rows, Bytes: size})
	}
	return out, firstErr
}

// Abort closes files without finishing them.
func (w *Writer) Abort() {
	for _, pw := range w.parts {
		pw.f.Close()
	}
}

// valueBytes estimates a row's uncompressed column data: the bytes of
// strings and binaries, the width of fixed-size values.
func valueBytes(row parquet.Row) int {
	n := 0
	for _, v := range row {
		switch v.Kind() {
		case parquet.ByteArray, parquet.FixedLenByteArray:
			n += len(v.ByteArray()) + 4
		case parquet.Boolean:
			n++
		case parquet.Int32, parquet.Float:
			n += 4
		default:
			n += 8
		}
	}
	return n
}
