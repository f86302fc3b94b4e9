package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/parquet-go/parquet-go"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/wait"
)

// archiveEnv starts the endpoint with Kinesis and STS; Firehose buffers
// 200× faster than real time so a 60 s interval flushes in 300 ms.
func archiveEnv(t *testing.T) (*localaws.Server, []string) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorKinesis, localaws.EmulatorSNS}})
	srv.Service("firehose").(*firehoseemu.Server).SetTimeScale(0.005)
	return srv, localawstest.Env(t, srv)
}

func runOK(t *testing.T, env []string, args ...string) localawstest.Result {
	t.Helper()
	r := localawstest.Run(t, env, args...)
	if r.Code != 0 {
		t.Fatalf("opsctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func archiveWrites(srv *localaws.Server) []string {
	var out []string
	for _, c := range srv.WriteCalls() {
		if c.Service == "kinesis" && (c.Operation == "GetShardIterator" || c.Operation == "GetRecords") {
			continue // the emulated Firehose reading its source
		}
		out = append(out, c.Service+"."+c.Operation)
	}
	return out
}

func createTable(t *testing.T, srv *localaws.Server, name string) {
	t.Helper()
	ddb := dynamodb.NewFromConfig(localawstest.Config(srv, 0))
	_, err := ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBinaryEtlArchiveCreateDryRunRerunAndChange(t *testing.T) {
	srv, env := archiveEnv(t)
	createTable(t, srv, "orders")

	srv.ResetCalls()
	r := runOK(t, env, "etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--dry-run")
	if w := archiveWrites(srv); len(w) != 0 {
		t.Fatalf("--dry-run wrote %v", w)
	}
	for _, want := range []string{"dry run: nothing written", "IAM trust policy", "firehose.amazonaws.com", "IAM permissions", `"kinesis:GetRecords"`,
		"arn:aws:s3:::acme-cdc/cdc/orders/*", "aws:SecureTransport", "opsctl etl rebuild --source s3://acme-cdc/cdc/orders/data/ --format dynamodb"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, r.Stdout)
		}
	}

	r = runOK(t, env, "etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "-o", "json")
	var res archive.CreateResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("create JSON: %v\n%s", err, r.Stdout)
	}
	if !res.Changed() || res.Stream != "orders" || res.DataPrefix != "cdc/orders/data/" {
		t.Fatalf("create result %+v", res)
	}

	srv.ResetCalls()
	r = runOK(t, env, "etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc")
	if w := archiveWrites(srv); len(w) != 0 {
		t.Fatalf("re-run wrote %v\n%s", w, r.Stdout)
	}

	srv.ResetCalls()
	r = runOK(t, env, "etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--buffer-mb", "16", "--buffer-interval", "90s")
	if w := archiveWrites(srv); len(w) != 1 || w[0] != "firehose.UpdateDestination" {
		t.Fatalf("changed buffering wrote %v", w)
	}
	if !strings.Contains(r.Stdout, "buffer_mb: 64 → 16; buffer_interval: 300s → 90s") {
		t.Errorf("diff not shown:\n%s", r.Stdout)
	}

	for _, bad := range [][]string{
		{"etl", "archive", "create", "orders", "--bucket", "acme-cdc"},
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--buffer-mb", "129"},
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--buffer-interval", "901s"},
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--source-kind", "mysql", "--bucket", "acme-cdc"},
		// issue 16 item 7: 0 is an error, not the default.
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--buffer-mb", "0"},
		// botocore logs service-2.json shape Days: 1, 3, 5, 7, 14, 30, ...
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--log-retention-days", "0"},
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--log-retention-days", "10"},
		// S3 bucket naming rules: not an IP address, not xn--.
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "10.0.0.1"},
		{"etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "xn--cdc"},
	} {
		srv.ResetCalls()
		if r := localawstest.Run(t, env, bad...); r.Code != 2 {
			t.Errorf("opsctl %v: exit %d, want 2 (usage)\n%s", bad, r.Code, r.Stderr)
		}
		if calls := srv.Calls(); len(calls) != 0 {
			t.Errorf("opsctl %v: %d calls before refusing", bad, len(calls))
		}
	}
}

func TestBinaryEtlArchiveStatusAlarmRm(t *testing.T) {
	srv, env := archiveEnv(t)
	createTable(t, srv, "orders")
	runOK(t, env, "etl", "archive", "create", "orders", "--dynamodb-table", "orders", "--bucket", "acme-cdc", "--buffer-interval", "60s")
	kc := kinesis.NewFromConfig(localawstest.Config(srv, 0))
	if _, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	localawstest.WaitObjects(t, srv, "acme-cdc", "cdc/orders/data/", 1)

	r := runOK(t, env, "etl", "archive", "status")
	if !strings.Contains(r.Stdout, "orders") || !strings.Contains(r.Stdout, "healthy") {
		t.Fatalf("status:\n%s", r.Stdout)
	}
	// Metrics that cannot be read: health unknown, exit 3, never "healthy".
	srv.InjectFault(localaws.Fault{Service: "monitoring", Operation: "GetMetricData", Kind: localaws.FaultError, Times: -1, Code: "AccessDenied", Status: 403, Message: "not authorized"})
	r = localawstest.Run(t, env, "etl", "archive", "status", "orders")
	if r.Code != 3 || !strings.Contains(r.Stdout, "UNKNOWN") || !strings.Contains(r.Stdout, "NOT CHECKED") || !strings.Contains(r.Stderr, "health unknown: orders") {
		t.Fatalf("unreadable metrics: exit %d, want 3\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	srv.ClearFaults()
	// Stale: a max age shorter than the newest object's age → exit 3.
	time.Sleep(1100 * time.Millisecond)
	r = localawstest.Run(t, env, "etl", "archive", "status", "orders", "--max-age", "1s", "-o", "json")
	if r.Code != 3 {
		t.Fatalf("stale archive: exit %d, want 3\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var st archive.StatusResult
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || st.Healthy || !strings.Contains(strings.Join(st.Archives[0].Problems, " "), "stale") {
		t.Fatalf("stale status %+v %v", st, err)
	}
	// Error objects → exit 3.
	srv.Service("firehose").(*firehoseemu.Server).FailRecords(func(_ string, b []byte) bool { return string(b) == "poison" })
	kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte("poison")})
	localawstest.WaitObjects(t, srv, "acme-cdc", "cdc/orders/errors/", 1)
	r = localawstest.Run(t, env, "etl", "archive", "status", "orders")
	if r.Code != 3 || !strings.Contains(r.Stdout, "UNHEALTHY") || !strings.Contains(r.Stdout, "could not deliver") {
		t.Fatalf("error objects: exit %d\n%s", r.Code, r.Stdout)
	}

	r = runOK(t, env, "etl", "archive", "alarm", "orders", "--email", "data@example.com")
	for _, want := range []string{"opsctl-etl-archive-orders-freshness", "opsctl-etl-archive-orders-delivery-errors", "opsctl-etl-archive-orders-iterator-age", "data@example.com"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("alarm output lacks %s:\n%s", want, r.Stdout)
		}
	}
	srv.ResetCalls()
	runOK(t, env, "etl", "archive", "alarm", "orders", "--email", "data@example.com")
	if w := archiveWrites(srv); len(w) != 0 {
		t.Fatalf("second alarm run wrote %v", w)
	}

	// rm needs confirmation without a terminal.
	if r := localawstest.Run(t, env, "etl", "archive", "rm", "orders"); r.Code != 2 {
		t.Fatalf("rm without --yes: exit %d, want 2", r.Code)
	}
	r = runOK(t, env, "etl", "archive", "rm", "orders", "--keep-data", "--yes")
	if !strings.Contains(r.Stdout, "firehose-delivery-stream") || !strings.Contains(r.Stdout, "applied") {
		t.Fatalf("rm output:\n%s", r.Stdout)
	}
	if keys := localawstest.WaitObjects(t, srv, "acme-cdc", "cdc/orders/", 1); len(keys) == 0 {
		t.Fatal("--keep-data deleted the data")
	}
	r = localawstest.Run(t, env, "etl", "archive", "status", "orders")
	if r.Code != 3 || !strings.Contains(r.Stdout, "does not exist") {
		t.Fatalf("status after rm: exit %d\n%s", r.Code, r.Stdout)
	}
}

// readParquet returns the rows of a (flat) Parquet file, sorted by key column.
func readParquet(t *testing.T, path, key string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	var names []string
	for _, c := range pf.Schema().Columns() {
		names = append(names, strings.Join(c, "."))
	}
	var out []map[string]any
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				m := map[string]any{}
				for _, v := range row {
					var x any
					switch {
					case v.IsNull():
					case v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray:
						x = string(v.ByteArray())
					case v.Kind() == parquet.Int32:
						x = v.Int32()
					case v.Kind() == parquet.Int64:
						x = v.Int64()
					case v.Kind() == parquet.Double:
						x = v.Double()
					case v.Kind() == parquet.Float:
						x = v.Float()
					case v.Kind() == parquet.Boolean:
						x = v.Boolean()
					}
					m[names[v.Column()]] = x
				}
				out = append(out, m)
			}
			if err != nil {
				break
			}
		}
		rows.Close()
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i][key]) < fmt.Sprint(out[j][key]) })
	return out
}

