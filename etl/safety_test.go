package etl

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A quarantine that cannot be written fails the run: the bad records it
// should hold would otherwise be dropped silently while the run exits 0.
func TestUnwritableQuarantineFailsTheRun(t *testing.T) {
	t.Run("directory destination", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "t")
		src := t.TempDir()
		writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
		first := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
		// _quarantine cannot become a directory.
		if err := os.WriteFile(filepath.Join(dest, "_quarantine"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		writeObjects(t, src, object{key: "2", sep: "\n", recs: []string{"{not json", ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2))}})
		_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 5})
		if err == nil || !strings.Contains(err.Error(), "quarantine") {
			t.Fatalf("err = %v, want the run to fail on the quarantine", err)
		}
		if got := currentVersion(t, dest); got != first.Version {
			t.Fatalf("current = %s, want the previous version %s to stay", got, first.Version)
		}
	})
	t.Run("single-file destination", func(t *testing.T) {
		dir := t.TempDir()
		dest := filepath.Join(dir, "o.parquet")
		if err := os.Mkdir(dest+".quarantine.ndjson", 0o700); err != nil {
			t.Fatal(err)
		}
		src := badSource(t)
		_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 5})
		if err == nil || !strings.Contains(err.Error(), "quarantine") {
			t.Fatalf("err = %v, want the run to fail on the quarantine", err)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Fatal("the output was published")
		}
	})
}

// The quarantine's path is predictable: a symlink planted there is never
// followed (the run fails instead, and the link's target is untouched).
func TestQuarantineDoesNotFollowAPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "o.parquet")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, dest+".quarantine.ndjson"); err != nil {
		t.Fatal(err)
	}
	_, err := Rebuild(t.Context(), Deps{}, Options{Source: badSource(t), Format: "dynamodb", Dest: dest, MaxBadRecords: 5})
	if err == nil || !strings.Contains(err.Error(), "quarantine") {
		t.Fatalf("err = %v, want a quarantine error", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
}

// Parquet, state, manifest and quarantine files hold full rows: they are
// created 0600 in 0700 directories whatever the umask, as is the single
// file form.
func TestOutputFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	src := badSource(t)
	dest := filepath.Join(t.TempDir(), "t")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 5, PartitionBy: "pk"})
	file := filepath.Join(t.TempDir(), "o.parquet")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: file, MaxBadRecords: 5})
	checked := 0
	check := func(p string, fi fs.FileInfo) {
		want := fs.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		checked++
	}
	filepath.Walk(dest, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		check(p, fi)
		return nil
	})
	for _, p := range []string{file, file + ".quarantine.ndjson"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		check(p, fi)
	}
	if checked < 10 {
		t.Fatalf("only %d paths checked", checked)
	}
}

func currentVersion(t *testing.T, dest string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dest, "_current"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Version string `json:"version"`
	}
	if err := jsonUnmarshal(string(b), &p); err != nil {
		t.Fatal(err)
	}
	return p.Version
}
