package etl

// The Glue switch (--glue-table DB.TABLE): after each published version the
// Glue Data Catalog table is created or re-pointed at the new version's data
// folder, so Athena reads the newest snapshot with no manual step.
//
//   - Columns and Hive types come from the snapshot's schema (the Parquet
//     types opsctl wrote), the partition key from --partition-by with Athena
//     partition projection (an enum of the partition folders), so the switch
//     is one UpdateTable: no partition to register, nothing half-switched.
//   - The update names the table's VersionId (optimistic concurrency): of two
//     writers that read the same version, one gets
//     ConcurrentModificationException, reports it and exits 1, and the table
//     keeps the winner's definition. A table never moves back to an older
//     snapshot version than the one it shows (opsctl.version parameter).
//   - SkipArchive: no table version is archived per run, so versions do not
//     pile up (Glue keeps at most 100 000 table versions per account).
//   - The switch happens after _current: a run killed before leaves the table
//     on the previous version; a run whose switch failed is reconciled by the
//     next run (even one with nothing new to read).

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// GlueAPI is every Glue call --glue-table makes. *glue.Client satisfies it.
type GlueAPI interface {
	GetDatabase(ctx context.Context, in *glue.GetDatabaseInput, optFns ...func(*glue.Options)) (*glue.GetDatabaseOutput, error)
	CreateDatabase(ctx context.Context, in *glue.CreateDatabaseInput, optFns ...func(*glue.Options)) (*glue.CreateDatabaseOutput, error)
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	CreateTable(ctx context.Context, in *glue.CreateTableInput, optFns ...func(*glue.Options)) (*glue.CreateTableOutput, error)
	UpdateTable(ctx context.Context, in *glue.UpdateTableInput, optFns ...func(*glue.Options)) (*glue.UpdateTableOutput, error)
}

// ErrGlueConflict: another writer changed the Glue table during the run.
var ErrGlueConflict = errors.New("glue table changed by another writer")

// Table parameters opsctl sets (besides Athena's own).
const (
	glueParamDest    = "opsctl.dest"    // the snapshot destination the table follows
	glueParamVersion = "opsctl.version" // the snapshot version it points at
)

// Hive Parquet storage (Athena "Parquet SerDe").
const (
	parquetSerDe        = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
	parquetInputFormat  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
	parquetOutputFormat = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
)

// glueNameRe: Athena accepts database and table names of lower-case
// letters, digits and underscores (Athena user guide, "Name databases,
// tables, and columns"); Glue's NameString allows at most 255 characters.
var glueNameRe = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)

// ParseGlueTable splits DB.TABLE (folded to lower case, as Glue stores it).
func ParseGlueTable(s string) (db, table string, err error) {
	d, t, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ".")
	if !ok || strings.Contains(t, ".") {
		return "", "", fmt.Errorf("%q: want DATABASE.TABLE, e.g. lake.orders", s)
	}
	for _, n := range []string{d, t} {
		if !glueNameRe.MatchString(n) {
			return "", "", fmt.Errorf("%q: database and table names are 1-255 letters, digits and underscores (Athena's rule)", s)
		}
	}
	return d, t, nil
}

// validateGlue checks the Glue options (Validate calls it).
func (o *Options) validateGlue(destIsS3 bool) error {
	if o.GlueTable == "" {
		if o.GlueDatabaseCreate {
			return opserr.Usagef("--glue-database-create needs --glue-table")
		}
		return nil
	}
	if _, _, err := ParseGlueTable(o.GlueTable); err != nil {
		return opserr.Usagef("--glue-table %v", err)
	}
	if !destIsS3 {
		return opserr.Usagef("--glue-table needs an s3:// --dest (Athena reads tables from S3)")
	}
	return nil
}

