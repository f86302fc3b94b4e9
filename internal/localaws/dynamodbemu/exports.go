package dynamodbemu

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Point-in-time recovery and export to S3 (ExportTableToPointInTime,
// DescribeExport, ListExports, UpdateContinuousBackups,
// DescribeContinuousBackups). An export snapshots the table's items when it
// is requested, stays IN_PROGRESS for ExportDuration of the endpoint's clock,
// and is COMPLETED (its objects written) when first read after that, in
// AWS's documented layout (DynamoDB developer guide, "DynamoDB table export
// output format"):
//
//	PREFIX/AWSDynamoDB/EXPORT_ID/manifest-summary.json
//	PREFIX/AWSDynamoDB/EXPORT_ID/manifest-files.json   (one JSON line per data file)
//	PREFIX/AWSDynamoDB/EXPORT_ID/data/NAME.json.gz     ({"Item":{...}} per line, DynamoDB JSON)

// ExportDuration is how long an export stays IN_PROGRESS on the endpoint's
// clock (AWS exports take minutes).
const ExportDuration = 2 * time.Minute

// exportItemsPerFile splits an export into several data files, as AWS does.
const exportItemsPerFile = 2

// ObjectWriter stores an object in the endpoint's S3 (s3emu's
// PutObjectDirect).
type ObjectWriter func(bucket, key string, body []byte) error

type export struct {
	arn, id, table, tableArn, tableID, bucket, prefix, status, failure string
	start, exportTime                                                  time.Time
	items                                                              []item
	manifest                                                           string
}

// UseClock sets the clock exports and point-in-time recovery read (the
// endpoint's; default the real clock).
func (s *Server) UseClock(c clock.Clock) { s.mu.Lock(); s.clock = clock.Or(c); s.mu.Unlock() }

// ExportTo sets where exports write their objects.
func (s *Server) ExportTo(w ObjectWriter) { s.mu.Lock(); s.exportTo = w; s.mu.Unlock() }

func (s *Server) now() time.Time { return clock.Or(s.clock).Now() }

type pitrInput struct {
	TableName                        string
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled *bool
	}
}

