// Package athenaemu is the local endpoint's Amazon Athena emulation
// (awsJson1.1, X-Amz-Target AmazonAthena.*, SigV4 name "athena"; model
// /work/botocore/athena/service-2.json): StartQueryExecution,
// GetQueryExecution, GetQueryResults, StopQueryExecution and GetWorkGroup.
//
// A query runs on DuckDB (@duckdb/node-api, a node child process per query)
// over the objects of the S3 emulation: every table the query names as
// db.table is looked up in the Glue emulation, the objects under its
// location are downloaded to a temporary directory (their bytes are the
// query's DataScannedInBytes) and exposed as a DuckDB view (Parquet tables
// through read_parquet with their hive partitions, text tables as one line
// column with Athena's hidden "$path" and the Firehose hour partition dt).
// Trino's JSON functions are translated (json_extract_scalar, json_format,
// $["member"] paths). SELECT / WITH queries write results; CREATE TABLE …
// WITH (external_location, partitioned_by, …) AS SELECT writes zstd Parquet
// (hive folders per partition) to an empty location and registers the table
// in the Glue emulation; INSERT INTO adds files to a table's location
// (UpdateCount is the rows written). Any other statement FAILS with an
// AthenaError, as an unsupported statement does in Athena.
//
// States come from the endpoint's clock: QUEUED for QueueTime after
// submission, RUNNING for RunTime, then SUCCEEDED or FAILED; the query is
// executed when a read first finds it past RUNNING (no goroutine). Results
// are written to OutputLocation/<id>.csv (every field quoted, a header row)
// with <id>.csv.metadata (the columns as JSON here; Athena writes a binary
// document) and served by GetQueryResults, the header as the first row.
// The workgroup "primary" exists, without an output location.
package athenaemu

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/localaws/glueemu"
)

//go:embed run.cjs
var runScript []byte

// How long a query is QUEUED, then RUNNING, on the endpoint's clock.
const (
	QueueTime = time.Second
	RunTime   = time.Second
)

// Backends are what queries read and write.
type Backends struct {
	Glue *glueemu.Server
	// EndpointURL is the local endpoint (objects are read and results
	// written through its S3 emulation).
	EndpointURL string
	// ModulesDir finds the npm directory holding @duckdb/node-api.
	ModulesDir func() (string, error)
}

// Server is the Athena emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk     clock.Clock
	b       Backends
	mu      sync.Mutex
	queries map[string]*query
	seq     int
}

type query struct {
	id, sql, workgroup, output, database string
	submitted                            time.Time
	state                                string // "" until executed (derived from the clock), then final
	reason                               string
	scanned                              int64
	columns                              []column
	rows                                 [][]*string
	updated                              int64 // rows a CREATE TABLE AS / INSERT INTO wrote
}

type column struct{ Name, Type string }

// New returns the emulation.
func New(region, account string, clk clock.Clock, b Backends) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), b: b, queries: map[string]*query{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"StartQueryExecution": s.start,
		"GetQueryExecution":   s.getExecution,
		"GetQueryResults":     s.getResults,
		"StopQueryExecution":  s.stop,
		"GetWorkGroup":        s.getWorkGroup,
	}
	return s
}

// model: Athena answers constraint violations with InvalidRequestException
// (botocore athena: every operation's client error).
var model = awsproto.Validator{Code: "InvalidRequestException"}

// botocore athena WorkGroupName pattern [a-zA-Z0-9._-]{1,128};
// QueryExecutionId \S+ (1-128).
var (
	workGroupRe = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
	queryIDRe   = regexp.MustCompile(`^\S+$`)
)

func notFound(id string) error {
	return awsproto.Errf("InvalidRequestException", "QueryExecution %s was not found", id)
}

