// Package etl rebuilds the latest state of a table from the change-data-capture
// increments that Firehose archives to S3, as Parquet: a Spark-free, cron-safe,
// incremental job. The pipeline is split into subpackages:
//
//	etl/source    list objects (local dir or s3://, recursive), gunzip by magic bytes, frame JSON records
//	etl/cdc       decode dynamodb / debezium records into changes (key, position, op, event id, raw image)
//	etl/merge     reduce to the latest change per key (RULES.md), spilling sorted runs past --memory-limit
//	etl/snapshot  infer and widen the schema, write zstd Parquet, publish versioned snapshots atomically
//
// Rebuild is the entry point.
package etl

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/source"
	"github.com/opsctl/opsctl/internal/opserr"
)

// S3API is every S3 call the rebuild makes (source listing and reads,
// destination writes, the conditional-write lock, multipart uploads).
// *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// Deps are the rebuild's collaborators.
type Deps struct {
	S3 S3API // needed only when the source or destination is on S3
	// Glue is needed only with GlueTable.
	Glue GlueAPI
	Log  *slog.Logger
	// Now returns the current time (tests fix it); nil means time.Now.
	Now func() time.Time
}

// Progress is reported while the rebuild runs.
type Progress struct {
	Phase        string `json:"phase"` // "read", "merge", "write", "publish"
	ObjectsDone  int    `json:"objects_done"`
	ObjectsTotal int    `json:"objects_total"`
	BytesDone    int64  `json:"bytes_done"` // object bytes as stored (compressed)
	BytesTotal   int64  `json:"bytes_total"`
	Records      int64  `json:"records"`
}

// Options configure a rebuild.
type Options struct {
	Source        string   // s3://bucket/prefix/ or a local directory
	Format        string   // dynamodb | debezium
	Key           []string // key columns (required for debezium)
	Dest          string   // local .parquet file, local directory, or s3:// prefix
	Full          bool     // rebuild from all increments, ignoring the current snapshot
	MaxBadRecords int64    // bad records tolerated (quarantined) before the run fails
	MemoryLimit   int64    // bytes for the per-key state before spilling; 0 = DefaultMemoryLimit()
	Keep          int      // versions to keep (>= 1)
	PartitionBy   string   // optional hive partition column
	DryRun        bool     // list what would be consumed; write nothing
	TempDir       string   // spill and staging directory; "" = os.TempDir()
	Workers       int      // objects decoded in parallel; 0 = GOMAXPROCS
	BreakLock     bool     // remove an existing lock first
	// AllowUnprotectedLock runs on an S3 server that ignores conditional
	// writes (the lock cannot keep runs apart); refused otherwise.
	AllowUnprotectedLock bool
	// LockLease is an S3 lock's lease (snapshot.DefaultLease when 0).
	LockLease time.Duration
	// GlueTable (DB.TABLE) is created or re-pointed at each published
	// version (glue.go); GlueDatabaseCreate creates its database if missing.
	GlueTable          string
	GlueDatabaseCreate bool
	// Progress, when set, is called from the rebuild's goroutines (serially).
	Progress func(Progress)
}

// DefaultKeep is the number of versions kept when Keep is 0.
const DefaultKeep = 3

// Validate checks the options before the run reads or writes anything
// (local paths are resolved and stat'ed, nothing more).
func (o *Options) Validate() error {
	if o.Source == "" {
		return opserr.Usagef("--source is required")
	}
	if o.Dest == "" {
		return opserr.Usagef("--dest is required")
	}
	src, err := source.ParseLocation(o.Source)
	if err != nil {
		return opserr.Usagef("--source: %v", err)
	}
	dst, err := source.ParseLocation(o.Dest)
	if err != nil {
		return opserr.Usagef("--dest: %v", err)
	}
	switch o.Format {
	case "dynamodb", "debezium":
	case "":
		return opserr.Usagef("--format is required (dynamodb or debezium)")
	default:
		return opserr.Usagef("--format %q: must be dynamodb or debezium", o.Format)
	}
	for _, k := range o.Key {
		if strings.TrimSpace(k) == "" {
			return opserr.Usagef("--key: empty column name")
		}
	}
	if o.Format == "debezium" && len(o.Key) == 0 {
		return opserr.Usagef("--key is required with --format debezium (the primary-key columns)")
	}
	if o.MaxBadRecords < 0 {
		return opserr.Usagef("--max-bad-records must be >= 0")
	}
	if o.MemoryLimit < 0 || (o.MemoryLimit > 0 && o.MemoryLimit < 16<<20) {
		return opserr.Usagef("--memory-limit must be at least 16MiB")
	}
	if o.Keep < 0 {
		return opserr.Usagef("--keep must be >= 1")
	}
	if o.Workers < 0 {
		return opserr.Usagef("--workers must be >= 0")
	}
	single := isSingleFile(dst)
	if dst.IsS3() && strings.HasSuffix(strings.ToLower(dst.Prefix), ".parquet") {
		return opserr.Usagef("--dest %s: an S3 destination is a prefix for versioned snapshots, not a .parquet object", o.Dest)
	}
	if single && o.PartitionBy != "" {
		return opserr.Usagef("--partition-by needs a directory or s3:// destination, not a single .parquet file")
	}
	if single && o.Keep > 0 {
		return opserr.Usagef("--keep applies to versioned (directory or s3://) destinations only")
	}
	if err := o.validateGlue(dst.IsS3()); err != nil {
		return err
	}
	return validatePaths(src, dst, single)
}

