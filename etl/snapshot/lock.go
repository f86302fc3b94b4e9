package snapshot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// DefaultLease is how long a lock on S3 stays valid without renewal. The
// holder renews it every third of that while it runs; a lock whose lease has
// run out (its run died: OOM, SIGKILL, a lost host) is taken over by the next
// run with a conditional write.
const DefaultLease = 2 * time.Minute

// ErrUnprotected: the destination's server ignores conditional writes, so the
// lock cannot keep two runs apart.
var ErrUnprotected = errors.New("the S3 server ignores conditional writes (If-None-Match: *): the lock cannot keep two runs apart; pass --allow-unprotected-lock to run anyway, only if no other run can target this destination")

// LockOptions configure AcquireLockWith.
type LockOptions struct {
	Info      LockInfo
	BreakLock bool
	// AllowUnprotected runs on a server that ignores conditional writes
	// (warned); without it such a server is refused with ErrUnprotected.
	AllowUnprotected bool
	// Lease is the lifetime of an S3 lock between renewals (DefaultLease
	// when 0). Renewal runs every Lease/3 of real time.
	Lease time.Duration
	Now   func() time.Time
	Warn  func(msg string, args ...any)
}

// Lock is a held destination lock.
type Lock struct {
	st    Store
	cs    *S3Store // nil on a local store
	token string
	lease time.Duration
	now   func() time.Time
	info  LockInfo

	mu   sync.Mutex
	etag string
	lost error // set when a renewal found the lock gone or someone else's

	stop chan struct{}
	done chan struct{}
}

// AcquireLock takes DEST/_lock. See AcquireLockWith; the release function
// stops the lease renewal and deletes the lock only if it is still ours.
func AcquireLock(ctx context.Context, st Store, info LockInfo, breakLock bool, now time.Time, warn func(msg string, args ...any)) (release func(context.Context) error, err error) {
	l, err := AcquireLockWith(ctx, st, LockOptions{Info: info, BreakLock: breakLock, Now: func() time.Time { return now }, Warn: warn})
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// AcquireLockWith takes DEST/_lock with a conditional create.
//
// On a local directory a lock left by a dead process on this host (kill -9)
// is broken automatically, and the .tmp-_current-* files such a run leaves
// are removed. On S3 the lock carries a random token and a lease: the server
// is first checked to honour If-None-Match (a second conditional create of a
// probe object must fail), an expired lease is taken over with a write
// conditional on the old lock's ETag, and the lease is renewed in the
// background until Release.
func AcquireLockWith(ctx context.Context, st Store, o LockOptions) (*Lock, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	l := &Lock{st: st, token: newToken(), lease: o.Lease, now: o.Now}
	l.cs, _ = st.(*S3Store)
	if l.cs != nil {
		ok, err := l.cs.honoursIfNoneMatch(ctx, l.token)
		if err != nil {
			return nil, fmt.Errorf("check the S3 server's conditional writes: %w", err)
		}
		if !ok {
			if !o.AllowUnprotected {
				return nil, fmt.Errorf("%s: %w", st.String(), ErrUnprotected)
			}
			if o.Warn != nil {
				o.Warn("running without a working lock: the S3 server ignores conditional writes", "dest", st.String())
			}
		}
	}
	for attempt := 0; attempt < 3; attempt++ {
		now := o.Now()
		info := o.Info
		info.Token = l.token
		if l.cs != nil {
			info.Expires = now.Add(l.lease).UTC()
		}
		body, _ := json.Marshal(info)
		etag, err := l.create(ctx, body)
		if err == nil {
			l.info, l.etag = info, etag
			if err := l.verify(ctx); err != nil {
				return nil, err
			}
			l.started()
			return l, nil
		}
		if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("take lock %s: %w", LockName, err)
		}
		held, heldETag, gerr := l.read(ctx)
		if errors.Is(gerr, ErrNotExist) {
			continue // released meanwhile
		}
		if gerr != nil {
			return nil, fmt.Errorf("read lock %s: %w", LockName, gerr)
		}
		age := now.Sub(held.Since)
		deadHere := st.Local() != "" && held.Host == o.Info.Host && held.PID > 0 && !processAlive(held.PID)
		expired := l.cs != nil && !held.Expires.IsZero() && now.After(held.Expires)
		if attempt == 0 && (o.BreakLock || deadHere || expired) {
			reason := "--break-lock"
			switch {
			case deadHere:
				reason = "its process is gone"
			case expired && !o.BreakLock:
				reason = "its lease expired at " + held.Expires.Format(time.RFC3339)
			}
			if o.Warn != nil {
				o.Warn("breaking stale lock", "dest", st.String(), "owner", held.Owner, "host", held.Host, "pid", held.PID, "since", held.Since, "reason", reason)
			}
			if l.cs != nil && heldETag != "" {
				// Take over in one conditional write: if another run took
				// it over (or the holder renewed) first, the ETag differs.
				etag, err := l.cs.putIfMatch(ctx, LockName, body, heldETag)
				if errors.Is(err, ErrExists) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("take over lock: %w", err)
				}
				l.info, l.etag = info, etag
				if err := l.verify(ctx); err != nil {
					return nil, err
				}
				l.started()
				return l, nil
			}
			if err := st.Delete(ctx, LockName); err != nil {
				return nil, fmt.Errorf("break lock: %w", err)
			}
			continue
		}
		return nil, &LockedError{Dest: st.String(), Info: held, Age: age, Stale: age > StaleAfter || deadHere || expired}
	}
	return nil, &LockedError{Dest: st.String()}
}

func (l *Lock) create(ctx context.Context, body []byte) (string, error) {
	if l.cs != nil {
		return l.cs.create(ctx, LockName, body)
	}
	return "", l.st.Create(ctx, LockName, body)
}

