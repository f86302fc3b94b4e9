// Package glueemu is the local endpoint's AWS Glue Data Catalog emulation
// (awsJson1.1, X-Amz-Target AWSGlue.*, SigV4 name "glue"; model
// /work/botocore/glue/service-2.json): databases, tables and table versions,
// enough for `etl rebuild --glue-table` to switch a table to each new snapshot
// version.
//
// Operations: CreateDatabase, GetDatabase, CreateTable, GetTable,
// UpdateTable, GetTableVersions, DeleteTableVersion, BatchDeleteTableVersion,
// DeleteTable.
//
// Behaviour, as AWS documents it:
//   - database and table names are folded to lower case when stored
//     (DatabaseInput.Name, TableInput.Name: "For Hive compatibility, this is
//     folded to lowercase when it is stored");
//   - a table's VersionId starts at "0" and grows by one with every
//     UpdateTable; an UpdateTable that names a VersionId other than the
//     current one fails with ConcurrentModificationException, so two writers
//     cannot both win;
//   - UpdateTable archives the replaced definition as a table version unless
//     SkipArchive is set; GetTableVersions lists the current definition and
//     the archived ones, newest first;
//   - the current version cannot be deleted (DeleteTableVersion answers
//     InvalidInputException), archived ones can.
//
// Errors: ValidationException for the model's constraints (length, pattern,
// required), InvalidInputException, EntityNotFoundException (400),
// AlreadyExistsException (400), ConcurrentModificationException (400).
// Timestamps come from the endpoint's clock.
package glueemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Server is the Glue emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk clock.Clock
	mu  sync.Mutex
	dbs map[string]*database // by lower-case name
}

type database struct {
	wire   Database
	tables map[string]*table // by lower-case name
}

type table struct {
	cur      Table
	version  int           // current VersionId
	archived map[int]Table // archived definitions by VersionId
	order    []int         // archived VersionIds, oldest first
	created  time.Time
}

// New returns an empty catalog.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), dbs: map[string]*database{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateDatabase":          s.createDatabase,
		"GetDatabase":             s.getDatabase,
		"CreateTable":             s.createTable,
		"GetTable":                s.getTable,
		"UpdateTable":             s.updateTable,
		"GetTableVersions":        s.getTableVersions,
		"DeleteTableVersion":      s.deleteTableVersion,
		"BatchDeleteTableVersion": s.batchDeleteTableVersion,
		"DeleteTable":             s.deleteTable,
	}
	return s
}

// model: Glue answers violations of the model's constraints with
// ValidationException ("1 validation error detected: Value … at
// 'table.storageDescriptor.columns.5.member.comment' failed to satisfy
// constraint: …", as boto reports it for CreateTable, e.g.
// moj-analytical-services/etl_manager#90).
var model = awsproto.ValidationException

// botocore glue NameString, KeyString, CatalogIdString, VersionString:
// pattern [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]* (one line
// of text: no control character but tab). DescriptionString and
// LocationString also allow \r and \n.
var (
	singleLine = regexp.MustCompile("^[\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF\t]*$")
	multiLine  = regexp.MustCompile("^[\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF\r\n\t]*$")
	anyText    = regexp.MustCompile(`(?s)^.*$`) // ViewTextString: no pattern
)

// nameString checks a botocore glue NameString (1-255, single line).
func nameString(member string, v *string, required bool) error {
	if v == nil {
		if required {
			return model.Required(member, false)
		}
		return nil
	}
	if err := model.Length(member, *v, 1, 255); err != nil {
		return err
	}
	return pattern(member, *v, singleLine)
}

// pattern checks v against one of the model's character-class patterns and
// quotes the model's pattern text, as AWS does.
func pattern(member, v string, re *regexp.Regexp) error {
	if re.MatchString(v) {
		return nil
	}
	p := `[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*`
	if re == multiLine {
		p = `[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*`
	}
	return model.Violation(v, member, "Member must satisfy regular expression pattern: "+p)
}

