package redrive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Location is where an archive or export lives: a local JSONL file or an S3
// prefix.
type Location struct {
	Path   string // local file
	Bucket string // S3
	Key    string // S3 prefix (ends with "/") or object key
}

func (l Location) String() string {
	if l.Bucket != "" {
		return "s3://" + l.Bucket + "/" + l.Key
	}
	return l.Path
}

// IsS3 reports an S3 location.
func (l Location) IsS3() bool { return l.Bucket != "" }

// ParseLocation parses FILE.jsonl or s3://bucket/prefix/.
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty location")
	}
	if rest, ok := strings.CutPrefix(s, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || len(bucket) < 3 || len(bucket) > 63 || strings.ContainsAny(bucket, " _/") {
			return Location{}, fmt.Errorf("%q: want s3://BUCKET/PREFIX/", s)
		}
		return Location{Bucket: bucket, Key: key}, nil
	}
	if strings.Contains(s, "://") {
		return Location{}, fmt.Errorf("%q: want a local FILE.jsonl or s3://BUCKET/PREFIX/", s)
	}
	return Location{Path: s}, nil
}

// archiver writes messages durably: when Write returns nil, every message is
// on disk (fsync'd) or in a completed S3 object.
type archiver interface {
	Write(ctx context.Context, msgs []Message) error
	Close() error
}

func encodeJSONL(msgs []Message, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range msgs {
		m := msgs[i]
		m.ArchivedAt = at
		if err := enc.Encode(&m); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

type fileArchive struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func openFileArchive(path string) (*fileArchive, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open archive %s: %w", path, err)
	}
	return &fileArchive{f: f, path: path}, nil
}

func (a *fileArchive) Write(ctx context.Context, msgs []Message) error {
	b, err := encodeJSONL(msgs, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("encode archive records: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(b); err != nil {
		return fmt.Errorf("write archive %s: %w", a.path, err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("sync archive %s: %w", a.path, err)
	}
	return nil
}

func (a *fileArchive) Close() error {
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("close archive %s: %w", a.path, err)
	}
	return nil
}

// s3Archive writes one object per batch under a prefix:
// PREFIX<run id>-<sequence>.jsonl. A completed PutObject is durable.
type s3Archive struct {
	api    S3API
	bucket string
	prefix string
	run    string
	mu     sync.Mutex
	seq    int
}

func newS3Archive(api S3API, loc Location, run string) *s3Archive {
	prefix := loc.Key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &s3Archive{api: api, bucket: loc.Bucket, prefix: prefix, run: run}
}

func (a *s3Archive) Write(ctx context.Context, msgs []Message) error {
	b, err := encodeJSONL(msgs, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("encode archive records: %w", err)
	}
	a.mu.Lock()
	a.seq++
	key := fmt.Sprintf("%s%s-%08d.jsonl", a.prefix, a.run, a.seq)
	a.mu.Unlock()
	_, err = a.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(a.bucket), Key: aws.String(key), Body: bytes.NewReader(b),
		ContentType: aws.String("application/x-ndjson"), ContentLength: aws.Int64(int64(len(b))),
	})
	if err != nil {
		return fmt.Errorf("archive %d messages to s3://%s/%s: %w", len(msgs), a.bucket, key, err)
	}
	return nil
}

func (a *s3Archive) Close() error { return nil }

func openArchive(deps Deps, loc Location, run string) (archiver, error) {
	if loc.IsS3() {
		if deps.S3 == nil {
			return nil, errors.New("archive to S3: no S3 client")
		}
		return newS3Archive(deps.S3, loc, run), nil
	}
	return openFileArchive(loc.Path)
}

// readRecords calls fn for every message stored at loc: a JSONL file, one S3
// object, or every .jsonl object under an S3 prefix (in key order).
func readRecords(ctx context.Context, deps Deps, loc Location, fn func(Message) error) error {
	if !loc.IsS3() {
		f, err := os.Open(loc.Path)
		if err != nil {
			return fmt.Errorf("open %s: %w", loc.Path, err)
		}
		defer f.Close()
		return scanJSONL(f, loc.Path, fn)
	}
	if deps.S3 == nil {
		return errors.New("read from S3: no S3 client")
	}
	var keys []string
	if loc.Key != "" && !strings.HasSuffix(loc.Key, "/") {
		keys = []string{loc.Key}
	} else {
		p := s3.NewListObjectsV2Paginator(deps.S3, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), Prefix: aws.String(loc.Key)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list s3://%s/%s: %w", loc.Bucket, loc.Key, err)
			}
			for _, o := range out.Contents {
				if k := aws.ToString(o.Key); strings.HasSuffix(k, ".jsonl") {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
	}
	for _, k := range keys {
		out, err := deps.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(k)})
		if err != nil {
			return fmt.Errorf("read s3://%s/%s: %w", loc.Bucket, k, err)
		}
		err = scanJSONL(out.Body, "s3://"+loc.Bucket+"/"+k, fn)
		out.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func scanJSONL(r io.Reader, name string, fn func(Message) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 8<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%s line %d: not a message record: %w", name, line, err)
		}
		m.fillDerived()
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}
