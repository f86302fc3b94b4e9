// Package dynamodbemu emulates the DynamoDB control plane opsctl needs
// (JSON 1.0, DynamoDB_20120810.*, SigV4 name "dynamodb"): CreateTable,
// DescribeTable, DeleteTable, ListTables, the Kinesis streaming destination
// calls (Enable/Describe/Disable/UpdateKinesisStreamingDestination, with
// ApproximateCreationDateTimePrecision), validated as DynamoDB does, and
// PutItem/GetItem/DeleteItem (no expressions), whose changes are streamed to
// the table's ACTIVE destinations through the endpoint's Kinesis (items.go),
// and point-in-time recovery with exports to S3 in AWS's layout, IN_PROGRESS
// then COMPLETED on the endpoint's clock (exports.go).
package dynamodbemu

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Server is the DynamoDB emulation.
type Server struct {
	awsproto.RPC
	region, account string

	mu     sync.Mutex
	tables map[string]*table
	// transition is how long ENABLING/DISABLING/UPDATING last.
	transition time.Duration
	kinesis    *kinesis.Client
	// clock, exportTo and exports: point-in-time recovery and exports
	// (exports.go).
	clock    clock.Clock
	exportTo ObjectWriter
	exports  []*export
}

type attrDef struct {
	AttributeName string
	AttributeType string
}

type keyElem struct {
	AttributeName string
	KeyType       string
}

type destination struct {
	StreamArn                            string
	DestinationStatus                    string
	DestinationStatusDescription         string `json:",omitempty"`
	ApproximateCreationDateTimePrecision string `json:",omitempty"`
	until                                time.Time
	next                                 string
}

type table struct {
	name, arn   string
	attrs       []attrDef
	keys        []keyElem
	billingMode string
	created     time.Time
	dests       []*destination
	items       map[string]item
	pitrSince   time.Time // point-in-time recovery enabled at (zero: off)
}

// New returns an empty DynamoDB.
func New(region, account string) *Server {
	s := &Server{region: region, account: account, tables: map[string]*table{}, transition: 50 * time.Millisecond}
	s.Ops = map[string]awsproto.Handler{
		"CreateTable":                         s.createTable,
		"DescribeTable":                       s.describeTable,
		"DeleteTable":                         s.deleteTable,
		"ListTables":                          s.listTables,
		"EnableKinesisStreamingDestination":   s.enable,
		"DisableKinesisStreamingDestination":  s.disable,
		"DescribeKinesisStreamingDestination": s.describeDest,
		"UpdateKinesisStreamingDestination":   s.update,
		"PutItem":                             s.putItem,
		"GetItem":                             s.getItem,
		"DeleteItem":                          s.deleteItem,
		"UpdateContinuousBackups":             s.updateContinuousBackups,
		"DescribeContinuousBackups":           s.describeContinuousBackups,
		"ExportTableToPointInTime":            s.exportTable,
		"DescribeExport":                      s.describeExport,
		"ListExports":                         s.listExports,
	}
	return s
}

// SetTransition sets how long destinations stay ENABLING/DISABLING/UPDATING.
func (s *Server) SetTransition(d time.Duration) {
	s.mu.Lock()
	s.transition = d
	s.mu.Unlock()
}

var tableNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func validationf(format string, args ...any) error {
	return awsproto.Errf("ValidationException", format, args...)
}

func checkName(n string) error {
	if !tableNameRe.MatchString(n) {
		return validationf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255", n)
	}
	return nil
}

// tableRef accepts a table name or ARN, as DynamoDB does.
func (s *Server) tableRef(ref string) (*table, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		i := strings.LastIndex(ref, ":table/")
		if i < 0 {
			return nil, validationf("Invalid table ARN %s", ref)
		}
		name = ref[i+len(":table/"):]
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	t, ok := s.tables[name]
	if !ok {
		return nil, awsproto.ResourceNotFound("Requested resource not found: Table: %s not found", name)
	}
	return t, nil
}

