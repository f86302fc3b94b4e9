package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MarkerName marks a destination as opsctl's: written before anything else
// the first time a run writes there. Without it (and without a _current
// pointer, which destinations made before the marker have) a non-empty
// destination is refused: opsctl prunes and cleans what it finds there, so it
// must only ever find what it wrote.
const MarkerName = "_opsctl_rebuild"

// versionID matches the names NewVersionID gives (and their "+1" bumps).
var versionID = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6}(\+1)*$`)

// IsVersionID reports whether name is a version folder name opsctl makes.
func IsVersionID(name string) bool { return versionID.MatchString(name) }

// ErrForeignDestination: the destination holds data opsctl did not write.
var ErrForeignDestination = errors.New("destination holds data opsctl did not write")

// CheckOwned returns whether the destination already carries the marker;
// nil error means opsctl may write there (empty, marked, or a pointer made
// by an earlier opsctl). It only reads.
func CheckOwned(ctx context.Context, st Store) (marked bool, err error) {
	if _, err := st.Get(ctx, MarkerName); err == nil {
		return true, nil
	} else if !errors.Is(err, ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", MarkerName, err)
	}
	if _, err := st.Get(ctx, CurrentName); err == nil {
		return false, nil // made by opsctl before the marker existed
	} else if !errors.Is(err, ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", CurrentName, err)
	}
	first, err := firstEntry(ctx, st)
	if err != nil {
		return false, err
	}
	if first != "" {
		return false, fmt.Errorf("%w: %s is not empty (it holds %s) and has no %s marker; opsctl prunes what it finds in its destinations, so it writes only to an empty directory or prefix, or one it made", ErrForeignDestination, st.String(), first, MarkerName)
	}
	return false, nil
}

// WriteMarker marks the destination as opsctl's.
func WriteMarker(ctx context.Context, st Store, now time.Time) error {
	b, _ := json.Marshal(struct {
		Tool      string    `json:"tool"`
		CreatedAt time.Time `json:"created_at"`
	}{"opsctl etl rebuild", now.UTC()})
	if err := st.Put(ctx, MarkerName, b); err != nil {
		return fmt.Errorf("mark %s as opsctl's: %w", st.String(), err)
	}
	return nil
}

// firstEntry returns one name found in the destination ("" when empty or
// missing), reading as little as possible.
func firstEntry(ctx context.Context, st Store) (string, error) {
	switch s := st.(type) {
	case *LocalStore:
		entries, err := os.ReadDir(s.Dir)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read %s: %w", s.Dir, err)
		}
		for _, e := range entries {
			if !ownEntry(e.Name()) {
				return e.Name(), nil
			}
		}
		return "", nil
	case *S3Store:
		// A few keys: the lock and a dead run's pointer temp files are
		// opsctl's own and may sort first.
		out, err := s.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix), MaxKeys: aws.Int32(16)})
		if err != nil {
			return "", fmt.Errorf("list %s: %w", s.String(), err)
		}
		for _, o := range out.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), s.Prefix); !ownEntry(name) {
				return name, nil
			}
		}
		if aws.ToBool(out.IsTruncated) {
			return "(more than 16 objects)", nil
		}
		return "", nil
	}
	names, err := st.List(ctx, "")
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if !ownEntry(n) {
			return n, nil
		}
	}
	return "", nil
}

// ownEntry: names only opsctl writes in a destination before its marker can
// exist — the lock (taken before the ownership check) and the temp files of a
// pointer switch a killed run left behind.
func ownEntry(name string) bool {
	return name == LockName || strings.HasPrefix(name, ".tmp-"+CurrentName+"-")
}
