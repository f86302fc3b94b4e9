package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotExist: the object does not exist. ErrExists: a conditional create lost.
var (
	ErrNotExist = errors.New("does not exist")
	ErrExists   = errors.New("already exists")
)

// S3API is the part of the S3 client the snapshot store needs.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	// multipart uploads of large Parquet files
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// Store is a snapshot destination: a local directory or an S3 prefix. Names
// are slash-separated paths relative to it.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Put replaces name atomically (readers see the old or the new bytes).
	Put(ctx context.Context, name string, body []byte) error
	// Create writes name only if it does not exist (else ErrExists).
	Create(ctx context.Context, name string, body []byte) error
	// PutFile stores a local file (moved, when the store is local).
	PutFile(ctx context.Context, name, localPath string) error
	Delete(ctx context.Context, name string) error
	// List returns every name under prefix, recursively.
	List(ctx context.Context, prefix string) ([]string, error)
	// Local returns the directory of a local store ("" on S3): staging there
	// makes PutFile a rename.
	Local() string
	String() string
}

// LocalStore is a directory.
type LocalStore struct{ Dir string }

func (l *LocalStore) path(name string) string { return filepath.Join(l.Dir, filepath.FromSlash(name)) }

// Local implements Store.
func (l *LocalStore) Local() string { return l.Dir }

func (l *LocalStore) String() string { return l.Dir }

// Get implements Store.
func (l *LocalStore) Get(_ context.Context, name string) ([]byte, error) {
	b, err := os.ReadFile(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	return b, err
}

// Open implements Store.
func (l *LocalStore) Open(_ context.Context, name string) (io.ReadCloser, error) {
	f, err := os.Open(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	return f, err
}

// Put implements Store: temp file, fsync, rename.
func (l *LocalStore) Put(_ context.Context, name string, body []byte) error {
	p := l.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Sync()
	}
	if e := tmp.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	syncDir(filepath.Dir(p))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Create implements Store with O_EXCL.
func (l *LocalStore) Create(_ context.Context, name string, body []byte) error {
	p := l.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", name, ErrExists)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

// PutFile implements Store (a rename; copy across file systems).
func (l *LocalStore) PutFile(_ context.Context, name, localPath string) error {
	p := l.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	if err := os.Rename(localPath, p); err == nil {
		return nil
	}
	in, err := os.Open(localPath)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if e := out.Close(); err == nil {
		err = e
	}
	return err
}

// Delete implements Store (missing is fine).
func (l *LocalStore) Delete(_ context.Context, name string) error {
	err := os.Remove(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List implements Store.
func (l *LocalStore) List(_ context.Context, prefix string) ([]string, error) {
	root := l.path(prefix)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(l.Dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// RemoveAll removes a local subtree (used for whole versions).
func (l *LocalStore) RemoveAll(name string) error { return os.RemoveAll(l.path(name)) }

// S3Store is an S3 prefix.
type S3Store struct {
	Client S3API
	Bucket string
	Prefix string // "" or ending in "/"
}

// NewS3Store normalizes the prefix.
func NewS3Store(c S3API, bucket, prefix string) *S3Store {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &S3Store{Client: c, Bucket: bucket, Prefix: prefix}
}

func (s *S3Store) key(name string) string { return s.Prefix + name }

// Local implements Store.
func (s *S3Store) Local() string { return "" }

func (s *S3Store) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }

func isNotFound(err error) bool {
	var nsk *s3types.NoSuchKey
	var nf *s3types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, name string) ([]byte, error) {
	rc, err := s.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Open implements Store.
func (s *S3Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), ErrNotExist)
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return out.Body, nil
}

// Put implements Store (a PutObject replaces atomically).
func (s *S3Store) Put(ctx context.Context, name string, body []byte) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return nil
}

// Create implements Store with a conditional write (If-None-Match: *).
func (s *S3Store) Create(ctx context.Context, name string, body []byte) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), IfNoneMatch: aws.String("*")})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
			return fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), ErrExists)
		}
		return fmt.Errorf("put s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return nil
}

// PutFile implements Store (multipart for large files).
func (s *S3Store) PutFile(ctx context.Context, name, localPath string) error {
	f, err := os.Open(localPath)
	if err != nil {
		return err
	}
	defer f.Close()
	up := manager.NewUploader(s.Client, func(u *manager.Uploader) { u.PartSize = 64 << 20; u.Concurrency = 2 })
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: f}); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return nil
}

// Delete implements Store.
func (s *S3Store) Delete(ctx context.Context, name string) error {
	_, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return nil
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, s.key(prefix), err)
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), s.Prefix))
		}
	}
	return out, nil
}
