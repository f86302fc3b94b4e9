package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/opsctl/opsctl/etl/internal/inflate"
)

// S3API is the part of the S3 client the source needs.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Location is a parsed SRC or DEST: an s3://bucket/prefix or a local path.
type Location struct {
	Bucket string // empty for local paths
	Prefix string // S3 key prefix, or the local path
}

// IsS3 reports whether the location is on S3.
func (l Location) IsS3() bool { return l.Bucket != "" }

// String renders the location as the user wrote it.
func (l Location) String() string {
	if l.IsS3() {
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Prefix
}

// ParseLocation parses "s3://bucket/prefix" or a local path.
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty location")
	}
	if rest, ok := strings.CutPrefix(s, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("%q: missing bucket name", s)
		}
		return Location{Bucket: bucket, Prefix: prefix}, nil
	}
	if strings.Contains(s, "://") {
		return Location{}, fmt.Errorf("%q: only s3:// URLs and local paths are supported", s)
	}
	return Location{Prefix: filepath.Clean(s)}, nil
}

// Object is one increment object.
type Object struct {
	// Key identifies the object relative to the source: the S3 key below the
	// prefix, or the slash-separated path below the directory. Consumed
	// objects are tracked by this key.
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// Source lists and opens increment objects.
type Source struct {
	Loc Location
	S3  S3API
	// MaxInMemory bounds the compressed bytes of an object read whole (0:
	// the package's MaxInMemory); larger objects are streamed.
	MaxInMemory int
}

// skipName reports names that are never increments: hidden files, Hive/Spark
// markers and our own quarantine files.
func skipName(name string) bool {
	base := name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	return base == "" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || strings.HasSuffix(base, ".quarantine.ndjson")
}

// List returns every object under the location, recursively, sorted by key.
func (s *Source) List(ctx context.Context) ([]Object, error) {
	var out []Object
	if s.Loc.IsS3() {
		if s.S3 == nil {
			return nil, errors.New("list s3 source: no S3 client")
		}
		prefix := s.Loc.Prefix
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(s.Loc.Bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", s.Loc, err)
			}
			for _, o := range page.Contents {
				key := strings.TrimPrefix(aws.ToString(o.Key), prefix)
				if strings.HasSuffix(key, "/") || skipName(key) {
					continue
				}
				out = append(out, Object{Key: key, Size: aws.ToInt64(o.Size)})
			}
		}
	} else {
		root := s.Loc.Prefix
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", root, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("list %s: not a directory", root)
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if skipName(rel) || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, Object{Key: rel, Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", root, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open returns the object's decompressed bytes. Gzip is detected by its magic
// bytes (1f 8b), whatever the object's name; concatenated gzip members are
// read in full.
func (s *Source) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	var raw io.ReadCloser
	if s.Loc.IsS3() {
		prefix := s.Loc.Prefix
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Loc.Bucket), Key: aws.String(prefix + o.Key)})
		if err != nil {
			return nil, fmt.Errorf("get s3://%s/%s%s: %w", s.Loc.Bucket, prefix, o.Key, err)
		}
		raw = out.Body
	} else {
		f, err := os.Open(filepath.Join(s.Loc.Prefix, filepath.FromSlash(o.Key)))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", o.Key, err)
		}
		raw = f
	}
	limit := s.MaxInMemory
	if limit <= 0 {
		limit = MaxInMemory
	}
	return decompress(raw, min(limit, MaxInMemory))
}

// ErrCorrupt marks a compressed object that cannot be decompressed to its
// end (truncated, bad header, bad checksum): a bad object, as opposed to an
// error reading it (network, permissions), which stays a failure.
var ErrCorrupt = errors.New("corrupt or truncated gzip object")

