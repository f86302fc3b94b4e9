package etl

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestProfileSource runs a rebuild of $ETL_PROFILE_SOURCE (for go test
// -cpuprofile); skipped unless set.
func TestProfileSource(t *testing.T) {
	src := os.Getenv("ETL_PROFILE_SOURCE")
	if src == "" {
		t.Skip("ETL_PROFILE_SOURCE not set")
	}
	format := os.Getenv("ETL_PROFILE_FORMAT")
	if format == "" {
		format = "dynamodb"
	}
	opts := Options{Source: src, Format: format, Dest: filepath.Join(t.TempDir(), "out.parquet")}
	if format == "debezium" {
		opts.Key = []string{"pk"}
	}
	res, err := Rebuild(context.Background(), Deps{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records, %d live, %.2fs", res.Records, res.LiveKeys, res.DurationSeconds)
}
