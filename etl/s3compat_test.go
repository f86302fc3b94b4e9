package etl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// opsctl's S3 paths of etl rebuild against s3rver, an S3-compatible server
// nobody on this project wrote (issue 20). s3rver ignores conditional
// writes, so the lock must notice and refuse unless told otherwise.
func TestRebuildOnS3rver(t *testing.T) {
	srv := localawstest.S3rver(t)
	client := localawstest.S3rverClient(srv)
	ctx := context.Background()
	for _, b := range []string{"lake", "tables"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// 1,001 source objects: the listing takes two pages (ListObjectsV2
	// returns at most 1,000 keys per page: S3 API reference, MaxKeys).
	img := func(pk, c string, q int) string {
		return fmt.Sprintf(`{"pk":{"S":"%s"},"country":{"S":"%s"},"qty":{"N":"%d"}}`, pk, c, q)
	}
	const n = 1001
	for i := 0; i < n; i++ {
		c := []string{"DE", "FR"}[i%2]
		putObject(t, client, "lake", fmt.Sprintf("cdc/orders/2026/11/24/13/orders-%05d", i),
			[]byte(ddbEv(fmt.Sprint(i), "INSERT", int64(1000+i), fmt.Sprintf("k%04d", i), img(fmt.Sprintf("k%04d", i), c, i))+"\n"))
	}
	deps := Deps{S3: client}
	opts := Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Dest: "s3://tables/orders/", PartitionBy: "country"}

	// The lock cannot work here: refused, nothing written.
	_, err := Rebuild(ctx, deps, opts)
	if !errors.Is(err, snapshot.ErrUnprotected) {
		t.Fatalf("unprotected lock: err = %v, want ErrUnprotected", err)
	}
	st := snapshot.NewS3Store(client, "tables", "orders/")
	if names, _ := st.List(ctx, ""); len(names) != 0 {
		t.Fatalf("refused run wrote %v", names)
	}

	// Accepted explicitly: a versioned, partitioned rebuild.
	opts.AllowUnprotectedLock = true
	res, err := Rebuild(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.ObjectsListed != n || res.ObjectsRead != n || res.LiveKeys != n {
		t.Fatalf("report %+v", res)
	}
	var paths []string
	for _, f := range res.OutputFiles {
		paths = append(paths, f.Path)
	}
	sort.Strings(paths)
	if fmt.Sprint(paths) != "[data/country=DE/part-00000.parquet data/country=FR/part-00000.parquet]" {
		t.Fatalf("files %v", paths)
	}
	ptr, m, ok, err := snapshot.ReadCurrent(ctx, st)
	if err != nil || !ok || ptr.Version != res.Version || m.RowCount != n || len(m.Consumed) != n {
		t.Fatalf("current %+v err %v", ptr, err)
	}
	if _, err := st.Get(ctx, snapshot.LockName); !errors.Is(err, snapshot.ErrNotExist) {
		t.Fatalf("lock left behind: %v", err)
	}

	// Re-run with nothing new: up to date.
	again, err := Rebuild(ctx, deps, opts)
	if err != nil || !again.UpToDate {
		t.Fatalf("no-op: %+v %v", again, err)
	}
	// An increment: one object read, the rest skipped, merged on the previous version.
	putObject(t, client, "lake", "cdc/orders/2026/11/24/14/orders-x", []byte(ddbEv("x", "REMOVE", 5000, "k0000", "")+"\n"))
	inc, err := Rebuild(ctx, deps, opts)
	if err != nil || inc.ObjectsRead != 1 || inc.ObjectsSkipped != n || inc.LiveKeys != n-1 || inc.PreviousVersion != res.Version {
		t.Fatalf("incremental: %+v %v", inc, err)
	}
}

// A file larger than one part goes up as a multipart upload, which s3rver
// assembles byte for byte.
func TestMultipartOutputOnS3rver(t *testing.T) {
	srv := localawstest.S3rver(t)
	client := localawstest.S3rverClient(srv)
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tables")}); err != nil {
		t.Fatal(err)
	}
	// S3Store uploads in 64 MiB parts; one byte more makes two parts.
	size := 64<<20 + 1
	data := bytes.Repeat([]byte("opsctl-multipart-"), size/17+1)[:size]
	p := filepath.Join(t.TempDir(), "big.parquet")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	counting := &partCounter{Client: client}
	st := snapshot.NewS3Store(counting, "tables", "big/")
	if err := st.PutFile(ctx, "data/part-00000.parquet", p); err != nil {
		t.Fatal(err)
	}
	rc, err := st.Open(ctx, "data/part-00000.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	got, _ := io.Copy(h, rc)
	if got != int64(size) || !bytes.Equal(h.Sum(nil), sha256Of(data)) {
		t.Fatalf("read back %d bytes, want %d (same content)", got, size)
	}
	if counting.parts.Load() != 2 || counting.completed.Load() != 1 {
		t.Fatalf("%d parts, %d completed uploads; want a two-part multipart upload", counting.parts.Load(), counting.completed.Load())
	}
}

// partCounter counts the multipart calls that reach the server.
type partCounter struct {
	*s3.Client
	parts, completed atomic.Int32
}

func (c *partCounter) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	out, err := c.Client.UploadPart(ctx, in, optFns...)
	if err == nil {
		c.parts.Add(1)
	}
	return out, err
}

func (c *partCounter) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	out, err := c.Client.CompleteMultipartUpload(ctx, in, optFns...)
	if err == nil {
		c.completed.Add(1)
	}
	return out, err
}

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