func (l *Lock) read(ctx context.Context) (LockInfo, string, error) {
	var held LockInfo
	var b []byte
	var etag string
	var err error
	if l.cs != nil {
		b, etag, err = l.cs.getETag(ctx, LockName)
	} else {
		b, err = l.st.Get(ctx, LockName)
	}
	if err != nil {
		return held, "", err
	}
	json.Unmarshal(b, &held)
	return held, etag, nil
}

// verify reads the lock back: it must hold our token. (On a server that
// ignores conditional writes a concurrent run may have overwritten it.)
func (l *Lock) verify(ctx context.Context) error {
	held, etag, err := l.read(ctx)
	if err != nil {
		return fmt.Errorf("read back lock %s: %w", LockName, err)
	}
	if held.Token != l.token {
		return &LockedError{Dest: l.st.String(), Info: held, Age: l.now().Sub(held.Since)}
	}
	if etag != "" {
		l.etag = etag
	}
	return nil
}

// started removes what killed runs leave in a local destination and starts
// the lease renewal of an S3 lock.
func (l *Lock) started() {
	if dir := l.st.Local(); dir != "" {
		if old, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+CurrentName+"-*")); len(old) > 0 {
			for _, f := range old {
				os.Remove(f)
			}
		}
	}
	if l.cs == nil {
		return
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renewLoop()
}

func (l *Lock) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.renew(context.Background()); err != nil {
				l.mu.Lock()
				if l.lost == nil {
					l.lost = err
				}
				l.mu.Unlock()
				if errors.Is(err, errLockLost) {
					return
				}
			}
		}
	}
}

var errLockLost = errors.New("the lock is no longer ours")

// renew extends the lease, conditional on the lock still being our version.
func (l *Lock) renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := l.info
	info.Expires = l.now().Add(l.lease).UTC()
	body, _ := json.Marshal(info)
	held, _, err := l.read(ctx)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return fmt.Errorf("%w: %s was deleted", errLockLost, LockName)
		}
		return err
	}
	if held.Token != l.token {
		return fmt.Errorf("%w: taken over by %s@%s pid %d", errLockLost, held.Owner, held.Host, held.PID)
	}
	etag, err := l.cs.putIfMatch(ctx, LockName, body, l.etag)
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("%w: changed while renewing", errLockLost)
	}
	if err != nil {
		return err
	}
	l.info, l.etag = info, etag
	l.lost = nil // a transient renewal failure is over
	return nil
}

// Lost reports the renewal failure that makes the lock no longer ours, or nil.
func (l *Lock) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if errors.Is(l.lost, errLockLost) {
		return l.lost
	}
	return nil
}

// Release stops renewing and deletes the lock if it is still ours (on S3,
// conditional on its ETag). A lock that was taken over is left alone and
// reported.
func (l *Lock) Release(ctx context.Context) error {
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	if lost := l.Lost(); lost != nil {
		return lost
	}
	if l.cs == nil {
		return l.st.Delete(ctx, LockName)
	}
	held, _, err := l.read(ctx)
	if errors.Is(err, ErrNotExist) {
		return fmt.Errorf("%w: %s was deleted by someone else", errLockLost, LockName)
	}
	if err != nil {
		return err
	}
	if held.Token != l.token {
		return fmt.Errorf("%w: taken over by %s@%s pid %d; left in place", errLockLost, held.Owner, held.Host, held.PID)
	}
	return l.cs.deleteIfMatch(ctx, LockName, l.etag)
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

// honoursIfNoneMatch creates a probe object twice with If-None-Match: *; a
// server that honours the condition refuses the second (412).
func (s *S3Store) honoursIfNoneMatch(ctx context.Context, token string) (bool, error) {
	name := LockName + ".probe-" + token
	if _, err := s.create(ctx, name, []byte(token)); err != nil {
		return false, err
	}
	defer s.Delete(context.WithoutCancel(ctx), name)
	_, err := s.create(ctx, name, []byte(token))
	if errors.Is(err, ErrExists) {
		return true, nil
	}
	return false, err
}

func (s *S3Store) create(ctx context.Context, name string, body []byte) (string, error) {
	out, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), IfNoneMatch: aws.String("*")})
	if err != nil {
		if isPreconditionFailed(err) {
			return "", fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), ErrExists)
		}
		return "", fmt.Errorf("put s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return aws.ToString(out.ETag), nil
}

func (s *S3Store) putIfMatch(ctx context.Context, name string, body []byte, etag string) (string, error) {
	out, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name)), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), IfMatch: aws.String(etag)})
	if err != nil {
		if isPreconditionFailed(err) || isNotFound(err) {
			return "", fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), ErrExists)
		}
		return "", fmt.Errorf("put s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return aws.ToString(out.ETag), nil
}

func (s *S3Store) getETag(ctx context.Context, name string) ([]byte, string, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(name), ErrNotExist)
		}
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(out.Body); err != nil {
		return nil, "", fmt.Errorf("get s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return b.Bytes(), aws.ToString(out.ETag), nil
}

// deleteIfMatch deletes name only while its ETag is etag (S3 DeleteObject
// If-Match). A server that rejects the header as unsupported gets a plain
// delete: the token was compared just before.
func (s *S3Store) deleteIfMatch(ctx context.Context, name, etag string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	_, err := s.Client.DeleteObject(ctx, in)
	if err != nil && isPreconditionFailed(err) {
		return fmt.Errorf("%w: %s changed before release; left in place", errLockLost, LockName)
	}
	if err != nil && !isNotFound(err) {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "NotImplemented" || ae.ErrorCode() == "InvalidArgument") {
			return s.Delete(ctx, name)
		}
		return fmt.Errorf("delete s3://%s/%s: %w", s.Bucket, s.key(name), err)
	}
	return nil
}
