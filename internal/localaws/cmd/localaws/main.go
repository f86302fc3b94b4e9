// Command localaws runs opsctl's local AWS endpoint as a standalone process,
// so opsctl (or the AWS CLI) can be pointed at it with --endpoint-url:
//
//	go run ./internal/localaws/cmd/localaws -addr 127.0.0.1:4566
//	opsctl --endpoint-url http://127.0.0.1:4566 whoami
//
// It starts the npm emulators that are installed (make emulators) and serves
// S3 and opsctl's own emulations in process. Faults can be injected over HTTP:
//
//	curl -X POST 127.0.0.1:4566/_localaws/faults -d '{"service":"logs","operation":"PutMetricFilter","kind":"throttle","times":3}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/opsctl/opsctl/internal/localaws"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4566", "loopback `address` to listen on")
	emus := flag.String("emulators", "auto", "npm emulators to start: auto (all, if installed), none, or a comma list of sqs,sns,kinesis")
	sqsBackend := flag.String("sqs-backend", "local-aws-sqs", "who serves SQS: local-aws-sqs or fauxqs")
	region := flag.String("region", localaws.DefaultRegion, "region the emulations report")
	flag.Parse()

	opts := localaws.Options{Addr: *addr, Region: *region, SQSBackend: *sqsBackend, Logf: log.Printf}
	switch *emus {
	case "none":
	case "auto":
		if _, err := localaws.FindEmulatorsDir(); err != nil {
			log.Printf("%v; serving only the in-process services", err)
		} else {
			opts.Emulators = localaws.AllEmulators
		}
	default:
		opts.Emulators = strings.Split(*emus, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := localaws.New(ctx, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		log.Fatal(err)
	}
	fmt.Printf("localaws listening on %s (region %s, account %s)\n", srv.URL, srv.Region, srv.Account)
	fmt.Printf("try: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test opsctl --endpoint-url %s --region %s whoami\n", srv.URL, srv.Region)
	<-ctx.Done()
	srv.Close()
}