func waitDestinationActive(t *testing.T, srv *localaws.Server, table string) {
	t.Helper()
	ddb := dynamodb.NewFromConfig(localawstest.Config(srv, 0))
	localawstest.Eventually(t, "table "+table+" streaming to its archive", 10*time.Second, func() (bool, string) {
		out, err := ddb.DescribeKinesisStreamingDestination(context.Background(), &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.KinesisDataStreamDestinations) == 0 {
			return false, "no destination"
		}
		st := out.KinesisDataStreamDestinations[0].DestinationStatus
		return st == ddbtypes.DestinationStatusActive, string(st)
	})
}

func putAll(t *testing.T, srv *localaws.Server, stream string, recs [][2]string) {
	t.Helper()
	kc := kinesis.NewFromConfig(localawstest.Config(srv, 0))
	for _, r := range recs {
		if _, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(r[0]), Data: []byte(r[1])}); err != nil {
			t.Fatal(err)
		}
	}
}

func ddbRecord(event, id string, micros int64, image string) string {
	img := ""
	if image != "" {
		img = `,"NewImage":` + image
	}
	return fmt.Sprintf(`{"awsRegion":"us-east-1","eventID":"%s-%d","eventName":"%s","userIdentity":null,"recordFormat":"application/json","tableName":"orders",`+
		`"dynamodb":{"ApproximateCreationDateTime":%d,"ApproximateCreationDateTimePrecision":"MICROSECOND","Keys":{"id":{"S":"%s"}}%s,"SizeBytes":40},"eventSource":"aws:dynamodb"}`,
		id, micros, event, micros, id, img)
}