func (s *Server) continuousBackups(t *table) map[string]any {
	pitr := map[string]any{"PointInTimeRecoveryStatus": "DISABLED"}
	if !t.pitrSince.IsZero() {
		now := s.now()
		pitr = map[string]any{"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": 35,
			"EarliestRestorableDateTime": awsproto.EpochTime(t.pitrSince), "LatestRestorableDateTime": awsproto.EpochTime(now.Add(-5 * time.Minute))}
	}
	return map[string]any{"ContinuousBackupsDescription": map[string]any{"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}}
}

func (s *Server) updateContinuousBackups(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in pitrInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.PointInTimeRecoverySpecification == nil || in.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil {
		return nil, validationf("1 validation error detected: Value null at 'pointInTimeRecoverySpecification' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, tableNotFound(err)
	}
	switch on := *in.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled; {
	case on && t.pitrSince.IsZero():
		t.pitrSince = s.now()
	case !on:
		t.pitrSince = time.Time{}
	}
	return s.continuousBackups(t), nil
}

func (s *Server) describeContinuousBackups(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ TableName string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableName)
	if err != nil {
		return nil, tableNotFound(err)
	}
	return s.continuousBackups(t), nil
}

// tableNotFound turns tableRef's ResourceNotFoundException into the
// TableNotFoundException the backup and export operations answer (botocore
// dynamodb: ExportTableToPointInTime, UpdateContinuousBackups and
// DescribeContinuousBackups list TableNotFoundException).
func tableNotFound(err error) error {
	if e, ok := err.(*awsproto.Error); ok && e.Code == "ResourceNotFoundException" {
		return awsproto.Errf("TableNotFoundException", "%s", e.Message)
	}
	return err
}

type exportInput struct {
	TableArn, S3Bucket, S3Prefix, ExportFormat, ExportType, ClientToken string
	ExportTime                                                          *float64
}

// botocore dynamodb S3Bucket: max 255, pattern.
var s3BucketRe = regexp.MustCompile(`^[a-z0-9A-Z]+[\.\-\w]*[a-z0-9A-Z]+$`)

func newExportID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%014d-%s", now.UnixMilli(), hex.EncodeToString(b)) // AWS: 01234567890123-a1b2c3d4
}

func (s *Server) exportTable(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in exportInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.TableArn == "" || in.S3Bucket == "" {
		return nil, validationf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", map[bool]string{true: "tableArn", false: "s3Bucket"}[in.TableArn == ""])
	}
	if len(in.S3Bucket) > 255 || !s3BucketRe.MatchString(in.S3Bucket) {
		return nil, validationf("1 validation error detected: Value '%s' at 's3Bucket' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$", in.S3Bucket)
	}
	if len(in.S3Prefix) > 1024 {
		return nil, validationf("1 validation error detected: Value at 's3Prefix' failed to satisfy constraint: Member must have length less than or equal to 1024")
	}
	if f := in.ExportFormat; f != "" && f != "DYNAMODB_JSON" {
		return nil, validationf("ExportFormat %s is not supported by this emulation (DYNAMODB_JSON only)", f)
	}
	if x := in.ExportType; x != "" && x != "FULL_EXPORT" {
		return nil, validationf("ExportType %s is not supported by this emulation (FULL_EXPORT only)", x)
	}
	if !strings.HasPrefix(in.TableArn, "arn:") {
		return nil, validationf("Invalid TableArn: %s", in.TableArn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableRef(in.TableArn)
	if err != nil {
		return nil, tableNotFound(err)
	}
	if t.pitrSince.IsZero() {
		return nil, awsproto.Errf("PointInTimeRecoveryUnavailableException", "Point in time recovery is not enabled for table '%s'", t.name)
	}
	now := s.now()
	if in.ExportTime != nil {
		at := time.UnixMilli(int64(*in.ExportTime * 1000))
		if at.Before(t.pitrSince) || at.After(now) {
			return nil, awsproto.Errf("InvalidExportTimeException", "Export time %s is outside the table's point in time recovery window", at.UTC().Format(time.RFC3339))
		}
		if now.Sub(at) > time.Second {
			return nil, validationf("ExportTime in the past is not supported by this emulation (it exports the table as it is now)")
		}
	}
	id := newExportID(now)
	e := &export{arn: t.arn + "/export/" + id, id: id, table: t.name, tableArn: t.arn, tableID: fmt.Sprintf("%x", t.created.UnixNano()),
		bucket: in.S3Bucket, prefix: in.S3Prefix, status: "IN_PROGRESS", start: now, exportTime: now}
	keys := make([]string, 0, len(t.items))
	for k := range t.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.items = append(e.items, t.items[k])
	}
	s.exports = append(s.exports, e)
	return map[string]any{"ExportDescription": s.exportDesc(e)}, nil
}

// base is the export's key prefix: PREFIX/AWSDynamoDB/ID/ (PREFIX may be
// empty; a trailing slash is not doubled).
func (e *export) base() string {
	p := e.prefix
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p + "AWSDynamoDB/" + e.id + "/"
}

// reconcile completes the export once ExportDuration has passed: its
// objects are written then, as AWS writes them only when it finishes.
func (s *Server) reconcile(e *export) {
	if e.status != "IN_PROGRESS" || s.now().Sub(e.start) < ExportDuration {
		return
	}
	if err := s.writeExport(e); err != nil {
		e.status, e.failure = "FAILED", err.Error()
		return
	}
	e.status = "COMPLETED"
}

func (s *Server) writeExport(e *export) error {
	if s.exportTo == nil {
		return fmt.Errorf("S3 is not connected to the DynamoDB emulation")
	}
	base := e.base()
	var files bytes.Buffer
	var billed int
	for i := 0; i < len(e.items) || i == 0; i += exportItemsPerFile {
		var raw bytes.Buffer
		n := 0
		for _, it := range e.items[i:min(i+exportItemsPerFile, len(e.items))] {
			line, err := json.Marshal(map[string]any{"Item": it})
			if err != nil {
				return err
			}
			raw.Write(line)
			raw.WriteByte('\n')
			n++
		}
		billed += raw.Len()
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw.Bytes())
		zw.Close()
		sum := md5.Sum(gz.Bytes())
		b := make([]byte, 13)
		_, _ = rand.Read(b)
		key := base + "data/" + strings.ToLower(hex.EncodeToString(b)) + ".json.gz"
		if err := s.exportTo(e.bucket, key, gz.Bytes()); err != nil {
			return fmt.Errorf("write s3://%s/%s: %w", e.bucket, key, err)
		}
		line, _ := json.Marshal(map[string]any{"itemCount": n, "md5Checksum": encodeB64(sum[:]), "etag": hex.EncodeToString(sum[:]), "dataFileS3Key": key})
		files.Write(line)
		files.WriteByte('\n')
		if len(e.items) == 0 {
			break
		}
	}
	manifestFiles := base + "manifest-files.json"
	if err := s.exportTo(e.bucket, manifestFiles, files.Bytes()); err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", e.bucket, manifestFiles, err)
	}
	end := s.now()
	summary, _ := json.Marshal(map[string]any{
		"version": "2020-06-30", "exportArn": e.arn, "startTime": e.start.UTC().Format(time.RFC3339Nano), "endTime": end.UTC().Format(time.RFC3339Nano),
		"tableArn": e.tableArn, "tableId": e.tableID, "exportTime": e.exportTime.UTC().Format(time.RFC3339Nano),
		"s3Bucket": e.bucket, "s3Prefix": e.prefix, "s3SseAlgorithm": "AES256", "s3SseKmsKeyId": nil,
		"manifestFilesS3Key": manifestFiles, "billedSizeBytes": billed, "itemCount": len(e.items), "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT",
	})
	e.manifest = base + "manifest-summary.json"
	return s.exportTo(e.bucket, e.manifest, summary)
}

