// Command redrive benchmarks moving a DLQ back to its source three ways (run
// it through bench/redrive.sh, which starts the endpoints):
//
//   - naive: one goroutine; receive 10, send each with SendMessage, delete
//     each with DeleteMessage (what a hand-written script does);
//   - client: the opsctl binary's client path (dlq redrive --method client);
//   - native: the opsctl binary with the SQS message move task, on an
//     endpoint that has one (local-aws-sqs; fauxqs does not).
//
// It prints a Markdown table of messages/s and the ratios to the naive loop.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

type row struct {
	method, endpoint string
	n                int
	secs             float64
}

func main() {
	endpoint := flag.String("endpoint", "", "local endpoint serving SQS with fauxqs")
	nativeEndpoint := flag.String("native-endpoint", "", "local endpoint serving SQS with local-aws-sqs (move tasks); empty skips the native run")
	opsctl := flag.String("opsctl", "", "path to the opsctl binary")
	n := flag.Int("n", 100000, "messages per run")
	nativeN := flag.Int("native-n", 0, "messages for the native run (default -n)")
	concurrency := flag.Int("concurrency", 16, "opsctl --concurrency")
	skipNaive := flag.Bool("skip-naive", false, "skip the naive loop (no ratios)")
	flag.Parse()
	if *endpoint == "" || *opsctl == "" {
		log.Fatal("need -endpoint and -opsctl")
	}
	if *nativeN == 0 {
		*nativeN = *n
	}
	ctx := context.Background()
	var rows []row

	c := client(*endpoint)
	if !*skipNaive {
		src, dlq := pair(ctx, c, "naive")
		fill(ctx, c, dlq, *n)
		start := time.Now()
		moved := naive(ctx, c, dlq, src)
		rows = append(rows, row{"naive loop (receive 10, send each, delete each)", "fauxqs", moved, time.Since(start).Seconds()})
		check(ctx, c, src, dlq, *n)
		log.Printf("naive: %d in %.1fs", moved, rows[0].secs)
	}

	src, dlq := pair(ctx, c, "client")
	fill(ctx, c, dlq, *n)
	secs, moved := runOpsctl(*opsctl, *endpoint, dlq, "client", *concurrency)
	rows = append(rows, row{fmt.Sprintf("opsctl client path (--concurrency %d)", *concurrency), "fauxqs", moved, secs})
	check(ctx, c, src, dlq, *n)
	log.Printf("client: %d in %.1fs", moved, secs)

	if *nativeEndpoint != "" {
		nc := client(*nativeEndpoint)
		src, dlq = pair(ctx, nc, "native")
		fill(ctx, nc, dlq, *nativeN)
		// The messages were sent to the DLQ directly (no DeadLetterQueueSourceArn),
		// so the task is given its destination.
		secs, moved := runOpsctl(*opsctl, *nativeEndpoint, dlq, "native", *concurrency, "--to", src)
		rows = append(rows, row{"opsctl native move task", "local-aws-sqs", moved, secs})
		check(ctx, nc, src, dlq, *nativeN)
		log.Printf("native: %d in %.1fs", moved, secs)
		// The client path on the same emulator, for a like-for-like ratio.
		src, dlq = pair(ctx, nc, "native-client")
		fill(ctx, nc, dlq, *nativeN)
		secs, moved = runOpsctl(*opsctl, *nativeEndpoint, dlq, "client", *concurrency)
		rows = append(rows, row{fmt.Sprintf("opsctl client path (--concurrency %d)", *concurrency), "local-aws-sqs", moved, secs})
		check(ctx, nc, src, dlq, *nativeN)
	}

	base := 0.0
	if !*skipNaive {
		base = float64(rows[0].n) / rows[0].secs
	}
	fmt.Println("| method | emulator | messages | seconds | msg/s | × naive |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	for _, r := range rows {
		rate := float64(r.n) / r.secs
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.1f×", rate/base)
		}
		fmt.Printf("| %s | %s | %d | %.1f | %.0f | %s |\n", r.method, r.endpoint, r.n, r.secs, rate, ratio)
	}
}

func client(endpoint string) *sqs.Client {
	return sqs.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return retry.NewStandard() },
	})
}

func pair(ctx context.Context, c *sqs.Client, name string) (src, dlq string) {
	d, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-" + name + "-dlq")})
	if err != nil {
		log.Fatal(err)
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: d.QueueUrl, AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-" + name), Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`, a.Attributes["QueueArn"])}})
	if err != nil {
		log.Fatal(err)
	}
	return *s.QueueUrl, *d.QueueUrl
}

// fill puts n ~200-byte messages with two attributes on the DLQ.
func fill(ctx context.Context, c *sqs.Client, url string, n int) {
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range ch {
				var es []types.SendMessageBatchRequestEntry
				for i := start; i < min(start+10, n); i++ {
					es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i - start)),
						MessageBody: aws.String(fmt.Sprintf(`{"order":%d,"status":"FAILED","reason":"downstream timeout","payload":"%0150d"}`, i, i)),
						MessageAttributes: map[string]types.MessageAttributeValue{
							"seq":    {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(i))},
							"tenant": {DataType: aws.String("String"), StringValue: aws.String("t-" + strconv.Itoa(i%7))},
						}})
				}
				if out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: es}); err != nil || len(out.Failed) > 0 {
					log.Fatalf("fill: %v", err)
				}
			}
		}()
	}
	for i := 0; i < n; i += 10 {
		ch <- i
	}
	close(ch)
	wg.Wait()
}

// naive is the loop people write first: one message at a time.
func naive(ctx context.Context, c *sqs.Client, dlq, src string) int {
	moved, empty := 0, 0
	for empty < 2 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			// The emulator proxy occasionally truncates a long-poll response
			// (unexpected EOF); nothing was deleted, so retrying is safe.
			log.Printf("naive receive: %v (retrying)", err)
			continue
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range out.Messages {
			if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src), MessageBody: m.Body, MessageAttributes: m.MessageAttributes}); err != nil {
				log.Fatal(err)
			}
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle}); err != nil {
				log.Fatal(err)
			}
			moved++
		}
	}
	return moved
}

// runOpsctl runs the binary and returns the wall time and messages moved.
func runOpsctl(bin, endpoint, dlq, method string, concurrency int, extra ...string) (float64, int) {
	args := append([]string{"dlq", "redrive", dlq, "--method", method, "--concurrency", strconv.Itoa(concurrency), "--output", "json", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true")
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	secs := time.Since(start).Seconds()
	if err != nil {
		log.Fatalf("opsctl %s: %v\n%s", method, err, out)
	}
	var res struct {
		Moved int `json:"moved"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		log.Fatalf("opsctl output: %v\n%s", err, out)
	}
	return secs, res.Moved
}

// check verifies that nothing was lost: the source holds n messages and the DLQ none.
func check(ctx context.Context, c *sqs.Client, src, dlq string, n int) {
	count := func(u string) int {
		a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			log.Fatal(err)
		}
		v, _ := strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
		nv, _ := strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return v + nv
	}
	if s, d := count(src), count(dlq); s < n || d != 0 {
		log.Printf("WARNING: after the run the source has %d (want %d) and the DLQ %d (want 0)", s, n, d)
	}
}