// One end-to-end test per source kind: records put into the archive's Kinesis
// stream reach S3 through the emulated Firehose, and the rebuild command the
// archive printed turns them into the expected snapshot.
func TestBinaryEtlArchiveEndToEndPerSourceKind(t *testing.T) {
	srv, env := archiveEnv(t)
	createTable(t, srv, "orders")
	createTable(t, srv, "carts")
	base := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC).UnixMicro()
	pgTs := `"ts_ms":1764000000000`
	cases := []struct {
		name, key string
		create    []string
		records   [][2]string
		want      []string // key=value summaries of the expected rows
		cols      []string
		// drive, when set, makes the changes through the DynamoDB API
		// instead of putting records into the stream; it returns how many
		// change records that produced.
		drive func(t *testing.T) int
	}{
		{
			name: "orders", key: "id",
			create: []string{"--dynamodb-table", "orders"},
			records: [][2]string{
				// o1's MODIFY is delivered before its INSERT, and twice: the position decides, once.
				{"o1", ddbRecord("MODIFY", "o1", base+2, `{"id":{"S":"o1"},"total":{"N":"15"}}`)},
				{"o1", ddbRecord("INSERT", "o1", base+1, `{"id":{"S":"o1"},"total":{"N":"10"}}`)},
				{"o1", ddbRecord("MODIFY", "o1", base+2, `{"id":{"S":"o1"},"total":{"N":"15"}}`)},
				{"o2", ddbRecord("INSERT", "o2", base+3, `{"id":{"S":"o2"},"total":{"N":"7"}}`)},
				{"o2", ddbRecord("REMOVE", "o2", base+4, "")},
				{"o3", ddbRecord("INSERT", "o3", base+5, `{"id":{"S":"o3"},"total":{"N":"3"}}`)},
			},
			want: []string{"o1 total=15", "o3 total=3"}, cols: []string{"id", "total"},
		},
		{
			// The whole path: items written to the table stream through its
			// Kinesis destination (µs creation times) into the archive.
			name: "carts", key: "id",
			create: []string{"--dynamodb-table", "carts"},
			drive: func(t *testing.T) int {
				ddb := dynamodb.NewFromConfig(localawstest.Config(srv, 0))
				ctx := context.Background()
				item := func(id, n string) map[string]ddbtypes.AttributeValue {
					return map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: id}, "items": &ddbtypes.AttributeValueMemberN{Value: n}}
				}
				for _, it := range []map[string]ddbtypes.AttributeValue{item("c1", "1"), item("c2", "4"), item("c1", "2")} {
					if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("carts"), Item: it}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("carts"), Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "c2"}}}); err != nil {
					t.Fatal(err)
				}
				return 4
			},
			want: []string{"c1 items=2"}, cols: []string{"id", "items"},
		},
		{
			name: "users", key: "id",
			create: []string{"--source-kind", "postgres", "--source-table", "public.users", "--key", "id"},
			records: [][2]string{
				{`{"id":1}`, `{"before":null,"after":{"id":1,"name":"ann"},"source":{"db":"app","schema":"public","table":"users","lsn":100},"op":"c",` + pgTs + `}`},
				{`{"id":2}`, `{"before":null,"after":{"id":2,"name":"bob"},"source":{"db":"app","schema":"public","table":"users","lsn":110},"op":"c",` + pgTs + `}`},
				{`{"id":1}`, `{"before":{"id":1,"name":"ann"},"after":{"id":1,"name":"anna"},"source":{"db":"app","schema":"public","table":"users","lsn":120},"op":"u",` + pgTs + `}`},
				{`{"id":2}`, `{"before":{"id":2,"name":null},"after":null,"source":{"db":"app","schema":"public","table":"users","lsn":130},"op":"d",` + pgTs + `}`},
				{`{"id":3}`, `{"before":null,"after":{"id":3,"name":"cy"},"source":{"db":"app","schema":"public","table":"users","lsn":140},"op":"c",` + pgTs + `}`},
			},
			want: []string{"1 name=anna", "3 name=cy"}, cols: []string{"id", "name"},
		},
		{
			name: "invoices", key: "id",
			create: []string{"--source-kind", "mysql", "--source-table", "shop.invoices", "--key", "id"},
			records: [][2]string{
				{`{"id":7}`, `{"before":null,"after":{"id":7,"amount":100},"source":{"db":"shop","table":"invoices","file":"mysql-bin.000003","pos":400,"row":0},"op":"c",` + pgTs + `}`},
				{`{"id":8}`, `{"before":null,"after":{"id":8,"amount":50},"source":{"db":"shop","table":"invoices","file":"mysql-bin.000003","pos":500,"row":0},"op":"c",` + pgTs + `}`},
				{`{"id":7}`, `{"before":{"id":7,"amount":100},"after":{"id":7,"amount":120},"source":{"db":"shop","table":"invoices","file":"mysql-bin.000004","pos":4,"row":0},"op":"u",` + pgTs + `}`},
				{`{"id":8}`, `{"before":{"id":8,"amount":50},"after":null,"source":{"db":"shop","table":"invoices","file":"mysql-bin.000004","pos":90,"row":0},"op":"d",` + pgTs + `}`},
			},
			want: []string{"7 amount=120"}, cols: []string{"id", "amount"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"etl", "archive", "create", tc.name, "--bucket", "acme-cdc", "--buffer-interval", "60s", "-o", "json"}, tc.create...)
			var res archive.CreateResult
			if err := json.Unmarshal([]byte(runOK(t, env, args...).Stdout), &res); err != nil {
				t.Fatal(err)
			}
			if tc.create[0] != "--dynamodb-table" && !strings.Contains(res.DebeziumConfig, "debezium.transforms.archive.replacement="+tc.name) {
				t.Fatalf("no Debezium config for the stream:\n%s", res.DebeziumConfig)
			}
			nrecs := len(tc.records)
			if tc.drive != nil {
				// The table's destination turns ACTIVE shortly after create.
				waitDestinationActive(t, srv, tc.name)
				nrecs = tc.drive(t)
			} else {
				putAll(t, srv, res.Stream, tc.records)
			}
			keys := localawstest.WaitObjects(t, srv, "acme-cdc", res.DataPrefix, 1)
			for _, k := range keys {
				if !strings.HasSuffix(k, ".gz") {
					t.Errorf("object %s is not gzip", k)
				}
			}
			// Wait until every record is in S3 (they may span buffers).
			var rebuilt struct {
				Records  int64 `json:"records"`
				LiveKeys int64 `json:"live_keys"`
			}
			dest := filepath.Join(t.TempDir(), tc.name+".parquet")
			runPrintedRebuild(t, env, res.RebuildCommand, dest, int64(nrecs), &rebuilt, &rebuilt.Records)
			if rebuilt.Records != int64(nrecs) || rebuilt.LiveKeys != int64(len(tc.want)) {
				t.Fatalf("rebuild read %d records (want %d), %d live keys (want %d)", rebuilt.Records, nrecs, rebuilt.LiveKeys, len(tc.want))
			}
			var got []string
			for _, row := range readParquet(t, dest, tc.key) {
				got = append(got, fmt.Sprintf("%v %s=%v", row[tc.cols[0]], tc.cols[1], row[tc.cols[1]]))
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Fatalf("snapshot = %v, want %v", got, tc.want)
			}
		})
	}
}

// runPrintedRebuild runs the rebuild command an archive printed, writing to
// dest, until its JSON report (decoded into report) counts at least want
// records in *records (delivery may span Firehose buffers). A timeout is
// reported by the caller's checks, with the counts.
func runPrintedRebuild(t *testing.T, env []string, command, dest string, want int64, report any, records *int64) {
	t.Helper()
	cmd := strings.Fields(command)[1:]
	for i, a := range cmd {
		if a == "--dest" {
			cmd[i+1] = dest
		}
	}
	wait.Until(context.Background(), wait.Options{What: "rebuild of every record", Timeout: 20 * time.Second, Interval: 200 * time.Millisecond},
		func(context.Context) (wait.Status, error) {
			r := runOK(t, env, append(cmd, "-o", "json")...)
			if err := json.Unmarshal([]byte(r.Stdout), report); err != nil {
				t.Fatalf("rebuild JSON: %v\n%s", err, r.Stdout)
			}
			return wait.Status{Done: *records >= want}, nil
		})
}
