package etl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func putObject(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writes(srv *localaws.Server) int {
	n := 0
	for _, c := range srv.WriteCalls() {
		if c.Service == "s3" {
			n++
		}
	}
	return n
}

// TestS3SourceAndDestination runs the rebuild through the real SDK client
// against the local endpoint (gofakes3): listing, gzip objects without a
// suffix, versioned output, the conditional-write lock, incremental runs and
// a no-op re-run that writes nothing.
func TestS3SourceAndDestination(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	client := localawstest.S3(srv)
	ctx := context.Background()
	for _, b := range []string{"lake", "tables"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	putObject(t, client, "lake", "cdc/orders/2026/11/24/13/orders-1-a", gzipBytes([]byte(
		ddbEv("1", "INSERT", 1000, "a", ddbImg("a", 1))+ddbEv("2", "INSERT", 1001, "b", ddbImg("b", 2)))))
	putObject(t, client, "lake", "cdc/orders/2026/11/24/14/orders-1-b", []byte(
		ddbEv("3", "MODIFY", 2000, "a", ddbImg("a", 10))+"\n"))
	deps := Deps{S3: client}
	opts := Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Dest: "s3://tables/orders/"}

	res, err := Rebuild(ctx, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.LiveKeys != 2 || res.ObjectsRead != 2 || !strings.HasPrefix(res.DataPath, "s3://tables/orders/versions/") {
		t.Fatalf("report %+v", res)
	}
	st := snapshot.NewS3Store(client, "tables", "orders/")
	ptr, m, ok, err := snapshot.ReadCurrent(ctx, st)
	if err != nil || !ok || ptr.Version != res.Version || m.RowCount != 2 || len(m.Consumed) != 2 {
		t.Fatalf("current %+v manifest %+v err %v", ptr, m, err)
	}
	rows := s3Rows(t, st, m)
	if compact(rows["a"]["qty"]) != "10" || compact(rows["b"]["qty"]) != "2" {
		t.Fatalf("rows %v", rows)
	}
	if _, err := st.Get(ctx, snapshot.LockName); !errors.Is(err, snapshot.ErrNotExist) {
		t.Fatalf("lock not released: %v", err)
	}

	// Nothing new: no write call at all (not even the lock).
	before := writes(srv)
	again, err := Rebuild(ctx, deps, opts)
	if err != nil || !again.UpToDate || writes(srv) != before {
		t.Fatalf("no-op re-run: %+v err %v, %d writes", again, err, writes(srv)-before)
	}

	// A new increment: read alone, merged with the previous state.
	putObject(t, client, "lake", "cdc/orders/2026/11/24/15/orders-1-c", []byte(ddbEv("4", "REMOVE", 3000, "b", "")))
	inc, err := Rebuild(ctx, deps, opts)
	if err != nil || inc.ObjectsRead != 1 || inc.ObjectsSkipped != 2 || inc.LiveKeys != 1 || inc.PreviousVersion != res.Version {
		t.Fatalf("incremental: %+v err %v", inc, err)
	}
	_, m, _, _ = snapshot.ReadCurrent(ctx, st)
	if rows := s3Rows(t, st, m); len(rows) != 1 || rows["a"] == nil {
		t.Fatalf("after delete: %v", rows)
	}

	// A lock held elsewhere (conditional write loses) is reported with its owner.
	lock, _ := json.Marshal(snapshot.LockInfo{Owner: "cron", Host: "batch-1", PID: 77})
	putObject(t, client, "tables", "orders/_lock", lock)
	putObject(t, client, "lake", "cdc/orders/2026/11/24/16/orders-1-d", []byte(ddbEv("5", "INSERT", 4000, "c", ddbImg("c", 1))))
	_, err = Rebuild(ctx, deps, opts)
	var le *snapshot.LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "cron@batch-1 pid 77") {
		t.Fatalf("locked destination: %v", err)
	}
	// --break-lock takes it over.
	opts.BreakLock = true
	if _, err := Rebuild(ctx, deps, opts); err != nil {
		t.Fatalf("--break-lock: %v", err)
	}
}

func s3Rows(t *testing.T, st *snapshot.S3Store, m *snapshot.Manifest) map[string]map[string]any {
	t.Helper()
	dir := t.TempDir()
	for _, f := range m.Files {
		rc, err := st.Open(context.Background(), snapshot.VersionPath(m.Version)+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	if len(m.Files) == 1 {
		return rowsOf(t, filepath.Join(dir, filepath.FromSlash(m.Files[0].Path)), "pk")
	}
	t.Fatalf("expected one file, got %d", len(m.Files))
	return nil
}
