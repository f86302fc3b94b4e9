package etl

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func lockFixture(t *testing.T) (*localaws.Server, *s3.Client, Deps, Options) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	client := localawstest.S3(srv)
	ctx := context.Background()
	for _, b := range []string{"lake", "tables"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	putObject(t, client, "lake", "cdc/orders/2026/11/24/13/orders-1-a", []byte(ddbEv("1", "INSERT", 1000, "a", ddbImg("a", 1))))
	return srv, client, Deps{S3: client}, Options{Source: "s3://lake/cdc/orders/", Format: "dynamodb", Dest: "s3://tables/orders/"}
}

func getLock(t *testing.T, c *s3.Client) (snapshot.LockInfo, string, bool) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("tables"), Key: aws.String("orders/_lock")})
	if err != nil {
		return snapshot.LockInfo{}, "", false
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	var li snapshot.LockInfo
	if err := json.Unmarshal(b, &li); err != nil {
		t.Fatalf("lock content %q: %v", b, err)
	}
	return li, aws.ToString(out.ETag), true
}

// A failure to release the lock was swallowed (a shadowed err): the run
// reported success and the lock stayed.
func TestRebuildReportsALockItCouldNotRelease(t *testing.T) {
	srv, _, deps, opts := lockFixture(t)
	srv.InjectFault(localaws.Fault{Service: "s3", Operation: "DeleteObject", Kind: localaws.FaultError, Code: "AccessDenied", Status: 403, Message: "Access Denied", Times: -1})
	_, err := Rebuild(context.Background(), deps, opts)
	srv.ClearFaults()
	if err == nil || !strings.Contains(err.Error(), "release lock") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want the release failure", err)
	}
}

// A lock whose lease ran out (its run was killed) is taken over; one whose
// lease runs is respected.
func TestExpiredLeaseIsTakenOverLiveOneRespected(t *testing.T) {
	_, client, deps, opts := lockFixture(t)
	now := time.Now().UTC()
	live, _ := json.Marshal(snapshot.LockInfo{Owner: "cron", Host: "batch-1", PID: 77, Since: now.Add(-time.Minute), Token: "other", Expires: now.Add(time.Minute)})
	putObject(t, client, "tables", "orders/_lock", live)
	var le *snapshot.LockedError
	if _, err := Rebuild(context.Background(), deps, opts); !errors.As(err, &le) {
		t.Fatalf("live lease: err = %v, want LockedError", err)
	}
	dead, _ := json.Marshal(snapshot.LockInfo{Owner: "cron", Host: "batch-1", PID: 77, Since: now.Add(-time.Hour), Token: "other", Expires: now.Add(-time.Minute)})
	putObject(t, client, "tables", "orders/_lock", dead)
	res, err := Rebuild(context.Background(), deps, opts)
	if err != nil || res.Version == "" {
		t.Fatalf("expired lease: %+v %v", res, err)
	}
	if _, _, held := getLock(t, client); held {
		t.Fatalf("the taken-over lock was not released")
	}
}

// The lease is renewed while the run lives, and release deletes only our own
// lock.
func TestLeaseRenewedAndOnlyOwnLockReleased(t *testing.T) {
	_, client, _, _ := lockFixture(t)
	ctx := context.Background()
	st := snapshot.NewS3Store(client, "tables", "orders/")
	lock, err := snapshot.AcquireLockWith(ctx, st, snapshot.LockOptions{Info: snapshot.NewLockInfo(time.Now(), "test"), Lease: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	first, etag1, ok := getLock(t, client)
	if !ok || first.Token == "" || first.Expires.IsZero() {
		t.Fatalf("lock %+v", first)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		li, etag, _ := getLock(t, client)
		if etag != etag1 && li.Expires.After(first.Expires) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease never renewed: %+v", li)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Someone breaks the lock and takes it: our release must leave theirs.
	theirs, _ := json.Marshal(snapshot.LockInfo{Owner: "ops", Host: "laptop", PID: 9, Since: time.Now(), Token: "theirs", Expires: time.Now().Add(time.Hour)})
	putObject(t, client, "tables", "orders/_lock", theirs)
	if err := lock.Release(ctx); err == nil {
		t.Fatalf("release of a lock taken over reported success")
	}
	if li, _, ok := getLock(t, client); !ok || li.Token != "theirs" {
		t.Fatalf("their lock was deleted or changed: %+v %v", li, ok)
	}
}

// A version folder created after this run started belongs to another run.
func TestPruneNeverDeletesAVersionNewerThanTheRun(t *testing.T) {
	ctx := context.Background()
	st := &snapshot.LocalStore{Dir: t.TempDir()}
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	old := snapshot.NewVersionID(start.Add(-time.Hour))
	mine := snapshot.NewVersionID(start.Add(time.Minute))
	other := snapshot.NewVersionID(start.Add(30 * time.Second)) // started after us, not in our chain
	for _, v := range []string{old, mine, other} {
		st.Put(ctx, snapshot.VersionPath(v)+snapshot.DataDir+"part-00000.parquet", []byte("x"))
	}
	deleted, err := snapshot.PruneStartedAt(ctx, st, &snapshot.Manifest{Version: mine}, 1, start, func(string) (*snapshot.Manifest, error) { return nil, os.ErrNotExist })
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 || deleted[0] != old {
		t.Fatalf("deleted %v, want only %s", deleted, old)
	}
}

// A killed run leaves .tmp-_current-* files in a local destination; the next
// run holding the lock removes them.
func TestLockRemovesLeftoverPointerTempFiles(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, ".tmp-"+snapshot.CurrentName+"-12345")
	os.WriteFile(left, []byte("{"), 0o600)
	st := &snapshot.LocalStore{Dir: dir}
	lock, err := snapshot.AcquireLockWith(context.Background(), st, snapshot.LockOptions{Info: snapshot.NewLockInfo(time.Now(), "test")})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(context.Background())
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("leftover temp file kept: %v", err)
	}
}