func (s *Server) start(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		QueryString           *string
		ClientRequestToken    *string
		WorkGroup             *string
		QueryExecutionContext *struct{ Database, Catalog *string }
		ResultConfiguration   *struct{ OutputLocation *string }
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.QueryString == nil {
		return nil, model.Required("queryString", false)
	}
	// botocore athena QueryString: 1-262144; IdempotencyToken: 32-128.
	errs := []error{model.Length("queryString", *in.QueryString, 1, 262144)}
	if in.ClientRequestToken != nil {
		errs = append(errs, model.Length("clientRequestToken", *in.ClientRequestToken, 32, 128))
	}
	wg := "primary"
	if in.WorkGroup != nil {
		wg = *in.WorkGroup
		errs = append(errs, model.Pattern("workGroup", wg, workGroupRe))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	if wg != "primary" {
		return nil, awsproto.Errf("InvalidRequestException", "WorkGroup %s is not found.", wg)
	}
	out := ""
	if in.ResultConfiguration != nil && in.ResultConfiguration.OutputLocation != nil {
		out = *in.ResultConfiguration.OutputLocation
	}
	if out == "" {
		// The primary workgroup has no result location configured.
		return nil, awsproto.Errf("InvalidRequestException", "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.")
	}
	if !strings.HasPrefix(out, "s3://") {
		return nil, awsproto.Errf("InvalidRequestException", "outputLocation is not a valid S3 path. Provided %s", out)
	}
	q := &query{sql: *in.QueryString, workgroup: wg, output: strings.TrimSuffix(out, "/") + "/"}
	if c := in.QueryExecutionContext; c != nil && c.Database != nil {
		q.database = *c.Database
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	q.id = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq)
	q.submitted = s.clk.Now()
	s.queries[q.id] = q
	return map[string]any{"QueryExecutionId": q.id}, nil
}

// lookup validates an id and returns its query, run to completion when the
// clock says it has finished.
func (s *Server) lookup(ctx context.Context, id *string) (*query, error) {
	if id == nil {
		return nil, model.Required("queryExecutionId", false)
	}
	if err := awsproto.Check(model.Length("queryExecutionId", *id, 1, 128), model.Pattern("queryExecutionId", *id, queryIDRe)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	q, ok := s.queries[*id]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(*id)
	}
	if q.state == "" && !s.clk.Now().Before(q.submitted.Add(QueueTime+RunTime)) {
		s.execute(ctx, q)
	}
	return q, nil
}

// stateOf is the query's state now.
func (s *Server) stateOf(q *query) string {
	if q.state != "" {
		return q.state
	}
	if s.clk.Now().Before(q.submitted.Add(QueueTime)) {
		return "QUEUED"
	}
	return "RUNNING"
}

func (s *Server) getExecution(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ QueryExecutionId *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	q, err := s.lookup(r.Context(), in.QueryExecutionId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	state := s.stateOf(q)
	status := map[string]any{"State": state, "SubmissionDateTime": awsproto.EpochTime(q.submitted)}
	stats := map[string]any{"DataScannedInBytes": q.scanned, "QueryQueueTimeInMillis": 0, "EngineExecutionTimeInMillis": 0, "TotalExecutionTimeInMillis": 0}
	if state != "QUEUED" {
		stats["QueryQueueTimeInMillis"] = QueueTime.Milliseconds()
	}
	switch state {
	case "SUCCEEDED", "FAILED", "CANCELLED":
		status["CompletionDateTime"] = awsproto.EpochTime(q.submitted.Add(QueueTime + RunTime))
		stats["EngineExecutionTimeInMillis"] = RunTime.Milliseconds()
		stats["TotalExecutionTimeInMillis"] = (QueueTime + RunTime).Milliseconds()
	}
	if q.reason != "" {
		status["StateChangeReason"] = q.reason
	}
	if state == "FAILED" {
		// AthenaError: category 2 = user error (Athena API reference, AthenaError).
		status["AthenaError"] = map[string]any{"ErrorCategory": 2, "ErrorType": 1100, "Retryable": false, "ErrorMessage": q.reason}
	}
	exec := map[string]any{
		"QueryExecutionId": q.id, "Query": q.sql, "StatementType": statementType(q.sql), "WorkGroup": q.workgroup,
		"ResultConfiguration": map[string]any{"OutputLocation": q.output + q.id + ".csv"},
		"Status":              status, "Statistics": stats,
		"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
	}
	if q.database != "" {
		exec["QueryExecutionContext"] = map[string]any{"Database": q.database, "Catalog": "AwsDataCatalog"}
	}
	return map[string]any{"QueryExecution": exec}, nil
}

func statementType(sql string) string {
	f := strings.ToUpper(strings.Fields(sql + " x")[0])
	switch f {
	case "SELECT", "WITH", "INSERT", "VALUES":
		return "DML"
	case "CREATE", "DROP", "ALTER", "MSCK", "SHOW", "DESCRIBE":
		return "DDL"
	}
	return "UTILITY"
}

// pageSize of GetQueryResults when MaxResults is not given (Athena: 1000).
const pageSize = 1000

func (s *Server) getResults(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		QueryExecutionId *string
		NextToken        *string
		MaxResults       *int64
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore athena MaxQueryResults: 1-1000.
	if in.MaxResults != nil {
		if err := model.Range("maxResults", *in.MaxResults, 1, 1000); err != nil {
			return nil, err
		}
	}
	q, err := s.lookup(r.Context(), in.QueryExecutionId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st := s.stateOf(q); st {
	case "SUCCEEDED":
	case "FAILED", "CANCELLED":
		return nil, awsproto.Errf("InvalidRequestException", "Query did not finish successfully. Final query state: %s", st)
	default:
		return nil, awsproto.Errf("InvalidRequestException", "Query has not yet finished. Current state: %s", st)
	}
	type datum struct {
		VarCharValue *string `json:"VarCharValue,omitempty"`
	}
	type row struct {
		Data []datum `json:"Data"`
	}
	all := make([]row, 0, len(q.rows)+1)
	head := row{}
	for _, c := range q.columns {
		head.Data = append(head.Data, datum{aws.String(c.Name)})
	}
	all = append(all, head)
	for _, r := range q.rows {
		var d []datum
		for _, v := range r {
			d = append(d, datum{v})
		}
		all = append(all, row{d})
	}
	limit := 0
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	token := ""
	if in.NextToken != nil {
		token = *in.NextToken
	}
	page, next, err := awsproto.Paginate(all, token, limit, pageSize, "InvalidRequestException")
	if err != nil {
		return nil, err
	}
	var info []map[string]any
	for _, c := range q.columns {
		info = append(info, columnInfo(c))
	}
	if q.columns == nil {
		page = nil // a CREATE TABLE AS or INSERT INTO has no result rows
	}
	out := map[string]any{"UpdateCount": q.updated, "ResultSet": map[string]any{"Rows": page, "ResultSetMetadata": map[string]any{"ColumnInfo": info}}}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

var decimalRe = regexp.MustCompile(`^DECIMAL\((\d+),\s*(\d+)\)$`)

// columnInfo names DuckDB's type as Athena (Trino) names it.
func columnInfo(c column) map[string]any {
	ci := map[string]any{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name, "Label": c.Name, "Nullable": "UNKNOWN", "CaseSensitive": false}
	t := map[string]string{"VARCHAR": "varchar", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "TINYINT": "tinyint",
		"DOUBLE": "double", "FLOAT": "float", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp", "BLOB": "varbinary"}[c.Type]
	if m := decimalRe.FindStringSubmatch(c.Type); m != nil {
		t = "decimal"
		var p, sc int
		fmt.Sscan(m[1], &p)
		fmt.Sscan(m[2], &sc)
		ci["Precision"], ci["Scale"] = p, sc
	}
	if t == "" {
		t = "varchar"
	}
	ci["Type"] = t
	if t == "varchar" {
		ci["CaseSensitive"] = true
	}
	return ci
}

func (s *Server) stop(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ QueryExecutionId *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.QueryExecutionId == nil {
		return nil, model.Required("queryExecutionId", false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queries[*in.QueryExecutionId]
	if !ok {
		return nil, notFound(*in.QueryExecutionId)
	}
	// Stopping a query that already ended changes nothing (Athena answers OK).
	if q.state == "" && s.clk.Now().Before(q.submitted.Add(QueueTime+RunTime)) {
		q.state, q.reason = "CANCELLED", "Query cancelled by user"
	}
	return struct{}{}, nil
}

func (s *Server) getWorkGroup(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ WorkGroup *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.WorkGroup == nil {
		return nil, model.Required("workGroup", false)
	}
	if err := model.Pattern("workGroup", *in.WorkGroup, workGroupRe); err != nil {
		return nil, err
	}
	if *in.WorkGroup != "primary" {
		return nil, awsproto.Errf("InvalidRequestException", "WorkGroup %s is not found.", *in.WorkGroup)
	}
	return map[string]any{"WorkGroup": map[string]any{"Name": "primary", "State": "ENABLED", "Description": "",
		"Configuration": map[string]any{"EnforceWorkGroupConfiguration": false, "PublishCloudWatchMetricsEnabled": false, "RequesterPaysEnabled": false,
			"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}}}}, nil
}

// ---- execution ----

func (s *Server) fail(q *query, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.state, q.reason = "FAILED", fmt.Sprintf(format, args...)
}

// tableRefRe finds db.table names in a query (quoted or not).
var tableRefRe = regexp.MustCompile(`"?([A-Za-z_][A-Za-z0-9_]*)"?\."?([A-Za-z_][A-Za-z0-9_]*)"?`)

// trinoPathRe is a Trino JSONPath literal of bracketed members.
var trinoPathRe = regexp.MustCompile(`'\$((?:\["[^"\\']*"\])+)'`)

// translate rewrites the Trino-only parts of the generated SQL for DuckDB.
func translate(sql string) string {
	return trinoPathRe.ReplaceAllStringFunc(sql, func(lit string) string {
		m := trinoPathRe.FindStringSubmatch(lit)
		return "'$" + strings.NewReplacer(`["`, `."`, `"]`, `"`).Replace(m[1]) + "'"
	})
}

func (s *Server) s3() *s3.Client {
	return s3.New(s3.Options{Region: s.Region, BaseEndpoint: aws.String(s.b.EndpointURL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("athenaemu", "athenaemu", "")})
}

func splitS3(uri string) (bucket, prefix string) {
	b, p, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	return b, p
}

// CREATE TABLE db.t WITH (…) AS SELECT … and INSERT INTO db.t SELECT …, the
// two writing statements the Athena engine uses.
var (
	ctasRe   = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+"?(\w+)"?\."?(\w+)"?\s+WITH\s*\((.*?)\)\s*AS\s+(.*)$`)
	insertRe = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+"?(\w+)"?\."?(\w+)"?\s+(SELECT.*|WITH.*)$`)
	propRe   = regexp.MustCompile(`(?i)(\w+)\s*=\s*(?:'([^']*)'|ARRAY\s*\[\s*'([^']*)'\s*\])`)
)

// write is what a CREATE TABLE AS or INSERT INTO writes.
type write struct {
	db, table, location, partition string
	create                         bool
}

// execute runs q and records its final state.
func (s *Server) execute(ctx context.Context, q *query) {
	sel := q.sql
	var w *write
	upper := strings.ToUpper(strings.TrimSpace(q.sql))
	switch m, mi := ctasRe.FindStringSubmatch(q.sql), insertRe.FindStringSubmatch(q.sql); {
	case m != nil:
		w = &write{db: strings.ToLower(m[1]), table: strings.ToLower(m[2]), create: true}
		for _, p := range propRe.FindAllStringSubmatch(m[3], -1) {
			switch strings.ToLower(p[1]) {
			case "external_location":
				w.location = p[2]
			case "partitioned_by":
				w.partition = p[3]
			}
		}
		sel = m[4]
		if w.location == "" {
			s.fail(q, "NOT_SUPPORTED: the local Athena emulation writes CREATE TABLE AS only to an external_location")
			return
		}
	case mi != nil:
		w = &write{db: strings.ToLower(mi[1]), table: strings.ToLower(mi[2])}
		t, ok := s.b.Glue.LookupTable(w.db, w.table)
		if !ok || t.StorageDescriptor == nil || t.StorageDescriptor.Location == nil {
			s.fail(q, "TABLE_NOT_FOUND: line 1:13: Table 'awsdatacatalog.%s.%s' does not exist", w.db, w.table)
			return
		}
		w.location = *t.StorageDescriptor.Location
		if len(t.PartitionKeys) > 0 {
			w.partition = aws.ToString(t.PartitionKeys[0].Name)
		}
		sel = mi[3]
	case strings.HasPrefix(upper, "SELECT"), strings.HasPrefix(upper, "WITH"):
	default:
		s.fail(q, "NOT_SUPPORTED: the local Athena emulation runs SELECT, WITH, CREATE TABLE AS and INSERT INTO only")
		return
	}
	if s.b.ModulesDir == nil || s.b.Glue == nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: the emulation has no query engine")
		return
	}
	mods, err := s.b.ModulesDir()
	if err != nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: %v", err)
		return
	}
	tmp, err := os.MkdirTemp("", "athenaemu-")
	if err != nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: %v", err)
		return
	}
	defer os.RemoveAll(tmp)
	client := s.s3()
	if w != nil {
		w.location = strings.TrimSuffix(w.location, "/") + "/"
		if w.create {
			if _, ok := s.b.Glue.LookupTable(w.db, w.table); ok {
				s.fail(q, "ALREADY_EXISTS: Table awsdatacatalog.%s.%s already exists", w.db, w.table)
				return
			}
			// Athena refuses a CTAS into a location that holds objects.
			b, p := splitS3(w.location)
			out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(p), MaxKeys: aws.Int32(1)})
			if err != nil {
				s.fail(q, "PERMISSION_DENIED: %v", err)
				return
			}
			if len(out.Contents) > 0 {
				s.fail(q, "HIVE_PATH_ALREADY_EXISTS: Target directory for table '%s.%s' already exists: %s", w.db, w.table, w.location)
				return
			}
		}
	}
	setup := []string{
		"CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)",
		"CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)",
		"CREATE MACRO json_parse(j) AS CAST(j AS JSON)",
	}
	var scanned int64
	seen := map[string]bool{}
	for _, m := range tableRefRe.FindAllStringSubmatch(sel, -1) {
		db, name := strings.ToLower(m[1]), strings.ToLower(m[2])
		if seen[db+"."+name] {
			continue
		}
		t, ok := s.b.Glue.LookupTable(db, name)
		if !ok {
			continue // a column reference such as c.name
		}
		seen[db+"."+name] = true
		view, n, err := s.view(ctx, client, tmp, db, t, minHour(sel))
		if err != nil {
			s.fail(q, "%v", err)
			return
		}
		scanned += n
		setup = append(setup, "CREATE SCHEMA IF NOT EXISTS "+db, "CREATE VIEW "+db+"."+name+" AS "+view)
	}
	csvPath := filepath.Join(tmp, q.id+".csv")
	spec := map[string]any{"setup": setup, "query": translate(sel), "csv": csvPath}
	outDir := filepath.Join(tmp, "out")
	if w != nil {
		os.MkdirAll(outDir, 0o700)
		spec["parquet"], spec["partition"] = outDir, w.partition
	}
	job, _ := json.Marshal(spec)
	jobPath := filepath.Join(tmp, "job.json")
	scriptPath := filepath.Join(tmp, "run.cjs")
	if err := os.WriteFile(jobPath, job, 0o600); err != nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: %v", err)
		return
	}
	os.WriteFile(scriptPath, runScript, 0o600)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", scriptPath, mods, jobPath)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.fail(q, "GENERIC_USER_ERROR: %s", strings.TrimSpace(stderr.String()+" "+err.Error()))
		return
	}
	var res struct {
		Columns []column
		Rows    [][]*string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: %v", err)
		return
	}
	if w != nil {
		if err := s.publish(ctx, client, q, w, outDir, res.Columns); err != nil {
			s.fail(q, "%v", err)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		q.state, q.scanned = "SUCCEEDED", scanned
		if len(res.Rows) == 1 && len(res.Rows[0]) == 1 && res.Rows[0][0] != nil {
			fmt.Sscan(*res.Rows[0][0], &q.updated)
		}
		return
	}
	body, err := os.ReadFile(csvPath)
	if err != nil {
		s.fail(q, "INTERNAL_ERROR_QUERY_ENGINE: %v", err)
		return
	}
	bucket, prefix := splitS3(q.output)
	meta, _ := json.Marshal(res.Columns)
	for key, b := range map[string][]byte{prefix + q.id + ".csv": body, prefix + q.id + ".csv.metadata": meta} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
			s.fail(q, "PERMISSION_DENIED: cannot write the query results to %s: %v", q.output, err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q.state, q.columns, q.rows, q.scanned = "SUCCEEDED", res.Columns, res.Rows, scanned
}

// publish uploads the Parquet files a CREATE TABLE AS or INSERT INTO wrote
// (named after the query, so INSERTs never replace earlier files) and
// registers a created table in the Glue catalog.
func (s *Server) publish(ctx context.Context, c *s3.Client, q *query, w *write, dir string, cols []column) error {
	bucket, prefix := splitS3(w.location)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		i := strings.LastIndexByte(rel, '/') + 1
		rel = rel[:i] + q.id + "-" + rel[i:]
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + rel), Body: bytes.NewReader(b)})
		return err
	})
	if err != nil {
		return fmt.Errorf("PERMISSION_DENIED: writing to %s: %v", w.location, err)
	}
	if !w.create {
		return nil
	}
	in := glueemu.TableInput{Name: aws.String(w.table), TableType: aws.String("EXTERNAL_TABLE"),
		Parameters: map[string]string{"classification": "parquet", "EXTERNAL": "TRUE", "has_encrypted_data": "false"},
		StorageDescriptor: &glueemu.StorageDescriptor{Location: aws.String(w.location),
			InputFormat:  aws.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
			OutputFormat: aws.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
			SerdeInfo:    &glueemu.SerDeInfo{SerializationLibrary: aws.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")}}}
	for _, c := range cols {
		gc := glueemu.Column{Name: aws.String(c.Name), Type: aws.String(hiveType(c.Type))}
		if c.Name == w.partition {
			in.PartitionKeys = append(in.PartitionKeys, gc)
		} else {
			in.StorageDescriptor.Columns = append(in.StorageDescriptor.Columns, gc)
		}
	}
	if err := s.b.Glue.CreateTableDirect(w.db, in); err != nil {
		return fmt.Errorf("HIVE_METASTORE_ERROR: %v", err)
	}
	return nil
}

// hiveType is the Hive type of a DuckDB type.
func hiveType(t string) string {
	switch {
	case t == "VARCHAR":
		return "string"
	case t == "INTEGER":
		return "int"
	case strings.HasPrefix(t, "DECIMAL"), t == "BIGINT", t == "SMALLINT", t == "TINYINT", t == "DOUBLE", t == "BOOLEAN", t == "DATE", t == "TIMESTAMP", t == "FLOAT":
		return strings.ToLower(strings.ReplaceAll(t, " ", ""))
	case t == "BLOB":
		return "binary"
	}
	return "string"
}

// dtFromRe is a query's lower bound on the hour partition (dt >= 'YYYY/MM/DD/HH').
var dtFromRe = regexp.MustCompile(`(?i)"?\bdt"?\s*>=\s*'([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})'`)

// minHour is the smallest hour a query asks for ("" for all): like Athena's
// partition projection, hours below it are neither read nor billed.
func minHour(sql string) string {
	from := ""
	for _, m := range dtFromRe.FindAllStringSubmatch(sql, -1) {
		if from == "" || m[1] < from {
			from = m[1]
		}
	}
	return from
}

// view downloads a Glue table's objects (for a text table with hour
// folders, only hours from fromHour on) and returns the DuckDB SELECT that
// reads them, and the bytes read.
func (s *Server) view(ctx context.Context, c *s3.Client, tmp, db string, t glueemu.Table, fromHour string) (string, int64, error) {
	sd := t.StorageDescriptor
	if sd == nil || sd.Location == nil {
		return "", 0, fmt.Errorf("HIVE_METASTORE_ERROR: table %s.%s has no location", db, t.Name)
	}
	loc := strings.TrimSuffix(*sd.Location, "/") + "/"
	bucket, prefix := splitS3(loc)
	dir := filepath.Join(tmp, "tables", db, t.Name)
	var n int64
	var files []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", 0, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: list %s: %v", loc, err)
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if rel == "" || strings.HasSuffix(rel, "/") || strings.HasPrefix(filepath.Base(rel), "_") || strings.HasPrefix(filepath.Base(rel), ".") {
				continue // Athena ignores names starting with _ or .
			}
			if fromHour != "" && len(t.PartitionKeys) > 0 && aws.ToString(t.PartitionKeys[0].Name) == "dt" && len(rel) >= 13 && rel[:13] < fromHour {
				continue // a pruned hour partition
			}
			obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return "", 0, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: %s%s: %v", loc, rel, err)
			}
			var buf bytes.Buffer
			_, err = buf.ReadFrom(obj.Body)
			obj.Body.Close()
			if err != nil {
				return "", 0, fmt.Errorf("HIVE_CANNOT_OPEN_SPLIT: %s%s: %v", loc, rel, err)
			}
			path := filepath.Join(dir, filepath.FromSlash(rel))
			os.MkdirAll(filepath.Dir(path), 0o700)
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				return "", 0, err
			}
			n += int64(buf.Len())
			files = append(files, path)
		}
	}
	lib := ""
	if sd.SerdeInfo != nil {
		lib = aws.ToString(sd.SerdeInfo.SerializationLibrary)
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = quote(f)
	}
	var cols []glueemu.Column
	cols = append(cols, sd.Columns...)
	cols = append(cols, t.PartitionKeys...)
	if len(files) == 0 {
		// An empty location is an empty table with the declared columns.
		var sel []string
		for _, c := range cols {
			sel = append(sel, "CAST(NULL AS "+duckType(aws.ToString(c.Type))+") AS \""+aws.ToString(c.Name)+"\"")
		}
		return "SELECT " + strings.Join(sel, ", ") + " WHERE false", 0, nil
	}
	if strings.Contains(strings.ToLower(lib), "parquet") {
		return "SELECT * FROM read_parquet([" + strings.Join(list, ", ") + "], hive_partitioning = true, hive_types_autocast = false, union_by_name = true)", n, nil
	}
	// A text table of lines: the one data column, "$path", and the hour
	// folder (YYYY/MM/DD/HH) as dt.
	name := "line"
	if len(sd.Columns) > 0 {
		name = aws.ToString(sd.Columns[0].Name)
	}
	strip := quote(dir + string(os.PathSeparator))
	return "SELECT line AS \"" + name + "\", " + quote(loc) + " || replace(filename, " + strip + ", '') AS \"$path\", " +
		"regexp_extract(replace(filename, " + strip + ", ''), '^([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/', 1) AS dt " +
		"FROM read_csv([" + strings.Join(list, ", ") + "], columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, filename = true)", n, nil
}

// duckType is the DuckDB type of a Hive type.
func duckType(h string) string {
	h = strings.ToLower(h)
	switch {
	case h == "string" || strings.HasPrefix(h, "varchar"):
		return "VARCHAR"
	case h == "int":
		return "INTEGER"
	case strings.HasPrefix(h, "decimal"), h == "bigint", h == "smallint", h == "tinyint", h == "double", h == "boolean", h == "date", h == "timestamp", h == "float":
		return strings.ToUpper(h)
	case h == "binary":
		return "BLOB"
	}
	return "VARCHAR"
}
