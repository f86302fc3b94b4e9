package etl

// --engine athena: the rebuild executed by Athena (etl/athena generates the
// SQL). The run lists the source (no object is read by opsctl), then:
//
//  1. ensures the raw increments' Glue table DB.TABLE_raw (one string column
//     per line, the Firehose hour folder as the projected partition dt);
//  2. CTAS the new state (RULES.md rules 1, 2, 4, 6) into
//     DEST/versions/<v>/athena_state/ from the hours holding new objects plus
//     the previous version's Athena state (a version the local engine made
//     has none: the first Athena run reads every increment);
//  3. CTAS + INSERT batches (at most 100 partitions per statement) the live
//     rows into DEST/versions/<v>/data/;
//  4. writes the manifest, switches _current, then the Glue table
//     (--glue-table), as the local engine does.
//
// The columns and types are the current version's (the Athena engine
// continues a snapshot; its first version comes from the local engine).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/etl/athena"
	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/etl/source"
	"github.com/opsctl/opsctl/internal/opserr"
)

// AthenaStateDir holds a version's Athena state (Parquet, StateColumns).
const AthenaStateDir = "athena_state/"

// validateAthena checks the --engine options (Validate calls it).
func (o *Options) validateAthena(src, dst source.Location) error {
	switch o.Engine {
	case "", "local":
		if o.Workgroup != "" || o.AthenaOutput != "" {
			return opserr.Usagef("--workgroup and --athena-output need --engine athena")
		}
		return nil
	case "athena":
	default:
		return opserr.Usagef("--engine %q: must be local or athena", o.Engine)
	}
	switch {
	case !src.IsS3() || !dst.IsS3():
		return opserr.Usagef("--engine athena needs s3:// --source and --dest (Athena reads and writes S3)")
	case o.GlueTable == "":
		return opserr.Usagef("--engine athena needs --glue-table DB.TABLE (the table it switches; its raw and state tables are named after it)")
	case len(o.Key) == 0:
		return opserr.Usagef("--engine athena needs --key (the SQL partitions by the key columns)")
	case o.AthenaOutput != "" && !strings.HasPrefix(o.AthenaOutput, "s3://"):
		return opserr.Usagef("--athena-output %q: want an s3:// location", o.AthenaOutput)
	case o.Workgroup != "" && !regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`).MatchString(o.Workgroup):
		// botocore athena WorkGroupName pattern.
		return opserr.Usagef("--workgroup %q: 1-128 letters, digits, '.', '_' or '-'", o.Workgroup)
	}
	return nil
}

// hourOf is the Firehose hour folder (YYYY/MM/DD/HH) of an object key
// relative to the source prefix, "" when it has none.
var hourRe = regexp.MustCompile(`^([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/`)

// doAthena runs the rebuild on Athena; pending are the unconsumed objects.
func (r *run) doAthena(ctx context.Context, objects, pending []source.Object) error {
	if r.deps.Athena == nil || r.deps.Glue == nil {
		return errors.New("--engine athena needs Athena and Glue clients")
	}
	if r.prev == nil {
		return fmt.Errorf("--engine athena continues a snapshot: %s has no current version; run the local engine once (without --engine) to create it and its columns", r.store)
	}
	db, table, _ := ParseGlueTable(r.opts.GlueTable)
	spec := athena.Spec{Format: r.opts.Format, Key: r.opts.Key, Dialect: athena.Trino}
	rawTable := db + "." + table + "_raw"
	// The hours to read: those holding a new object (prefix-relative keys).
	fromHour := ""
	incremental := r.incremental() && r.prev.State == AthenaStateDir
	if incremental {
		for _, p := range pending {
			h := hourRe.FindStringSubmatch(strings.TrimPrefix(p.Key, r.src.Loc.Prefix))
			if h == nil {
				incremental, fromHour = false, ""
				break
			}
			if fromHour == "" || h[1] < fromHour {
				fromHour = h[1]
			}
		}
	}
	prevState := ""
	var stateBytes int64
	if incremental {
		prevState = db + "." + athenaTableName(table, "state", r.prev.Version)
		var err error
		if stateBytes, err = r.prefixBytes(ctx, snapshot.VersionPath(r.prev.Version)+AthenaStateDir); err != nil {
			return err
		}
	}
	stateSQL, err := spec.State(athena.AthenaLines(rawTable, fromHour), prevState)
	if err != nil {
		return err
	}
	cols := athena.Columns(r.prev.ColumnTypes, r.opts.PartitionBy)
	var scanEstimate int64
	for _, o := range objects {
		if h := hourRe.FindStringSubmatch(strings.TrimPrefix(o.Key, r.src.Loc.Prefix)); fromHour == "" || h != nil && h[1] >= fromHour {
			scanEstimate += o.Size
		}
	}
	r.res.AthenaDeviations = athena.Deviations
	if r.opts.DryRun {
		tableSQL, err := spec.Table("<state>", cols)
		if err != nil {
			return err
		}
		r.res.SQL = []string{athena.RawTableDDL(rawTable, r.src.Loc.String(), "2000/01/01/00"), stateSQL, tableSQL}
		r.res.EstimatedScanBytes = scanEstimate + stateBytes
		return nil
	}
	if err := r.ensureRawTable(ctx, db, table+"_raw"); err != nil {
		return err
	}
	version := snapshot.NewVersionID(r.deps.Now())
	if version <= r.prevPtr.Version {
		version = r.prevPtr.Version + "+1"
	}
	vdir := snapshot.VersionPath(version)
	base := strings.TrimSuffix(r.store.String(), "/") + "/"
	runner := athena.Runner{API: r.deps.Athena, Clock: r.deps.Clock, WorkGroup: r.opts.Workgroup, Output: r.opts.AthenaOutput}
	if runner.Output == "" {
		runner.Output = base + "_athena_results/"
	}
	exec := func(sql string) error {
		st, err := runner.Exec(ctx, sql)
		r.res.BytesRead += st.Scanned
		return err
	}
	stateTable := db + "." + athenaTableName(table, "state", version)
	if err := exec("CREATE TABLE " + stateTable + " WITH (format = 'PARQUET', write_compression = 'ZSTD', external_location = " +
		sqlQuote(base+vdir+AthenaStateDir) + ") AS\n" + stateSQL); err != nil {
		return err
	}
	tableSQL, err := spec.Table(stateTable, cols)
	if err != nil {
		return err
	}
	var values []*string
	if p := r.opts.PartitionBy; p != "" {
		rows, st, err := runner.Query(ctx, "SELECT DISTINCT "+`"`+p+`"`+" FROM ("+tableSQL+") t")
		r.res.BytesRead += st.Scanned
		if err != nil {
			return err
		}
		for _, row := range rows {
			values = append(values, row[0])
		}
	}
	dataTable := db + "." + athenaTableName(table, "v", version)
	for _, stmt := range athena.Batches(athena.AthenaCTAS(dataTable, base+vdir+snapshot.DataDir, r.opts.PartitionBy), dataTable, tableSQL, r.opts.PartitionBy, values, athena.MaxPartitionsPerStatement) {
		if err := exec(stmt); err != nil {
			return err
		}
	}
	counts, st, err := runner.Query(ctx, "SELECT count_if(op = 'upsert'), count_if(op = 'delete'), count(*) FROM ("+
		"SELECT op, row_number() OVER (PARTITION BY "+keyList(len(r.opts.Key))+" ORDER BY pos0 DESC, pos1 DESC, pos2 DESC, pos3 DESC, src DESC, ord DESC) AS rn FROM "+stateTable+
		" WHERE op <> 'truncate') s WHERE rn = 1")
	r.res.BytesRead += st.Scanned
	if err != nil {
		return err
	}
	fmt.Sscan(aws.ToString(counts[0][0]), &r.res.LiveKeys)
	fmt.Sscan(aws.ToString(counts[0][1]), &r.res.DeletedKeys)
	r.res.ObjectsRead = len(pending)
	files, err := r.listFiles(ctx, vdir)
	if err != nil {
		return err
	}
	consumed := append([]string{}, r.prev.Consumed...)
	if !r.incremental() {
		consumed = nil
	}
	for _, p := range pending {
		consumed = append(consumed, p.Key)
	}
	sort.Strings(consumed)
	m := &snapshot.Manifest{FormatVersion: 1, Version: version, PreviousVersion: r.prevPtr.Version, CreatedAt: r.deps.Now().UTC(),
		Source: r.src.Loc.String(), Format: r.opts.Format, Key: r.opts.Key, PartitionBy: r.opts.PartitionBy, RowCount: r.res.LiveKeys,
		Files: files, Schema: r.prev.Schema, ColumnTypes: r.prev.ColumnTypes, State: AthenaStateDir, StateKeys: r.res.LiveKeys + r.res.DeletedKeys,
		Tombstones: r.res.DeletedKeys, Full: !incremental, NewObjects: len(pending), Consumed: consumed}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := r.store.Put(ctx, vdir+snapshot.ManifestName, mb); err != nil {
		return fmt.Errorf("publish manifest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ptr := snapshot.Pointer{Version: version, Manifest: vdir + snapshot.ManifestName, Data: vdir + snapshot.DataDir, UpdatedAt: r.deps.Now().UTC()}
	pb, _ := json.MarshalIndent(ptr, "", "  ")
	if err := r.store.Put(ctx, snapshot.CurrentName, pb); err != nil {
		return fmt.Errorf("switch %s to %s: %w", snapshot.CurrentName, version, err)
	}
	r.res.Version, r.res.DataPath, r.res.OutputFiles, r.res.Columns = version, r.dataPath(version), files, r.prev.Schema
	for _, f := range files {
		r.res.OutputBytes += f.Bytes
	}
	r.published = m
	// The CTAS data table was a vehicle: --glue-table is what readers use.
	// The previous state table is superseded by this run's.
	r.dropTable(ctx, db, athenaTableName(table, "v", version))
	if prevState != "" {
		r.dropTable(ctx, db, athenaTableName(table, "state", r.prev.Version))
	}
	return nil
}

func keyList(n int) string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("k%d", i)
	}
	return strings.Join(k, ", ")
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// athenaTableName is a Glue-legal name for a per-version table.
func athenaTableName(table, kind, version string) string {
	v := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(version, "_"))
	return table + "_" + kind + "_" + v
}

func (r *run) dropTable(ctx context.Context, db, name string) {
	if _, err := r.deps.Glue.DeleteTable(ctx, &glue.DeleteTableInput{DatabaseName: aws.String(db), Name: aws.String(name)}); err != nil {
		r.log().Warn("drop work table", "table", db+"."+name, "err", err)
	}
}

// ensureRawTable creates the raw increments' table when it is missing (the
// Glue form of athena.RawTableDDL).
func (r *run) ensureRawTable(ctx context.Context, db, name string) error {
	_, err := r.deps.Glue.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(name)})
	if err == nil {
		return nil
	}
	if apiCode(err) != "EntityNotFoundException" {
		return fmt.Errorf("glue get table %s.%s: %w", db, name, err)
	}
	loc := strings.TrimSuffix(r.src.Loc.String(), "/") + "/"
	_, err = r.deps.Glue.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(db), TableInput: &gluetypes.TableInput{
		Name: aws.String(name), TableType: aws.String("EXTERNAL_TABLE"),
		PartitionKeys: []gluetypes.Column{{Name: aws.String("dt"), Type: aws.String("string")}},
		Parameters: map[string]string{"EXTERNAL": "TRUE", "projection.enabled": "true", "projection.dt.type": "date",
			"projection.dt.format": "yyyy/MM/dd/HH", "projection.dt.range": "2000/01/01/00,NOW", "projection.dt.interval": "1",
			"projection.dt.interval.unit": "HOURS", "storage.location.template": loc + "${dt}/", glueParamDest: r.store.String()},
		StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String(loc),
			Columns:      []gluetypes.Column{{Name: aws.String("line"), Type: aws.String("string")}},
			InputFormat:  aws.String("org.apache.hadoop.mapred.TextInputFormat"),
			OutputFormat: aws.String("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
			SerdeInfo: &gluetypes.SerDeInfo{SerializationLibrary: aws.String("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
				Parameters: map[string]string{"field.delim": "\u0001", "serialization.format": "\u0001"}}},
	}})
	if err != nil && apiCode(err) != "AlreadyExistsException" {
		return fmt.Errorf("glue create table %s.%s: %w", db, name, err)
	}
	return nil
}

// prefixBytes sums the sizes of the destination's objects under rel.
func (r *run) prefixBytes(ctx context.Context, rel string) (int64, error) {
	var n int64
	p := s3.NewListObjectsV2Paginator(r.deps.S3, &s3.ListObjectsV2Input{Bucket: aws.String(r.dstLoc.Bucket), Prefix: aws.String(slashed(r.dstLoc.Prefix) + rel)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", rel, err)
		}
		for _, o := range page.Contents {
			n += aws.ToInt64(o.Size)
		}
	}
	return n, nil
}

// listFiles lists a version's data files (paths relative to the version).
func (r *run) listFiles(ctx context.Context, vdir string) ([]snapshot.OutFile, error) {
	var out []snapshot.OutFile
	prefix := slashed(r.dstLoc.Prefix) + vdir
	p := s3.NewListObjectsV2Paginator(r.deps.S3, &s3.ListObjectsV2Input{Bucket: aws.String(r.dstLoc.Bucket), Prefix: aws.String(prefix + snapshot.DataDir)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", vdir, err)
		}
		for _, o := range page.Contents {
			out = append(out, snapshot.OutFile{Path: strings.TrimPrefix(aws.ToString(o.Key), prefix), Bytes: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}