func optLength(member string, v *string, min, max int, re *regexp.Regexp) error {
	if v == nil {
		return nil
	}
	if err := model.Length(member, *v, min, max); err != nil {
		return err
	}
	return pattern(member, *v, re)
}

// parameters checks a botocore glue ParametersMap (keys KeyString 1-255,
// values ParametersMapValue at most 512000).
func parameters(member string, m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := model.Length(member+".key", k, 1, 255); err != nil {
			return err
		}
		if err := pattern(member+".key", k, singleLine); err != nil {
			return err
		}
		if err := model.Length(member+".value", m[k], 0, 512000); err != nil {
			return err
		}
	}
	return nil
}

// ---- wire shapes (member names from the model) ----

// Database is botocore glue Database.
type Database struct {
	Name        string             `json:"Name"`
	Description *string            `json:"Description,omitempty"`
	LocationUri *string            `json:"LocationUri,omitempty"`
	Parameters  map[string]string  `json:"Parameters,omitempty"`
	CreateTime  awsproto.EpochTime `json:"CreateTime"`
	CatalogId   string             `json:"CatalogId"`
}

// Column is botocore glue Column.
type Column struct {
	Name       *string           `json:"Name"`
	Type       *string           `json:"Type,omitempty"`
	Comment    *string           `json:"Comment,omitempty"`
	Parameters map[string]string `json:"Parameters,omitempty"`
}

// SerDeInfo is botocore glue SerDeInfo.
type SerDeInfo struct {
	Name                 *string           `json:"Name,omitempty"`
	SerializationLibrary *string           `json:"SerializationLibrary,omitempty"`
	Parameters           map[string]string `json:"Parameters,omitempty"`
}

// StorageDescriptor is botocore glue StorageDescriptor; members opsctl does
// not use are kept as sent.
type StorageDescriptor struct {
	Columns                []Column          `json:"Columns,omitempty"`
	Location               *string           `json:"Location,omitempty"`
	InputFormat            *string           `json:"InputFormat,omitempty"`
	OutputFormat           *string           `json:"OutputFormat,omitempty"`
	Compressed             *bool             `json:"Compressed,omitempty"`
	NumberOfBuckets        *int32            `json:"NumberOfBuckets,omitempty"`
	SerdeInfo              *SerDeInfo        `json:"SerdeInfo,omitempty"`
	BucketColumns          []string          `json:"BucketColumns,omitempty"`
	SortColumns            json.RawMessage   `json:"SortColumns,omitempty"`
	Parameters             map[string]string `json:"Parameters,omitempty"`
	SkewedInfo             json.RawMessage   `json:"SkewedInfo,omitempty"`
	StoredAsSubDirectories *bool             `json:"StoredAsSubDirectories,omitempty"`
}

// TableInput is botocore glue TableInput.
type TableInput struct {
	Name              *string            `json:"Name"`
	Description       *string            `json:"Description,omitempty"`
	Owner             *string            `json:"Owner,omitempty"`
	Retention         *int32             `json:"Retention,omitempty"`
	StorageDescriptor *StorageDescriptor `json:"StorageDescriptor,omitempty"`
	PartitionKeys     []Column           `json:"PartitionKeys,omitempty"`
	ViewOriginalText  *string            `json:"ViewOriginalText,omitempty"`
	ViewExpandedText  *string            `json:"ViewExpandedText,omitempty"`
	TableType         *string            `json:"TableType,omitempty"`
	Parameters        map[string]string  `json:"Parameters,omitempty"`
}

