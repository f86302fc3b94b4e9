package etl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/opserr"
)

// chdir changes the working directory for one test (tests in this package
// do not run in parallel).
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

// Every one of these is refused with a usage error (exit 2) before the run
// reads or writes anything: the destination directory is never created.
func TestPathsAreValidatedBeforeAnyIO(t *testing.T) {
	root := t.TempDir()
	chdir(t, root)
	if err := os.MkdirAll("cdc", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("afile", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("dir.parquet", 0o700); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join(root, p) }
	tests := []struct {
		name        string
		source      string
		dest        string
		partitionBy string
		want        string
	}{
		{"relative dest inside absolute source", abs("cdc"), "cdc/out", "", "inside --source"},
		{"absolute dest inside relative source", "cdc", abs("cdc/out"), "", "inside --source"},
		{"dest inside source through ..", "cdc", "./x/../cdc/snap", "", "inside --source"},
		{"dest is the source", "cdc", abs("cdc"), "", "must not be --source"},
		{"source inside dest", "cdc", root, "", "current directory"},
		{"source is /", "/", "out", "", "--source /"},
		{"dest is /", "cdc", "/", "", "--dest /"},
		{"dest is .", "cdc", ".", "", "current directory"},
		{"dest is a file", "cdc", "afile", "", "not a directory"},
		{"dest is a device", "cdc", "/dev/null", "", "a device"},
		{"single-file dest is a directory", "cdc", "dir.parquet", "", "not a regular file"},
		{"single-file dest is a device", "cdc", "/dev/stdout.parquet", "", ""},
		{"s3 dest inside s3 source", "s3://b/cdc/", "s3://b/cdc/tables/t/", "", "inside --source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Source: tt.source, Format: "dynamodb", Dest: tt.dest, PartitionBy: tt.partitionBy}
			_, err := Rebuild(t.Context(), Deps{}, o)
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				if tt.want == "" && err != nil { // /dev/stdout.parquet may not exist: then it is a file to create
					return
				}
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if opserr.ExitCode(err) != 2 {
				t.Fatalf("exit code %d", opserr.ExitCode(err))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "cdc", "out")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused run created its destination: %v", err)
	}
}

// --partition-by naming a column no row has is a usage error (exit 2), not a
// snapshot with every row under __HIVE_DEFAULT_PARTITION__.
func TestPartitionByUnknownColumnIsAUsageError(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)),
		ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2)),
	}})
	dest := filepath.Join(t.TempDir(), "t")
	_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, PartitionBy: "contry"})
	if opserr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "contry") || !strings.Contains(err.Error(), "qty") {
		t.Fatalf("err = %v (exit %d), want a usage error naming the column and the known ones", err, opserr.ExitCode(err))
	}
	if _, err := os.Stat(filepath.Join(dest, "_current")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a snapshot was published: %v", err)
	}
}
