package archive_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/opserr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

const kmsKey = "arn:aws:kms:us-east-1:000000000000:key/1111-2222-3333"

// Golden options: the same archives the integration tests create.
func dynamoOpts() archive.Options {
	return archive.Options{Name: "orders", DynamoDBTable: "orders", Bucket: "acme-cdc", BufferMB: 64, BufferInterval: 300 * time.Second}.WithDefaults()
}

func postgresOpts() archive.Options {
	return archive.Options{Name: "users", SourceKind: archive.SourcePostgres, SourceTable: "public.users", KeyColumns: []string{"id"},
		Bucket: "acme-cdc", KMSKey: kmsKey, RetentionDays: 400, BufferInterval: 60 * time.Second}.WithDefaults()
}

func mysqlOpts() archive.Options {
	return archive.Options{Name: "invoices", SourceKind: archive.SourceMySQL, SourceTable: "shop.invoices", KeyColumns: []string{"shop_id", "invoice_no"},
		Bucket: "acme-cdc", Prefix: "cdc/mysql/invoices", BufferInterval: 60 * time.Second}.WithDefaults()
}

func TestPolicyDocumentsMatchGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts archive.Options
	}{{"dynamodb", dynamoOpts()}, {"postgres-kms", postgresOpts()}, {"mysql", mysqlOpts()}} {
		t.Run(tc.name, func(t *testing.T) {
			n := archive.NamesFor(tc.opts, "aws", "us-east-1", "000000000000")
			p := archive.PoliciesFor(tc.opts, n, "aws", "us-east-1", "000000000000")
			golden(t, "policy-"+tc.name+"-trust.json", p.FirehoseTrust+"\n")
			golden(t, "policy-"+tc.name+"-role.json", p.FirehoseRole+"\n")
			golden(t, "policy-"+tc.name+"-bucket.json", p.Bucket+"\n")
		})
	}
}

func TestRolePolicyIsScopedToThisArchive(t *testing.T) {
	o := postgresOpts()
	n := archive.NamesFor(o, "aws", "us-east-1", "000000000000")
	role := archive.PoliciesFor(o, n, "aws", "us-east-1", "000000000000").FirehoseRole
	for _, want := range []string{n.StreamARN, "arn:aws:s3:::acme-cdc/cdc/users/*", `"s3:prefix": [`, kmsKey, `"kms:ViaService": "s3.us-east-1.amazonaws.com"`} {
		if !strings.Contains(role, want) {
			t.Errorf("role policy lacks %s", want)
		}
	}
	for _, never := range []string{`"*"`, `"s3:*"`, `"kinesis:*"`, "s3:DeleteObject", "arn:aws:s3:::acme-cdc/*"} {
		if strings.Contains(role, never) {
			t.Errorf("role policy grants too much: contains %s", never)
		}
	}
	if noKMS := archive.PoliciesFor(dynamoOpts(), archive.NamesFor(dynamoOpts(), "aws", "us-east-1", "000000000000"), "aws", "us-east-1", "000000000000").FirehoseRole; strings.Contains(noKMS, "kms:") {
		t.Error("role policy grants KMS without --kms-key")
	}
}

func TestDebeziumConfigMatchesGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts archive.Options
	}{{"postgres", postgresOpts()}, {"mysql", mysqlOpts()}} {
		t.Run(tc.name, func(t *testing.T) {
			n := archive.NamesFor(tc.opts, "aws", "us-east-1", "000000000000")
			cfg := archive.DebeziumConfig(tc.opts, n, "us-east-1")
			golden(t, "debezium-"+tc.name+".properties", cfg)
			for _, want := range []string{"debezium.sink.type=kinesis", "debezium.transforms.archive.replacement=" + tc.opts.Name,
				"debezium.format.key.schemas.enable=false", "debezium.format.value.schemas.enable=false", "debezium.source.tombstones.on.delete=false"} {
				if !strings.Contains(cfg, want+"\n") {
					t.Errorf("config lacks %q", want)
				}
			}
		})
	}
}

func TestRebuildCommand(t *testing.T) {
	for _, tc := range []struct {
		opts archive.Options
		want string
	}{
		{dynamoOpts(), "opsctl etl rebuild --source s3://acme-cdc/cdc/orders/data/ --format dynamodb --dest s3://acme-cdc/tables/orders/"},
		{mysqlOpts(), "opsctl etl rebuild --source s3://acme-cdc/cdc/mysql/invoices/data/ --format debezium --key shop_id,invoice_no --dest s3://acme-cdc/tables/invoices/"},
	} {
		if got := archive.RebuildCommand(tc.opts, archive.NamesFor(tc.opts, "aws", "us-east-1", "000000000000")); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestValidateRejectsBadInputBeforeAnyCall(t *testing.T) {
	base := dynamoOpts()
	for _, tc := range []struct {
		name   string
		mutate func(o *archive.Options)
	}{
		{"no source", func(o *archive.Options) { o.SourceKind, o.DynamoDBTable = "", "" }},
		{"unknown source kind", func(o *archive.Options) { o.SourceKind = "oracle" }},
		{"name with slash", func(o *archive.Options) { o.Name = "a/b" }},
		{"name too long for the role", func(o *archive.Options) { o.Name = strings.Repeat("n", 45) }},
		{"buffer below 1 MiB", func(o *archive.Options) { o.BufferMB = -1 }},
		{"buffer above 128 MiB", func(o *archive.Options) { o.BufferMB = 129 }},
		{"interval above 900s", func(o *archive.Options) { o.BufferInterval = 901 * time.Second }},
		{"negative interval", func(o *archive.Options) { o.BufferInterval = -time.Second }},
		{"fractional interval", func(o *archive.Options) { o.BufferInterval = 1500 * time.Millisecond }},
		{"uppercase bucket", func(o *archive.Options) { o.Bucket = "Acme" }},
		{"kms key neither ARN, key ID nor alias", func(o *archive.Options) { o.KMSKey = "my key" }},
		{"kms key of another service", func(o *archive.Options) { o.KMSKey = "arn:aws:s3:::acme" }},
		{"negative retention", func(o *archive.Options) { o.RetentionDays = -1 }},
		{"prefix with expression", func(o *archive.Options) { o.Prefix = "cdc/!{timestamp:yyyy}/" }},
		{"sql table with spaces", func(o *archive.Options) {
			o.SourceKind, o.DynamoDBTable, o.SourceTable = archive.SourcePostgres, "", "my table"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mutate(&o)
			err := o.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if opserr.ExitCode(err) != 2 {
				t.Fatalf("exit code %d for %v, want 2 (usage)", opserr.ExitCode(err), err)
			}
		})
	}
	for _, ok := range []archive.Options{base, postgresOpts(), mysqlOpts()} {
		if err := ok.Validate(); err != nil {
			t.Errorf("rejected valid options %+v: %v", ok, err)
		}
	}
	edge := base
	edge.BufferMB, edge.BufferInterval = 128, 900*time.Second
	if err := edge.Validate(); err != nil {
		t.Errorf("rejected Firehose's maximum buffering: %v", err)
	}
	edge.BufferMB, edge.BufferInterval = 1, 0
	if err := edge.Validate(); err != nil {
		t.Errorf("rejected Firehose's minimum buffering: %v", err)
	}
}