func (s *Server) exportDesc(e *export) map[string]any {
	d := map[string]any{"ExportArn": e.arn, "ExportStatus": e.status, "StartTime": awsproto.EpochTime(e.start), "TableArn": e.tableArn,
		"TableId": e.tableID, "ExportTime": awsproto.EpochTime(e.exportTime), "S3Bucket": e.bucket, "S3SseAlgorithm": "AES256",
		"ExportFormat": "DYNAMODB_JSON", "ExportType": "FULL_EXPORT"}
	if e.prefix != "" {
		d["S3Prefix"] = e.prefix
	}
	switch e.status {
	case "COMPLETED":
		d["EndTime"], d["ExportManifest"], d["ItemCount"] = awsproto.EpochTime(e.start.Add(ExportDuration)), e.manifest, len(e.items)
	case "FAILED":
		d["FailureCode"], d["FailureMessage"] = "S3Error", e.failure
	}
	return d
}

func (s *Server) describeExport(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ ExportArn string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.exports {
		if e.arn == in.ExportArn {
			s.reconcile(e)
			return map[string]any{"ExportDescription": s.exportDesc(e)}, nil
		}
	}
	return nil, awsproto.Errf("ExportNotFoundException", "Export not found: %s", in.ExportArn)
}

func (s *Server) listExports(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TableArn   string
		MaxResults *int
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	limit := 0
	if in.MaxResults != nil {
		// botocore dynamodb ListExportsMaxLimit: 1-25.
		if *in.MaxResults < 1 || *in.MaxResults > 25 {
			return nil, validationf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 25", *in.MaxResults)
		}
		limit = *in.MaxResults
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, e := range s.exports {
		if in.TableArn == "" || in.TableArn == e.tableArn {
			s.reconcile(e)
			out = append(out, map[string]any{"ExportArn": e.arn, "ExportStatus": e.status, "ExportType": "FULL_EXPORT"})
		}
	}
	page, next, err := awsproto.Paginate(out, in.NextToken, limit, 3, "ValidationException")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []map[string]any{}
	}
	res := map[string]any{"ExportSummaries": page}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