func (s *Server) createTable(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TableName            string
		AttributeDefinitions []attrDef
		KeySchema            []keyElem
		BillingMode          string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkName(in.TableName); err != nil {
		return nil, err
	}
	if len(in.KeySchema) == 0 || len(in.KeySchema) > 2 || in.KeySchema[0].KeyType != "HASH" {
		return nil, validationf("1 validation error detected: KeySchema must have a HASH key and at most one RANGE key")
	}
	defined := map[string]bool{}
	for _, a := range in.AttributeDefinitions {
		if a.AttributeType != "S" && a.AttributeType != "N" && a.AttributeType != "B" {
			return nil, validationf("Member must satisfy enum value set: [B, N, S]")
		}
		defined[a.AttributeName] = true
	}
	for _, k := range in.KeySchema {
		if !defined[k.AttributeName] {
			return nil, validationf("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s]", k.AttributeName)
		}
	}
	if in.BillingMode == "" {
		in.BillingMode = "PROVISIONED"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[in.TableName]; ok {
		return nil, awsproto.Errf("ResourceInUseException", "Table already exists: %s", in.TableName)
	}
	t := &table{name: in.TableName, arn: fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", s.region, s.account, in.TableName),
		attrs: in.AttributeDefinitions, keys: in.KeySchema, billingMode: in.BillingMode, created: time.Now().UTC()}
	s.tables[t.name] = t
	return map[string]any{"TableDescription": s.desc(t, "ACTIVE")}, nil
}

func (s *Server) desc(t *table, status string) map[string]any {
	return map[string]any{
		"TableName": t.name, "TableArn": t.arn, "TableStatus": status, "TableId": fmt.Sprintf("%x", t.created.UnixNano()),
		"AttributeDefinitions": t.attrs, "KeySchema": t.keys, "CreationDateTime": awsproto.EpochTime(t.created),
		"ItemCount": 0, "TableSizeBytes": 0,
		"BillingModeSummary": map[string]any{"BillingMode": t.billingMode},
	}
}

func (s *Server) describeTable(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ TableName string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": s.desc(t, "ACTIVE")}, nil
}

func (s *Server) deleteTable(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ TableName string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	delete(s.tables, t.name)
	return map[string]any{"TableDescription": s.desc(t, "DELETING")}, nil
}

func (s *Server) listTables(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ExclusiveStartTableName string
		Limit                   int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Limit < 0 || in.Limit > 100 {
		return nil, validationf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100", in.Limit)
	}
	s.mu.Lock()
	var names []string
	for n := range s.tables {
		if n > in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	limit := in.Limit
	if limit == 0 || limit > 10 {
		limit = 10 // small pages so callers paginate
	}
	out := map[string]any{"TableNames": []string{}}
	if len(names) > limit {
		names = names[:limit]
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	if names != nil {
		out["TableNames"] = names
	}
	return out, nil
}

// settle advances time-based destination transitions.
func (t *table) settle() {
	now := time.Now()
	for _, d := range t.dests {
		if d.next != "" && !now.Before(d.until) {
			d.DestinationStatus, d.next = d.next, ""
		}
	}
}

var streamArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[a-zA-Z0-9_.-]{1,128}$`)

type streamingIn struct {
	TableName                           string
	StreamArn                           string
	EnableKinesisStreamingConfiguration *struct{ ApproximateCreationDateTimePrecision string }
	UpdateKinesisStreamingConfiguration *struct{ ApproximateCreationDateTimePrecision string }
}

func checkPrecision(p string) error {
	if p != "MILLISECOND" && p != "MICROSECOND" {
		return validationf("1 validation error detected: Value '%s' at 'approximateCreationDateTimePrecision' failed to satisfy constraint: Member must satisfy enum value set: [MILLISECOND, MICROSECOND]", p)
	}
	return nil
}

func (s *Server) enable(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamingIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if !streamArnRe.MatchString(in.StreamArn) {
		return nil, validationf("1 validation error detected: Value '%s' at 'streamArn' failed to satisfy constraint: Member must be a Kinesis stream ARN", in.StreamArn)
	}
	prec := "MILLISECOND"
	if c := in.EnableKinesisStreamingConfiguration; c != nil && c.ApproximateCreationDateTimePrecision != "" {
		if err := checkPrecision(c.ApproximateCreationDateTimePrecision); err != nil {
			return nil, err
		}
		prec = c.ApproximateCreationDateTimePrecision
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	t.settle()
	var live int
	var d *destination
	for _, x := range t.dests {
		if x.StreamArn == in.StreamArn {
			d = x
		}
		if x.DestinationStatus == "ACTIVE" || x.DestinationStatus == "ENABLING" || x.DestinationStatus == "UPDATING" {
			live++
		}
	}
	if d != nil && d.DestinationStatus != "DISABLED" && d.DestinationStatus != "ENABLE_FAILED" {
		return nil, validationf("Table %s is already streaming to %s (destination status %s)", t.name, in.StreamArn, d.DestinationStatus)
	}
	if live >= 2 {
		return nil, awsproto.Errf("LimitExceededException", "Table %s already has the maximum number of Kinesis streaming destinations", t.name)
	}
	if d == nil {
		d = &destination{StreamArn: in.StreamArn}
		t.dests = append(t.dests, d)
	}
	d.DestinationStatus, d.next, d.until = "ENABLING", "ACTIVE", time.Now().Add(s.transition)
	d.ApproximateCreationDateTimePrecision = prec
	return map[string]any{"TableName": t.name, "StreamArn": d.StreamArn, "DestinationStatus": "ENABLING",
		"EnableKinesisStreamingConfiguration": map[string]string{"ApproximateCreationDateTimePrecision": prec}}, nil
}

func (s *Server) find(t *table, arn string) (*destination, error) {
	for _, d := range t.dests {
		if d.StreamArn == arn {
			return d, nil
		}
	}
	return nil, awsproto.ResourceNotFound("Requested resource not found: Table %s has no Kinesis streaming destination %s", t.name, arn)
}

func (s *Server) disable(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamingIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	t.settle()
	d, err := s.find(t, in.StreamArn)
	if err != nil {
		return nil, err
	}
	if d.DestinationStatus != "ACTIVE" {
		return nil, awsproto.Errf("ResourceInUseException", "Kinesis streaming destination %s of table %s is %s, not ACTIVE", d.StreamArn, t.name, d.DestinationStatus)
	}
	d.DestinationStatus, d.next, d.until = "DISABLING", "DISABLED", time.Now().Add(s.transition)
	return map[string]any{"TableName": t.name, "StreamArn": d.StreamArn, "DestinationStatus": "DISABLING"}, nil
}

func (s *Server) update(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamingIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.UpdateKinesisStreamingConfiguration == nil {
		return nil, validationf("UpdateKinesisStreamingConfiguration is required")
	}
	prec := in.UpdateKinesisStreamingConfiguration.ApproximateCreationDateTimePrecision
	if err := checkPrecision(prec); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	t.settle()
	d, err := s.find(t, in.StreamArn)
	if err != nil {
		return nil, err
	}
	if d.DestinationStatus != "ACTIVE" {
		return nil, awsproto.Errf("ResourceInUseException", "Kinesis streaming destination %s of table %s is %s, not ACTIVE", d.StreamArn, t.name, d.DestinationStatus)
	}
	if d.ApproximateCreationDateTimePrecision == prec {
		return nil, validationf("The ApproximateCreationDateTimePrecision is already %s", prec)
	}
	d.ApproximateCreationDateTimePrecision = prec
	d.DestinationStatus, d.next, d.until = "UPDATING", "ACTIVE", time.Now().Add(s.transition)
	return map[string]any{"TableName": t.name, "StreamArn": d.StreamArn, "DestinationStatus": "UPDATING",
		"UpdateKinesisStreamingConfiguration": map[string]string{"ApproximateCreationDateTimePrecision": prec}}, nil
}

func (s *Server) describeDest(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in streamingIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, err
	}
	t.settle()
	out := []destination{}
	for _, d := range t.dests {
		out = append(out, *d)
	}
	return map[string]any{"TableName": t.name, "KinesisDataStreamDestinations": out}, nil
}
