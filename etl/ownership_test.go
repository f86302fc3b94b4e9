package etl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opsctl/opsctl/etl/snapshot"
	"github.com/opsctl/opsctl/internal/opserr"
)

// A destination that holds files opsctl did not write is refused (exit 2)
// before anything is written there: pruning would delete them.
func TestNonEmptyForeignDestinationIsRefused(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
	dest := t.TempDir()
	mine := filepath.Join(dest, "versions", "2024", "report.csv")
	if err := os.MkdirAll(filepath.Dir(mine), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("the user's"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{false, true} {
		_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, DryRun: dry})
		if !errors.Is(err, snapshot.ErrForeignDestination) || opserr.ExitCode(err) != 2 {
			t.Fatalf("dry run %v: err = %v, want a refusal (exit 2)", dry, err)
		}
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != 1 || entries[0].Name() != "versions" {
		t.Fatalf("the refused run wrote to the destination: %v", entries)
	}
	if b, _ := os.ReadFile(mine); string(b) != "the user's" {
		t.Fatal("the user's file changed")
	}
}

// In opsctl's own destination, pruning deletes only the versions of its
// chain (and leftovers of its killed runs), never a folder someone added
// under versions/ later. A destination made before the marker (it has a
// _current pointer) is accepted and marked.
func TestPruneDeletesOnlyOpsctlsVersions(t *testing.T) {
	src := t.TempDir()
	dest := filepath.Join(t.TempDir(), "t")
	o := Options{Source: src, Format: "dynamodb", Dest: dest, Keep: 1}
	writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
	rebuild(t, o)
	if _, err := os.Stat(filepath.Join(dest, snapshot.MarkerName)); err != nil {
		t.Fatalf("no marker after the first run: %v", err)
	}
	added := filepath.Join(dest, "versions", "archive-2025", "data.parquet")
	if err := os.MkdirAll(filepath.Dir(added), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(added, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An older destination without the marker is still opsctl's.
	if err := os.Remove(filepath.Join(dest, snapshot.MarkerName)); err != nil {
		t.Fatal(err)
	}
	var pruned []string
	for i, k := range []string{"2", "3"} {
		writeObjects(t, src, object{key: k, sep: "\n", recs: []string{ddbEv(k, "INSERT", int64(10+i), "b", ddbImg("b", 2))}})
		res := rebuild(t, o)
		pruned = append(pruned, res.PrunedVersions...)
	}
	if len(pruned) != 2 {
		t.Fatalf("pruned %v, want the two older versions of the chain", pruned)
	}
	if b, err := os.ReadFile(added); err != nil || string(b) != "kept" {
		t.Fatalf("pruning deleted a folder opsctl did not write: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, snapshot.MarkerName)); err != nil {
		t.Fatalf("the older destination was not marked: %v", err)
	}
}