// corrupt wraps a decompression error.
func corrupt(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	var ioe *ioError
	if errors.As(err, &ioe) {
		return ioe.err // the source's own read error, not the data's fault
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// ioError tags errors of the raw object reader, so that the gzip reader's
// own errors can be told apart from them.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

type tagReader struct{ r io.Reader }

func (t tagReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &ioError{err}
	}
	return n, err
}

// salvageReader reads through the in-memory inflater; when the data turns
// out corrupt or truncated, it starts over with the streaming gzip reader,
// which yields everything up to the damage, skips what was already
// delivered, and reports the damage as ErrCorrupt.
type salvageReader struct {
	fast      io.Reader
	data      []byte
	delivered int64
	slow      io.Reader
}

func (s *salvageReader) Read(p []byte) (int, error) {
	if s.slow == nil {
		n, err := s.fast.Read(p)
		s.delivered += int64(n)
		if err == nil || errors.Is(err, io.EOF) {
			return n, err
		}
		zr, gerr := gzip.NewReader(bytes.NewReader(s.data))
		if gerr != nil {
			return n, corrupt(gerr)
		}
		if _, derr := io.CopyN(io.Discard, zr, s.delivered); derr != nil {
			return n, corrupt(err) // the slow reader gives no more than the fast one did
		}
		s.slow = corruptReader{zr}
		if n > 0 {
			return n, nil
		}
	}
	return s.slow.Read(p)
}

// corruptReader maps a decompressor's errors (see corrupt).
type corruptReader struct{ r io.Reader }

func (c corruptReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	return n, corrupt(err)
}

// Decompress wraps r with a gzip reader when r starts with the gzip magic.
// Closing the result closes r.
//
// Compressed objects up to MaxInMemory bytes are read whole and inflated
// from memory (etl/internal/inflate, about 1.3x the streaming reader's
// speed); larger ones are streamed.
func Decompress(r io.ReadCloser) (io.ReadCloser, error) { return decompress(r, MaxInMemory) }

func decompress(r io.ReadCloser, maxInMemory int) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		r.Close()
		return nil, err
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &readCloser{Reader: br, close: r.Close}, nil
	}
	buf := bufPool.Get().(*[]byte)
	data, complete, err := readUpTo(br, (*buf)[:0], maxInMemory)
	*buf = data
	if err != nil {
		bufPool.Put(buf)
		r.Close()
		return nil, err
	}
	if complete {
		r.Close()
		zr := readerPool.Get().(*inflate.Reader)
		if err := zr.Reset(data); err != nil {
			bufPool.Put(buf)
			return nil, corrupt(err)
		}
		var once sync.Once
		return &readCloser{Reader: &salvageReader{fast: zr, data: data}, close: func() error {
			// Once: a second Close must not pool the buffers twice.
			once.Do(func() {
				readerPool.Put(zr)
				bufPool.Put(buf)
			})
			return nil
		}}, nil
	}
	zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(data), tagReader{br}))
	if err != nil {
		bufPool.Put(buf)
		r.Close()
		return nil, corrupt(err)
	}
	return &readCloser{Reader: corruptReader{zr}, close: func() error {
		zr.Close()
		bufPool.Put(buf)
		return r.Close()
	}}, nil
}

// MaxInMemory bounds the compressed bytes of an object read whole (a
// variable for tests).
var MaxInMemory = 64 << 20

var (
	bufPool    = sync.Pool{New: func() any { return new([]byte) }}
	readerPool = sync.Pool{New: func() any { return new(inflate.Reader) }}
)

// readUpTo appends r's bytes to buf until EOF (complete) or until more than
// limit bytes were read. The result has room for inflate's padding.
func readUpTo(r io.Reader, buf []byte, limit int) (data []byte, complete bool, err error) {
	for {
		if cap(buf)-len(buf) < 64<<10+inflate.PadBytes {
			nb := make([]byte, len(buf), 2*cap(buf)+1<<20)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf) : cap(buf)-inflate.PadBytes])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
		if len(buf) > limit {
			return buf, false, nil
		}
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