// Table is botocore glue Table (the members the emulation keeps).
type Table struct {
	Name                          string             `json:"Name"`
	DatabaseName                  string             `json:"DatabaseName"`
	Description                   *string            `json:"Description,omitempty"`
	Owner                         *string            `json:"Owner,omitempty"`
	CreateTime                    awsproto.EpochTime `json:"CreateTime"`
	UpdateTime                    awsproto.EpochTime `json:"UpdateTime"`
	Retention                     *int32             `json:"Retention,omitempty"`
	StorageDescriptor             *StorageDescriptor `json:"StorageDescriptor,omitempty"`
	PartitionKeys                 []Column           `json:"PartitionKeys"`
	ViewOriginalText              *string            `json:"ViewOriginalText,omitempty"`
	ViewExpandedText              *string            `json:"ViewExpandedText,omitempty"`
	TableType                     *string            `json:"TableType,omitempty"`
	Parameters                    map[string]string  `json:"Parameters,omitempty"`
	CreatedBy                     string             `json:"CreatedBy"`
	IsRegisteredWithLakeFormation bool               `json:"IsRegisteredWithLakeFormation"`
	CatalogId                     string             `json:"CatalogId"`
	VersionId                     string             `json:"VersionId"`
}

// TableVersion is botocore glue TableVersion.
type TableVersion struct {
	Table     Table  `json:"Table"`
	VersionId string `json:"VersionId"`
}

// ---- validation of the inputs ----

func checkCatalog(id *string) error {
	return optLength("catalogId", id, 1, 255, singleLine)
}

func checkColumns(member string, cols []Column) error {
	for i, c := range cols {
		p := fmt.Sprintf("%s.%d.member", member, i+1)
		if err := nameString(p+".name", c.Name, true); err != nil {
			return err
		}
		// botocore glue ColumnTypeString: 0-131072; CommentString: 0-255.
		if err := optLength(p+".type", c.Type, 0, 131072, singleLine); err != nil {
			return err
		}
		if err := optLength(p+".comment", c.Comment, 0, 255, singleLine); err != nil {
			return err
		}
		if err := parameters(p+".parameters", c.Parameters); err != nil {
			return err
		}
	}
	return nil
}

// checkTableInput checks a TableInput against botocore glue TableInput and
// its member shapes. AWS names the member "table" in its messages.
func checkTableInput(in *TableInput) error {
	if in == nil {
		return model.Required("tableInput", false)
	}
	const m = "table"
	if err := nameString(m+".name", in.Name, true); err != nil {
		return err
	}
	if err := optLength(m+".description", in.Description, 0, 2048, multiLine); err != nil {
		return err
	}
	if err := nameString(m+".owner", in.Owner, false); err != nil {
		return err
	}
	// botocore glue NonNegativeInteger: min 0.
	if in.Retention != nil && *in.Retention < 0 {
		return model.Violation(*in.Retention, m+".retention", "Member must have value greater than or equal to 0")
	}
	// botocore glue ViewTextString: max 409600; TableTypeString: max 255.
	if err := optLength(m+".viewOriginalText", in.ViewOriginalText, 0, 409600, anyText); err != nil {
		return err
	}
	if err := optLength(m+".viewExpandedText", in.ViewExpandedText, 0, 409600, anyText); err != nil {
		return err
	}
	if in.TableType != nil {
		if err := model.Length(m+".tableType", *in.TableType, 0, 255); err != nil {
			return err
		}
	}
	if err := parameters(m+".parameters", in.Parameters); err != nil {
		return err
	}
	if err := checkColumns(m+".partitionKeys", in.PartitionKeys); err != nil {
		return err
	}
	if sd := in.StorageDescriptor; sd != nil {
		p := m + ".storageDescriptor"
		if err := checkColumns(p+".columns", sd.Columns); err != nil {
			return err
		}
		// botocore glue LocationString: max 2056; FormatString: max 128.
		if err := optLength(p+".location", sd.Location, 0, 2056, multiLine); err != nil {
			return err
		}
		if err := optLength(p+".inputFormat", sd.InputFormat, 0, 128, singleLine); err != nil {
			return err
		}
		if err := optLength(p+".outputFormat", sd.OutputFormat, 0, 128, singleLine); err != nil {
			return err
		}
		if si := sd.SerdeInfo; si != nil {
			if err := nameString(p+".serdeInfo.name", si.Name, false); err != nil {
				return err
			}
			if err := nameString(p+".serdeInfo.serializationLibrary", si.SerializationLibrary, false); err != nil {
				return err
			}
			if err := parameters(p+".serdeInfo.parameters", si.Parameters); err != nil {
				return err
			}
		}
		if err := parameters(p+".parameters", sd.Parameters); err != nil {
			return err
		}
	}
	// Glue refuses a column named twice (AWS: "Duplicate column name").
	seen := map[string]bool{}
	var all []Column
	if in.StorageDescriptor != nil {
		all = append(all, in.StorageDescriptor.Columns...)
	}
	all = append(all, in.PartitionKeys...)
	for _, c := range all {
		n := strings.ToLower(*c.Name)
		if seen[n] {
			return awsproto.Errf("InvalidInputException", "Duplicate column name: %s", n)
		}
		seen[n] = true
	}
	return nil
}