// HiveType is the Glue/Athena column type of a snapshot column type.
// Times of day have no Hive type: they are their Parquet int64 (µs, or ns,
// since midnight) read as bigint.
func HiveType(t *cdc.Type) string {
	if t == nil {
		return "string"
	}
	switch t.Kind {
	case cdc.KindBool:
		return "boolean"
	case cdc.KindInt:
		switch t.IntBits() {
		case 8:
			return "tinyint"
		case 16:
			return "smallint"
		case 32:
			return "int"
		}
		return "bigint"
	case cdc.KindDouble:
		return "double"
	case cdc.KindBinary:
		return "binary"
	case cdc.KindDate:
		return "date"
	case cdc.KindTimestamp:
		return "timestamp"
	case cdc.KindTime:
		return "bigint"
	case cdc.KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision(), t.Scale)
	case cdc.KindList:
		return "array<" + HiveType(t.Elem) + ">"
	case cdc.KindStruct:
		names := make([]string, 0, len(t.Fields))
		for n := range t.Fields {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + ":" + HiveType(t.Fields[n])
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	}
	return "string"
}

// glueTableInput is the table definition for snapshot version m, whose data
// folder is location.
func glueTableInput(table, dest, location string, m *snapshot.Manifest) (*gluetypes.TableInput, error) {
	names := make([]string, 0, len(m.ColumnTypes))
	for n := range m.ColumnTypes {
		if n != m.PartitionBy {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	cols := make([]gluetypes.Column, len(names))
	for i, n := range names {
		cols[i] = gluetypes.Column{Name: aws.String(n), Type: aws.String(HiveType(m.ColumnTypes[n]))}
	}
	params := map[string]string{
		"classification": "parquet", "EXTERNAL": "TRUE",
		glueParamDest: dest, glueParamVersion: m.Version,
	}
	in := &gluetypes.TableInput{
		Name: aws.String(table), TableType: aws.String("EXTERNAL_TABLE"), Parameters: params,
		StorageDescriptor: &gluetypes.StorageDescriptor{
			Columns: cols, Location: aws.String(location),
			InputFormat: aws.String(parquetInputFormat), OutputFormat: aws.String(parquetOutputFormat),
			SerdeInfo: &gluetypes.SerDeInfo{SerializationLibrary: aws.String(parquetSerDe), Parameters: map[string]string{"serialization.format": "1"}},
		},
	}
	if p := m.PartitionBy; p != "" {
		// Athena partition projection (user guide, "Partition projection
		// with Amazon Athena"): an enum of the partition folders' values,
		// as written in the folder names, and the template that maps a
		// value to its folder.
		var values []string
		for _, f := range m.Files {
			rel := strings.TrimPrefix(f.Path, snapshot.DataDir)
			dir, _, ok := strings.Cut(rel, "/")
			if v, isPart := strings.CutPrefix(dir, p+"="); ok && isPart && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		sort.Strings(values)
		for _, v := range values {
			if strings.Contains(v, ",") {
				return nil, fmt.Errorf("--glue-table: partition value %q holds a comma, which an Athena projection enum cannot list", v)
			}
		}
		in.PartitionKeys = []gluetypes.Column{{Name: aws.String(p), Type: aws.String("string")}}
		params["projection.enabled"] = "true"
		params["projection."+p+".type"] = "enum"
		params["projection."+p+".values"] = strings.Join(values, ",")
		params["storage.location.template"] = location + p + "=${" + p + "}/"
	}
	return in, nil
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// glueSwitch plans and applies the Glue database and table for snapshot
// version m (data folder location). In a dry run nothing is written.
func (r *run) glueSwitch(ctx context.Context, m *snapshot.Manifest, location string) error {
	if r.opts.GlueTable == "" || m == nil {
		return nil
	}
	if r.deps.Glue == nil {
		return errors.New("--glue-table needs a Glue client")
	}
	g := r.deps.Glue
	db, table, _ := ParseGlueTable(r.opts.GlueTable)
	full := db + "." + table
	dest := r.store.String()
	var steps []plan.Step

	_, err := g.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String(db)})
	switch {
	case err == nil:
		steps = append(steps, plan.Unchanged("glue database", db))
	case apiCode(err) == "EntityNotFoundException" && r.opts.GlueDatabaseCreate:
		steps = append(steps, plan.Create("glue database", db, func(ctx context.Context) error {
			_, err := g.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String(db),
				Description: aws.String("created by opsctl etl rebuild --glue-database-create")}})
			if apiCode(err) == "AlreadyExistsException" {
				return nil // another run created it meanwhile
			}
			return err
		}))
	case apiCode(err) == "EntityNotFoundException":
		return fmt.Errorf("glue database %s does not exist: create it, or pass --glue-database-create", db)
	default:
		return fmt.Errorf("glue get database %s: %w", db, err)
	}

	want, err := glueTableInput(table, dest, location, m)
	if err != nil {
		return err
	}
	var live *gluetypes.Table
	if len(steps) > 0 && steps[0].Action == plan.ActionNone {
		out, err := g.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(table)})
		switch {
		case err == nil:
			live = out.Table
		case apiCode(err) != "EntityNotFoundException":
			return fmt.Errorf("glue get table %s: %w", full, err)
		}
	}
	if live == nil {
		steps = append(steps, plan.Create("glue table", full, func(ctx context.Context) error {
			_, err := g.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(db), TableInput: want})
			if apiCode(err) == "AlreadyExistsException" {
				return fmt.Errorf("%w: %s was created by another writer during this run; the next run re-points it", ErrGlueConflict, full)
			}
			return err
		}))
	} else {
		step, err := glueUpdateStep(g, db, full, dest, live, want, m.Version, r)
		if err != nil {
			return err
		}
		steps = append(steps, step)
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: r.opts.DryRun, Log: r.log()})
	r.res.Glue = changes
	if err != nil {
		return fmt.Errorf("glue table %s: %w", full, err)
	}
	return nil
}

