package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/opsctl/opsctl/etl/cdc"
)

// Layout of a versioned snapshot destination:
//
//	DEST/_current                          pointer to the current version (switched last)
//	DEST/_lock                             present while a run holds the destination
//	DEST/_quarantine/<version>.ndjson      bad records of a run
//	DEST/versions/<version>/data/…parquet  the table (what readers query)
//	DEST/versions/<version>/manifest.json  row count, schema, consumed objects, previous version
//	DEST/versions/<version>/state.s2       per-key merge state for the next incremental run
const (
	CurrentName   = "_current"
	LockName      = "_lock"
	VersionsDir   = "versions/"
	DataDir       = "data/"
	ManifestName  = "manifest.json"
	StateName     = "state.s2"
	QuarantineDir = "_quarantine/"
)

// Pointer is the content of DEST/_current.
type Pointer struct {
	Version   string    `json:"version"`
	Manifest  string    `json:"manifest"`
	Data      string    `json:"data"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Manifest describes one snapshot version.
type Manifest struct {
	FormatVersion   int       `json:"format_version"`
	Version         string    `json:"version"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	Source          string    `json:"source"`
	Format          string    `json:"format"`
	Key             []string  `json:"key,omitempty"`
	PartitionBy     string    `json:"partition_by,omitempty"`
	RowCount        int64     `json:"row_count"`
	Files           []OutFile `json:"files"`
	Schema          []Column  `json:"schema"`
	// ColumnTypes is the schema as types (what an emptied table keeps).
	ColumnTypes map[string]*cdc.Type `json:"column_types,omitempty"`
	State       string               `json:"state"`
	StateKeys   int64                `json:"state_keys"`
	Tombstones  int64                `json:"tombstones"`
	Truncate    *cdc.Position        `json:"truncate_position,omitempty"`
	Schemas     []string             `json:"debezium_schemas,omitempty"`
	Full        bool                 `json:"full_rebuild"`
	NewObjects  int                  `json:"new_objects"`
	// Consumed lists every source object key folded into this version
	// (cumulative, sorted). Increments are tracked by key, not LastModified.
	Consumed []string `json:"consumed_objects"`
}

