package plan

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExecuteStatuses(t *testing.T) {
	boom := errors.New("AccessDenied")
	var applied []string
	w := func(name string, err error) func(context.Context) error {
		return func(context.Context) error { applied = append(applied, name); return err }
	}
	steps := []Step{
		Unchanged("topic", "t"),
		Create("filter", "f", w("f", nil)),
		Update("alarm", "a", []FieldDiff{{Field: "threshold", Old: "1", New: "2"}}, w("a", boom)),
		Delete("old", "o", w("o", nil)),
	}
	tests := []struct {
		name    string
		opts    Options
		want    []string
		wantErr error
		writes  []string
	}{
		{"apply stops at first failure", Options{}, []string{StatusUnchanged, StatusApplied, StatusFailed, StatusSkipped}, boom, []string{"f", "a"}},
		{"dry run writes nothing", Options{DryRun: true}, []string{StatusUnchanged, StatusPlanned, StatusPlanned, StatusPlanned}, nil, nil},
		{"blocked skips every write", Options{Blocked: boom}, []string{StatusUnchanged, StatusSkipped, StatusSkipped, StatusSkipped}, boom, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			applied = nil
			cs, err := Execute(context.Background(), steps, tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for i, c := range cs {
				if c.Status != tt.want[i] {
					t.Fatalf("step %d: %s, want %s", i, c.Status, tt.want[i])
				}
			}
			if strings.Join(applied, ",") != strings.Join(tt.writes, ",") {
				t.Fatalf("writes %v, want %v", applied, tt.writes)
			}
		})
	}
}

func TestExecuteInterruptedSkips(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cs, err := Execute(ctx, []Step{Create("x", "y", func(context.Context) error { t.Fatal("called"); return nil })}, Options{})
	if !errors.Is(err, context.Canceled) || cs[0].Status != StatusSkipped {
		t.Fatalf("%v %+v", err, cs)
	}
}

func TestPartialAndCounts(t *testing.T) {
	cs := []Change{{Action: ActionCreate, Status: StatusApplied}, {Action: ActionCreate, Status: StatusFailed}, {Action: ActionNone, Status: StatusUnchanged}}
	if !Partial(cs) || Writes(cs) != 2 {
		t.Fatal("partial/writes")
	}
	if n := Count(cs); n.Applied != 1 || n.Failed != 1 || n.Unchanged != 1 {
		t.Fatalf("%+v", n)
	}
	if Partial(cs[1:]) {
		t.Fatal("nothing applied is not partial")
	}
}

func TestDiffer(t *testing.T) {
	var d Differ
	d.Str("a", "", "x")
	d.Str("same", "y", "y")
	d.Int("n", 1, 2)
	d.Set("s", []string{"b", "a"}, []string{"a", "b"})
	d.Set("s2", []string{"a"}, []string{"a", "c"})
	d.JSON("doc", `{"a":1, "b":[1,2]}`, `{"b":[1,2],"a":1}`)
	d.JSON("doc2", `{"a":1}`, `{"a":2}`)
	d.Bool("b", false, true)
	got := Change{Diff: d}.Summary()
	want := `a: (none) → x; n: 1 → 2; s2: a → a,c; doc2: {"a":1} → {"a":2}; b: false → true`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestRowsCutLongDiffs(t *testing.T) {
	cs := []Change{{Resource: "r", Name: "n", Action: ActionUpdate, Status: StatusFailed, Diff: []FieldDiff{{Field: "policy", Old: strings.Repeat("x", 100), New: "y"}}, Error: "denied"}}
	r := Rows(cs, 20)
	if got := []rune(r[0][4]); len(got) != 20 || got[19] != '…' {
		t.Fatalf("%q", r[0][4])
	}
	if r := Rows(cs, 0); !strings.HasSuffix(r[0][4], "error: denied") {
		t.Fatalf("%q", r[0][4])
	}
}

// Numbers print as people write them (no exponent), maps as sorted k=v
// lists, and New carries the diff of a create or delete.
func TestDifferNumbersMapsAndNew(t *testing.T) {
	var d Differ
	d.Num("threshold_ms", 900000, 1200000)
	d.Num("ratio", 0.5, 0.5)
	d.Map("dimensions", map[string]string{"b": "2", "a": "1"}, map[string]string{"a": "1", "b": "2"})
	d.Map("tags", nil, map[string]string{"k": "v"})
	got := New("alarm", "x", ActionCreate, d, nil).Summary()
	want := "threshold_ms: 900000 → 1200000; tags: (none) → k=v"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
