package etl

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/internal/pqread"
	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestBinaryRebuild runs the built opsctl binary: local and S3 runs, the JSON
// report, and the exit codes (0, 1 for bad records over the limit, 2 usage).
func TestBinaryRebuild(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	env := localawstest.Env(t, srv)
	src := t.TempDir()
	writeObjects(t, src, object{key: "2026/11/24/13/a", gzip: true, sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)), ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2)),
	}})
	dest := filepath.Join(t.TempDir(), "orders")
	r := localawstest.Run(t, env, "etl", "rebuild", "--source", src, "--format", "dynamodb", "--dest", dest, "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var res Result
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res.LiveKeys != 2 || res.Version == "" || res.RecordsPerSec <= 0 {
		t.Fatalf("report %s (%v)", r.Stdout, err)
	}
	// table output
	r = localawstest.Run(t, env, "etl", "rebuild", "--source", src, "--format", "dynamodb", "--dest", dest)
	if r.Code != 0 || !strings.Contains(r.Stdout, "up to date") {
		t.Fatalf("re-run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// usage errors exit 2 before any I/O
	for _, args := range [][]string{
		{"--source", src, "--dest", dest},
		{"--source", src, "--format", "debezium", "--dest", dest},
		{"--source", src, "--format", "dynamodb", "--dest", dest, "--memory-limit", "lots"},
		{"--source", src, "--format", "dynamodb", "--dest", dest, "extra-arg"},
	} {
		r = localawstest.Run(t, env, append([]string{"etl", "rebuild"}, args...)...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.Code, r.Stderr)
		}
	}
	// bad records over the limit: exit 1, nothing published
	bad := t.TempDir()
	writeObjects(t, bad, object{key: "x", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)), "garbage"}})
	r = localawstest.Run(t, env, "etl", "rebuild", "--source", bad, "--format", "dynamodb", "--dest", filepath.Join(t.TempDir(), "o.parquet"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "bad records") {
		t.Fatalf("bad records: exit %d\n%s", r.Code, r.Stderr)
	}
	r = localawstest.Run(t, env, "etl", "rebuild", "--source", bad, "--format", "dynamodb", "--dest", filepath.Join(t.TempDir(), "o.parquet"), "--max-bad-records", "1")
	if r.Code != 0 {
		t.Fatalf("bad records under the limit: exit %d\n%s", r.Code, r.Stderr)
	}
	// S3 source and destination through --endpoint-url (from the env)
	client := localawstest.S3(srv)
	ctx := context.Background()
	client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")})
	putObject(t, client, "lake", "cdc/2026/11/24/13/x", gzipBytes([]byte(ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)))))
	r = localawstest.Run(t, env, "etl", "rebuild", "--source", "s3://lake/cdc/", "--format", "dynamodb", "--dest", "s3://lake/tables/orders/", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("s3 run: exit %d\n%s", r.Code, r.Stderr)
	}
	json.Unmarshal([]byte(r.Stdout), &res)
	if res.LiveKeys != 1 || !strings.HasPrefix(res.DataPath, "s3://lake/tables/orders/versions/") {
		t.Fatalf("s3 report %s", r.Stdout)
	}
}

// bigSource writes enough increments that a rebuild takes a noticeable time.
func bigSource(t *testing.T, dir string, files, perFile int, from int) {
	t.Helper()
	for f := from; f < from+files; f++ {
		o := object{key: fmt.Sprintf("2026/11/24/%02d/part-%04d", f%24, f), gzip: true, sep: "\n"}
		for i := 0; i < perFile; i++ {
			k := fmt.Sprintf("k%06d", (f*perFile+i)%20000)
			o.recs = append(o.recs, ddbEv(fmt.Sprintf("%d-%d", f, i), "MODIFY", int64(f*perFile+i), k,
				fmt.Sprintf(`{"pk":{"S":"%s"},"qty":{"N":"%d"},"note":{"S":"%s"}}`, k, f, strings.Repeat("n", 200))))
		}
		writeObjects(t, dir, o)
	}
}

// checkCurrent verifies that the current snapshot is complete and readable.
func checkCurrent(t *testing.T, dest string) (version string, rows int64) {
	t.Helper()
	ptr, m, ok, err := snapshot.ReadCurrent(context.Background(), &snapshot.LocalStore{Dir: dest})
	if err != nil || !ok {
		t.Fatalf("current snapshot unreadable: ok=%v %v", ok, err)
	}
	var n int64
	for _, f := range m.Files {
		pf, err := pqread.Read(context.Background(), filepath.Join(dest, filepath.FromSlash(snapshot.VersionPath(m.Version)+f.Path)))
		if err != nil {
			t.Fatalf("current version %s: %v", m.Version, err)
		}
		n += int64(len(pf.Rows))
	}
	if n != m.RowCount {
		t.Fatalf("current version %s has %d rows, manifest says %d", ptr.Version, n, m.RowCount)
	}
	return ptr.Version, n
}