// NewVersionID returns a sortable, unique version name.
func NewVersionID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// ReadCurrent returns the current pointer and manifest; ok=false when the
// destination has no snapshot yet.
func ReadCurrent(ctx context.Context, st Store) (p Pointer, m *Manifest, ok bool, err error) {
	b, err := st.Get(ctx, CurrentName)
	if errors.Is(err, ErrNotExist) {
		return p, nil, false, nil
	}
	if err != nil {
		return p, nil, false, fmt.Errorf("read %s: %w", CurrentName, err)
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Version == "" {
		return p, nil, false, fmt.Errorf("read %s: corrupt pointer", CurrentName)
	}
	mb, err := st.Get(ctx, p.Manifest)
	if err != nil {
		return p, nil, false, fmt.Errorf("read manifest of current version %s: %w", p.Version, err)
	}
	m = &Manifest{}
	if err := json.Unmarshal(mb, m); err != nil {
		return p, nil, false, fmt.Errorf("read manifest of current version %s: %w", p.Version, err)
	}
	return p, m, true, nil
}

// VersionPath returns the folder of a version.
func VersionPath(v string) string { return VersionsDir + v + "/" }

// LockInfo is the content of DEST/_lock: who holds it.
type LockInfo struct {
	Owner   string    `json:"owner"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
	// Token identifies the run's lock (read back to detect an overwrite);
	// Expires is the end of an S3 lock's lease (zero: no lease, never
	// taken over without --break-lock).
	Token   string    `json:"token,omitempty"`
	Expires time.Time `json:"expires,omitempty"`
}

// NewLockInfo describes this process.
func NewLockInfo(now time.Time, command string) LockInfo {
	host, _ := os.Hostname()
	owner := ""
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	return LockInfo{Owner: owner, Host: host, PID: os.Getpid(), Since: now.UTC(), Command: command}
}

// LockedError reports a destination held by another run.
type LockedError struct {
	Dest  string
	Info  LockInfo
	Age   time.Duration
	Stale bool
}

func (e *LockedError) Error() string {
	state := "another run is in progress"
	if e.Stale {
		state = "the lock looks stale (held for " + e.Age.Round(time.Second).String() + ")"
	}
	return fmt.Sprintf("%s is locked by %s@%s pid %d since %s (%s); if no run is active, remove %s%s or pass --break-lock",
		e.Dest, e.Info.Owner, e.Info.Host, e.Info.PID, e.Info.Since.Format(time.RFC3339), state, strings.TrimSuffix(e.Dest, "/")+"/", LockName)
}

// StaleAfter is the age after which a lock held from another host is
// reported as stale (it is never broken automatically).
const StaleAfter = 6 * time.Hour

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Prune deletes what opsctl wrote and no longer needs: the versions of the
// current chain (current → previous_version → …) beyond the newest keep,
// and version folders left by interrupted runs — named as NewVersionID
// names them and older than the current version. Anything else under
// versions/ is not opsctl's and is left alone. It must run under the lock,
// after the pointer switch.
//
// Prune never deletes a version whose name is later than the current one's;
// PruneStartedAt takes the run's start for a tighter bound.
func Prune(ctx context.Context, st Store, current *Manifest, keep int, readManifest func(v string) (*Manifest, error)) (deleted []string, err error) {
	start, ok := versionTime(current.Version)
	if !ok {
		start = time.Unix(1<<40, 0) // names decide: see PruneStartedAt
	}
	return PruneStartedAt(ctx, st, current, keep, start, readManifest)
}

// versionTime is the creation time a version name (NewVersionID) carries.
func versionTime(v string) (time.Time, bool) {
	if len(v) < len("20060102T150405.000Z") {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405.000Z", v[:len("20060102T150405.000Z")])
	return t, err == nil
}

// PruneStartedAt is Prune for a run that started at start: a version folder
// created at or after it belongs to another run (possible only when the lock
// did not keep runs apart) and is never deleted; a folder whose name is not
// a version name goes only if it sorts before the current version.
func PruneStartedAt(ctx context.Context, st Store, current *Manifest, keep int, start time.Time, readManifest func(v string) (*Manifest, error)) (deleted []string, err error) {
	if keep < 1 {
		keep = 1
	}
	kept := map[string]bool{current.Version: true}
	chain := map[string]bool{}
	prev := current.PreviousVersion
	for prev != "" && !kept[prev] && !chain[prev] {
		if len(kept) < keep {
			kept[prev] = true
		} else {
			chain[prev] = true
		}
		m, err := readManifest(prev)
		if err != nil {
			break
		}
		prev = m.PreviousVersion
	}
	names, err := st.List(ctx, VersionsDir)
	if err != nil {
		return nil, err
	}
	byVersion := map[string][]string{}
	for _, n := range names {
		rest := strings.TrimPrefix(n, VersionsDir)
		v, _, _ := strings.Cut(rest, "/")
		byVersion[v] = append(byVersion[v], n)
	}
	versions := make([]string, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		if kept[v] || !(chain[v] || (IsVersionID(v) && v < current.Version)) {
			continue
		}
		if t, ok := versionTime(v); ok && !t.Before(start.Truncate(time.Millisecond)) {
			continue // another run's, started after ours
		} else if !ok && v >= current.Version {
			continue // not a version name: only older-sorting ones go
		}
		if ls, ok := st.(*LocalStore); ok {
			if err := ls.RemoveAll(VersionPath(v)); err != nil {
				return deleted, err
			}
		} else {
			// manifest first: a half-deleted version is then clearly dead
			files := byVersion[v]
			slices.SortFunc(files, func(a, b string) int {
				am, bm := strings.HasSuffix(a, ManifestName), strings.HasSuffix(b, ManifestName)
				if am != bm {
					if am {
						return -1
					}
					return 1
				}
				return strings.Compare(a, b)
			})
			for _, f := range files {
				if err := st.Delete(ctx, f); err != nil {
					return deleted, err
				}
			}
		}
		deleted = append(deleted, v)
	}
	return deleted, nil
}