// validatePaths checks where the run would read and write, before it reads
// or writes anything: not the root, not the working directory as a whole,
// neither location inside the other (compared as absolute, symlink-resolved
// paths, whatever mix of relative and absolute paths was given), and a
// local destination that is what its form says (a directory, or a regular
// .parquet file), never a device.
func validatePaths(src, dst source.Location, single bool) error {
	if src.IsS3() && dst.IsS3() {
		if src.Bucket == dst.Bucket && within(slashed(dst.Prefix), slashed(src.Prefix)) {
			return opserr.Usagef("--dest %s must not be inside --source %s (the snapshot would be read as input by the next run)", dst, src)
		}
		if src.Bucket == dst.Bucket && within(slashed(src.Prefix), slashed(dst.Prefix)) {
			return opserr.Usagef("--source %s must not be inside --dest %s", src, dst)
		}
		return nil
	}
	var srcAbs, dstAbs string
	if !src.IsS3() {
		a, err := resolve(src.Prefix)
		if err != nil {
			return opserr.Usagef("--source %s: %v", src.Prefix, err)
		}
		if a == string(os.PathSeparator) {
			return opserr.Usagef("--source /: name the directory that holds the increments, not the root")
		}
		srcAbs = a
	}
	if !dst.IsS3() {
		a, err := resolve(dst.Prefix)
		if err != nil {
			return opserr.Usagef("--dest %s: %v", dst.Prefix, err)
		}
		if a == string(os.PathSeparator) {
			return opserr.Usagef("--dest /: name a directory of its own for the snapshots, not the root")
		}
		if wd, err := os.Getwd(); err == nil {
			if w, err := filepath.EvalSymlinks(wd); err == nil && (a == w || within(w+string(os.PathSeparator), a+string(os.PathSeparator))) {
				return opserr.Usagef("--dest %s is the current directory (or holds it): name a directory of its own for the snapshots, e.g. --dest ./snapshot", dst.Prefix)
			}
		}
		fi, err := os.Stat(a)
		switch {
		case err == nil && single && !fi.Mode().IsRegular():
			return opserr.Usagef("--dest %s exists and is not a regular file (%s)", dst.Prefix, fi.Mode().Type())
		case err == nil && !single && !fi.IsDir():
			return opserr.Usagef("--dest %s exists and is not a directory (%s): a directory destination holds versioned snapshots; a single file must end in .parquet", dst.Prefix, kindOfMode(fi.Mode()))
		}
		dstAbs = a
	}
	if srcAbs != "" && dstAbs != "" {
		s, d := srcAbs+string(os.PathSeparator), dstAbs+string(os.PathSeparator)
		switch {
		case s == d:
			return opserr.Usagef("--dest must not be --source")
		case within(d, s):
			return opserr.Usagef("--dest %s must not be inside --source %s (the snapshot would be read as input by the next run)", dst.Prefix, src.Prefix)
		case within(s, d):
			return opserr.Usagef("--source %s must not be inside --dest %s", src.Prefix, dst.Prefix)
		}
	}
	return nil
}

func kindOfMode(m os.FileMode) string {
	switch {
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a file"
	}
	return m.Type().String()
}

func slashed(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// within reports whether path p (ending in a separator) is q or below it.
func within(p, q string) bool { return strings.HasPrefix(p, q) }

// resolve returns the absolute path with symlinks resolved as far as the
// path exists (the rest is appended as written).
func resolve(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	cur := a
	for {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return a, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func isSingleFile(l source.Location) bool {
	return !l.IsS3() && strings.HasSuffix(strings.ToLower(l.Prefix), ".parquet")
}

// ParseSize parses "1GiB", "512MiB", "2GB", "1024" (bytes).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) && (len(u.suffix) > 1 || !strings.HasSuffix(strings.ToUpper(t), "IB")) {
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			mult = u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want e.g. 1GiB, 512MiB or a number of bytes", s)
	}
	return int64(f * float64(mult)), nil
}

// DefaultMemoryLimit is a sixteenth of the machine's RAM, between 512 MiB
// and 4 GiB: enough to keep a million-key table in memory on a 16 GiB
// machine, small enough to share a cron host. Beyond it the per-key state
// spills to disk (sorted runs, cheap to merge), so a small budget costs
// little time.
func DefaultMemoryLimit() int64 {
	const lo, hi = 512 << 20, 4 << 30
	total := int64(8 << 30)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					total = kb * 1024
				}
				break
			}
		}
	}
	return min(max(total/16, lo), hi)
}
