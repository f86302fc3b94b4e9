// Package pqread reads Parquet files back with Apache Arrow (arrow/go/v15
// pqarrow), an implementation independent of the parquet-go writer, so tests
// check interoperability rather than a round trip through one library.
package pqread

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// File is what one Parquet file holds.
type File struct {
	Schema    *arrow.Schema
	Rows      []map[string]any // JSON-decoded rows (numbers as json.Number)
	RowGroups int
	Codec     string // compression of the first column chunk
}

// Read reads a whole Parquet file.
func Read(ctx context.Context, path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rdr, err := file.NewParquetReader(f)
	if err != nil {
		return nil, fmt.Errorf("open parquet %s: %w", path, err)
	}
	defer rdr.Close()
	out := &File{RowGroups: rdr.NumRowGroups()}
	if rdr.NumRowGroups() > 0 {
		if cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(0); err == nil {
			out.Codec = strings.ToLower(cc.Compression().String())
		}
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	defer tbl.Release()
	out.Schema = tbl.Schema()
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.Record()
		var buf bytes.Buffer
		if err := array.RecordToJSON(rec, &buf); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(&buf)
		dec.UseNumber()
		first := len(out.Rows)
		for dec.More() {
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				return nil, err
			}
			out.Rows = append(out.Rows, row)
		}
		// Arrow renders decimals through floating point: replace top-level
		// ones by their exact text.
		for c, f := range rec.Schema().Fields() {
			dt, ok := f.Type.(*arrow.Decimal128Type)
			if !ok {
				continue
			}
			col := rec.Column(c).(*array.Decimal128)
			for j := 0; j < col.Len(); j++ {
				if col.IsValid(j) {
					out.Rows[first+j][f.Name] = json.Number(col.Value(j).ToString(dt.Scale))
				}
			}
		}
	}
	return out, nil
}

// ReadDir reads every .parquet file under dir (sorted by path) and returns
// the rows in order, with hive partition values added as string columns.
func ReadDir(ctx context.Context, dir string) ([]map[string]any, []string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	var rows []map[string]any
	for _, p := range paths {
		f, err := Read(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		for _, row := range f.Rows {
			for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
				if k, v, ok := strings.Cut(seg, "="); ok {
					row[k] = v
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, paths, nil
}