// glueUpdateStep diffs the live table with the wanted one.
func glueUpdateStep(g GlueAPI, db, full, dest string, live *gluetypes.Table, want *gluetypes.TableInput, version string, r *run) (plan.Step, error) {
	liveLoc := ""
	if live.StorageDescriptor != nil {
		liveLoc = aws.ToString(live.StorageDescriptor.Location)
	}
	// Never take over a table opsctl did not make for this destination.
	if live.Parameters[glueParamDest] != dest && !strings.HasPrefix(liveLoc, dest) {
		return plan.Step{}, fmt.Errorf("glue table %s exists and does not follow %s (location %q, %s=%q): refusing to re-point it; drop it or name another --glue-table",
			full, dest, liveLoc, glueParamDest, live.Parameters[glueParamDest])
	}
	if lv := live.Parameters[glueParamVersion]; lv > version {
		r.log().Warn("glue table already points at a newer snapshot version; left alone", "table", full, "table_version", lv, "version", version)
		return plan.Unchanged("glue table", full), nil
	}
	var d plan.Differ
	d.Str("location", liveLoc, aws.ToString(want.StorageDescriptor.Location))
	d.Str("columns", glueColumns(storageColumns(live.StorageDescriptor)), glueColumns(want.StorageDescriptor.Columns))
	d.Str("partition_keys", glueColumns(live.PartitionKeys), glueColumns(want.PartitionKeys))
	liveSerDe := ""
	if live.StorageDescriptor != nil && live.StorageDescriptor.SerdeInfo != nil {
		liveSerDe = aws.ToString(live.StorageDescriptor.SerdeInfo.SerializationLibrary)
	}
	d.Str("serde", liveSerDe, parquetSerDe)
	d.Map("parameters", live.Parameters, want.Parameters)
	if len(d) == 0 {
		return plan.Unchanged("glue table", full), nil
	}
	seen := aws.ToString(live.VersionId)
	return plan.Update("glue table", full, d, func(ctx context.Context) error {
		_, err := g.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String(db), TableInput: want,
			VersionId: aws.String(seen), SkipArchive: aws.Bool(true)})
		if apiCode(err) == "ConcurrentModificationException" {
			return fmt.Errorf("%w: %s changed after this run read it (table version %s); left as the other writer set it, the next run reconciles", ErrGlueConflict, full, seen)
		}
		return err
	}), nil
}

func storageColumns(sd *gluetypes.StorageDescriptor) []gluetypes.Column {
	if sd == nil {
		return nil
	}
	return sd.Columns
}

func glueColumns(cs []gluetypes.Column) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = aws.ToString(c.Name) + " " + aws.ToString(c.Type)
	}
	return strings.Join(parts, ", ")
}