// ---- errors ----

func dbNotFound(name string) error {
	return awsproto.Errf("EntityNotFoundException", "Database %s not found.", name)
}

func tableNotFound(name string) error {
	return awsproto.Errf("EntityNotFoundException", "Table %s not found.", name)
}

// ---- databases ----

func (s *Server) createDatabase(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		CatalogId     *string
		DatabaseInput *struct {
			Name        *string
			Description *string
			LocationUri *string
			Parameters  map[string]string
		}
		Tags map[string]string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkCatalog(in.CatalogId); err != nil {
		return nil, err
	}
	di := in.DatabaseInput
	if di == nil {
		return nil, model.Required("databaseInput", false)
	}
	// botocore glue DatabaseInput: Name NameString (required), Description
	// DescriptionString 0-2048, LocationUri URI 1-1024; TagsMap 0-50.
	if err := awsproto.Check(
		nameString("databaseInput.name", di.Name, true),
		optLength("databaseInput.description", di.Description, 0, 2048, multiLine),
		optLength("databaseInput.locationUri", di.LocationUri, 1, 1024, multiLine),
		parameters("databaseInput.parameters", di.Parameters),
		model.Size("tags", in.Tags, len(in.Tags), 0, 50),
	); err != nil {
		return nil, err
	}
	name := strings.ToLower(*di.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dbs[name]; ok {
		return nil, awsproto.Errf("AlreadyExistsException", "Database already exists.")
	}
	s.dbs[name] = &database{
		wire: Database{Name: name, Description: di.Description, LocationUri: di.LocationUri, Parameters: di.Parameters,
			CreateTime: awsproto.EpochTime(s.clk.Now()), CatalogId: s.Account},
		tables: map[string]*table{},
	}
	return struct{}{}, nil
}

func (s *Server) getDatabase(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ CatalogId, Name *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := awsproto.Check(checkCatalog(in.CatalogId), nameString("name", in.Name, true)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	db, ok := s.dbs[strings.ToLower(*in.Name)]
	if !ok {
		return nil, dbNotFound(*in.Name)
	}
	return map[string]any{"Database": db.wire}, nil
}

// ---- tables ----

// tableRef is the members naming a table; member is how the request names
// the table ("name" or "tableName").
type tableRef struct {
	CatalogId    *string
	DatabaseName *string
	Name         *string
	TableName    *string
}

func (ref *tableRef) tableName() *string {
	if ref.TableName != nil {
		return ref.TableName
	}
	return ref.Name
}

// withTable validates a table reference, locks the catalog and runs f with
// the database and table, or fails with EntityNotFoundException.
func (s *Server) withTable(ref *tableRef, member string, f func(db *database, t *table) (any, error)) (any, error) {
	if err := awsproto.Check(checkCatalog(ref.CatalogId), nameString("databaseName", ref.DatabaseName, true),
		nameString(member, ref.tableName(), true)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	db, ok := s.dbs[strings.ToLower(*ref.DatabaseName)]
	if !ok {
		return nil, dbNotFound(*ref.DatabaseName)
	}
	t, ok := db.tables[strings.ToLower(*ref.tableName())]
	if !ok {
		return nil, tableNotFound(*ref.tableName())
	}
	return f(db, t)
}

// definition builds the stored Table from a TableInput.
func (s *Server) definition(db *database, in *TableInput, created, now time.Time, version int) Table {
	t := Table{
		Name: strings.ToLower(*in.Name), DatabaseName: db.wire.Name, Description: in.Description, Owner: in.Owner,
		CreateTime: awsproto.EpochTime(created), UpdateTime: awsproto.EpochTime(now), Retention: in.Retention,
		StorageDescriptor: in.StorageDescriptor, PartitionKeys: in.PartitionKeys, ViewOriginalText: in.ViewOriginalText,
		ViewExpandedText: in.ViewExpandedText, TableType: in.TableType, Parameters: in.Parameters,
		CreatedBy: "arn:aws:iam::" + s.Account + ":user/localaws", CatalogId: s.Account, VersionId: strconv.Itoa(version),
	}
	if t.PartitionKeys == nil {
		t.PartitionKeys = []Column{}
	}
	return t
}

func (s *Server) createTable(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		CatalogId    *string
		DatabaseName *string
		Name         *string
		TableInput   *TableInput
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := awsproto.Check(checkCatalog(in.CatalogId), nameString("databaseName", in.DatabaseName, true),
		nameString("name", in.Name, false)); err != nil {
		return nil, err
	}
	if err := checkTableInput(in.TableInput); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	db, ok := s.dbs[strings.ToLower(*in.DatabaseName)]
	if !ok {
		return nil, dbNotFound(*in.DatabaseName)
	}
	name := strings.ToLower(*in.TableInput.Name)
	if _, ok := db.tables[name]; ok {
		return nil, awsproto.Errf("AlreadyExistsException", "Table already exists.")
	}
	now := s.clk.Now()
	db.tables[name] = &table{cur: s.definition(db, in.TableInput, now, now, 0), archived: map[int]Table{}, created: now}
	return struct{}{}, nil
}

func (s *Server) getTable(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var ref tableRef
	if err := dec(&ref); err != nil {
		return nil, err
	}
	return s.withTable(&ref, "name", func(_ *database, t *table) (any, error) {
		return map[string]any{"Table": t.cur}, nil
	})
}

func (s *Server) updateTable(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		tableRef
		TableInput  *TableInput
		SkipArchive *bool
		VersionId   *string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// The table is the one TableInput names (UpdateTable has no Name
	// member in older SDKs; a Name, when sent, must agree).
	if in.TableInput != nil && in.Name == nil {
		in.Name = in.TableInput.Name
	}
	if err := checkTableInput(in.TableInput); err != nil {
		return nil, err
	}
	// botocore glue VersionString: 1-255.
	if err := optLength("versionId", in.VersionId, 1, 255, singleLine); err != nil {
		return nil, err
	}
	return s.withTable(&in.tableRef, "name", func(db *database, t *table) (any, error) {
		if !strings.EqualFold(*in.TableInput.Name, t.cur.Name) {
			return nil, awsproto.Errf("InvalidInputException", "Table name in TableInput does not match the table name %s.", t.cur.Name)
		}
		// Optimistic concurrency: UpdateTable "VersionId: The version ID at
		// which to update the table contents"; another version means
		// somebody else updated the table first (ConcurrentModificationException:
		// "Two processes are trying to modify a resource simultaneously").
		if in.VersionId != nil && *in.VersionId != t.cur.VersionId {
			return nil, awsproto.Errf("ConcurrentModificationException", "Update table failed due to concurrent modifications.")
		}
		if in.SkipArchive == nil || !*in.SkipArchive {
			t.archived[t.version] = t.cur
			t.order = append(t.order, t.version)
		}
		t.version++
		t.cur = s.definition(db, in.TableInput, t.created, s.clk.Now(), t.version)
		return struct{}{}, nil
	})
}

// versionPage is GetTableVersions' page size: small, so callers paginate.
const versionPage = 3

func (s *Server) getTableVersions(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		tableRef
		NextToken  *string
		MaxResults *int64
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore glue CatalogGetterPageSize: 1-100.
	if in.MaxResults != nil {
		if err := model.Range("maxResults", *in.MaxResults, 1, 100); err != nil {
			return nil, err
		}
	}
	return s.withTable(&in.tableRef, "tableName", func(_ *database, t *table) (any, error) {
		all := []TableVersion{{Table: t.cur, VersionId: t.cur.VersionId}}
		for i := len(t.order) - 1; i >= 0; i-- {
			v := t.order[i]
			all = append(all, TableVersion{Table: t.archived[v], VersionId: strconv.Itoa(v)})
		}
		limit := 0
		if in.MaxResults != nil {
			limit = int(*in.MaxResults)
		}
		page, next, err := awsproto.Paginate(all, deref(in.NextToken), limit, versionPage, "InvalidInputException")
		if err != nil {
			return nil, err
		}
		out := map[string]any{"TableVersions": page}
		if next != "" {
			out["NextToken"] = next
		}
		return out, nil
	})
}

// deleteVersion removes one archived version, or says why it cannot.
func (t *table) deleteVersion(id string) error {
	if id == t.cur.VersionId {
		return awsproto.Errf("InvalidInputException", "Cannot delete the current version of the table.")
	}
	n, err := strconv.Atoi(id)
	if _, ok := t.archived[n]; err != nil || !ok {
		return awsproto.Errf("EntityNotFoundException", "Version %s of table %s not found.", id, t.cur.Name)
	}
	delete(t.archived, n)
	t.order = slices.DeleteFunc(t.order, func(v int) bool { return v == n })
	return nil
}

func (s *Server) deleteTableVersion(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		tableRef
		VersionId *string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := awsproto.Check(model.Required("versionId", in.VersionId != nil)); err != nil {
		return nil, err
	}
	if err := optLength("versionId", in.VersionId, 1, 255, singleLine); err != nil {
		return nil, err
	}
	return s.withTable(&in.tableRef, "tableName", func(_ *database, t *table) (any, error) {
		return struct{}{}, t.deleteVersion(*in.VersionId)
	})
}

func (s *Server) batchDeleteTableVersion(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		tableRef
		VersionIds []string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore glue BatchDeleteTableVersionList: required, 0-100.
	if in.VersionIds == nil {
		return nil, model.Required("versionIds", false)
	}
	if err := model.Size("versionIds", in.VersionIds, len(in.VersionIds), 0, 100); err != nil {
		return nil, err
	}
	return s.withTable(&in.tableRef, "tableName", func(_ *database, t *table) (any, error) {
		type detail struct {
			ErrorCode    string `json:"ErrorCode"`
			ErrorMessage string `json:"ErrorMessage"`
		}
		type tvErr struct {
			TableName   string `json:"TableName"`
			VersionId   string `json:"VersionId"`
			ErrorDetail detail `json:"ErrorDetail"`
		}
		errs := []tvErr{}
		for _, v := range in.VersionIds {
			if err := t.deleteVersion(v); err != nil {
				e := err.(*awsproto.Error)
				errs = append(errs, tvErr{TableName: t.cur.Name, VersionId: v, ErrorDetail: detail{ErrorCode: e.Code, ErrorMessage: e.Message}})
			}
		}
		return map[string]any{"Errors": errs}, nil
	})
}

func (s *Server) deleteTable(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var ref tableRef
	if err := dec(&ref); err != nil {
		return nil, err
	}
	return s.withTable(&ref, "name", func(db *database, t *table) (any, error) {
		delete(db.tables, t.cur.Name)
		return struct{}{}, nil
	})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