// TestKill9LeavesThePreviousSnapshotCurrent SIGKILLs the binary at several
// points of a run: the previous snapshot stays current and readable, and the
// next run (the dead process's lock is broken) publishes a complete one.
func TestKill9LeavesThePreviousSnapshotCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary repeatedly")
	}
	bin := localawstest.Binary(t)
	src := t.TempDir()
	dest := filepath.Join(t.TempDir(), "orders")
	bigSource(t, src, 4, 2000, 0)
	run := func(extra ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"etl", "rebuild", "--source", src, "--format", "dynamodb", "--dest", dest, "--workers", "1"}, extra...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		return cmd
	}
	if out, err := run().CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	v1, rows1 := checkCurrent(t, dest)
	bigSource(t, src, 12, 2000, 4)
	start := time.Now()
	if out, err := run("--full").CombinedOutput(); err != nil { // measure a full run
		t.Fatalf("timing run: %v\n%s", err, out)
	}
	full := time.Since(start)
	t.Logf("a full run takes %v", full)
	vFull, _ := checkCurrent(t, dest)
	if vFull == v1 {
		t.Fatal("no new version")
	}
	prev := vFull
	for i, frac := range []float64{0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0} {
		cmd := run("--full")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(float64(full) * frac))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		v, _ := checkCurrent(t, dest)
		t.Logf("SIGKILL at %.0f%%: current %s", frac*100, v)
		if v != prev && v <= prev {
			t.Fatalf("kill %d: current went backwards: %s → %s", i, prev, v)
		}
		prev = v
	}
	// The lock of the killed run belongs to a dead process: the next run
	// (--full, so there is work even if a killed run published) breaks it
	// and removes the killed runs' temp dirs.
	out, err := run("--full", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("run after kills: %v\n%s", err, out)
	}
	_, rows := checkCurrent(t, dest)
	if rows < rows1 {
		t.Fatalf("rows %d < first snapshot's %d", rows, rows1)
	}
	if left, _ := filepath.Glob(filepath.Join(dest, ".opsctl-rebuild-*")); len(left) > 0 {
		t.Fatalf("temp dirs of killed runs left behind: %v", left)
	}
}

// TestInterruptExits130AndCleansUp sends SIGINT mid-run: exit 130, no temp
// files or lock left, the previous snapshot current.
func TestInterruptExits130AndCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := localawstest.Binary(t)
	src := t.TempDir()
	dest := filepath.Join(t.TempDir(), "orders")
	bigSource(t, src, 1, 500, 0)
	cmd := exec.Command(bin, "etl", "rebuild", "--source", src, "--format", "dynamodb", "--dest", dest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	v1, _ := checkCurrent(t, dest)
	bigSource(t, src, 16, 2000, 1)
	for _, delay := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond} {
		cmd = exec.Command(bin, "etl", "rebuild", "--source", src, "--format", "dynamodb", "--dest", dest, "--workers", "1", "--full")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Signal only once the run holds the destination's lock: by then
		// opsctl has installed its signal handler. A fixed delay alone raced
		// the process start on a loaded machine (SIGINT before the handler
		// is the default action: killed, exit -1).
		waitForLock(t, dest, 30*time.Second)
		time.Sleep(delay)
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if err == nil {
			t.Logf("run finished before the signal at %v", delay)
			continue
		}
		t.Logf("interrupted after %v: exit %d", delay, code)
		if code != 130 {
			t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
		}
		// Interrupted before the pointer switch: the previous version stays
		// current. A signal that lands after the switch (while pruning or
		// releasing the lock) still exits 130 — cmd/opsctl maps any received
		// signal to 130 — but then the new version is complete.
		if v, _ := checkCurrent(t, dest); v != v1 {
			t.Logf("signal arrived after the switch to %s (complete and readable)", v)
			v1 = v
		}
		entries, _ := os.ReadDir(dest)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".opsctl-rebuild-") || e.Name() == snapshot.LockName {
				t.Fatalf("left behind: %s", e.Name())
			}
		}
	}
}

// waitForLock waits until DEST/_lock exists (a run is in progress) or the
// deadline passes; a run that finishes first simply leaves none.
func waitForLock(t *testing.T, dest string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dest, snapshot.LockName)); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
