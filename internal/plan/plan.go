// Package plan is opsctl's one plan/diff/apply engine. A mutating command
// reads the live state, builds an ordered list of Steps (each a Change and
// the write that applies it), and hands them to Execute, which applies them
// in order, stops at the first failure, and reports every step in the same
// words: planned, applied, unchanged, failed or skipped. Render prints the
// result the same way for every command (a table, or JSON through the
// Change struct's tags).
package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// Actions of a change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionNone   = "none"
)

// Statuses of a change.
const (
	StatusPlanned   = "planned"   // dry run: would be applied
	StatusApplied   = "applied"   // written
	StatusUnchanged = "unchanged" // already as desired: no call made
	StatusFailed    = "failed"    // the write failed (Error says why)
	StatusSkipped   = "skipped"   // not attempted: an earlier step failed, or the run was interrupted
)

// FieldDiff is one field that differs between the live and desired state.
type FieldDiff struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

func (d FieldDiff) String() string { return fmt.Sprintf("%s: %s → %s", d.Field, d.Old, d.New) }

// Change is one resource in a plan and what happened to it.
type Change struct {
	Resource string      `json:"resource"`
	Name     string      `json:"name"`
	Action   string      `json:"action"`
	Diff     []FieldDiff `json:"diff,omitempty"`
	// Document is a generated document the change writes (a policy, a
	// buildspec), shown by --dry-run; omitted from tables unless wide.
	Document string `json:"document,omitempty"`
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
}

// Changed reports whether the change writes anything.
func (c Change) Changed() bool { return c.Action != ActionNone && c.Action != "" }

// Summary renders the diff as "field: old → new; ...".
func (c Change) Summary() string {
	parts := make([]string, len(c.Diff))
	for i, d := range c.Diff {
		parts[i] = d.String()
	}
	return strings.Join(parts, "; ")
}

// Step is a Change and the write that applies it (nil when nothing differs).
type Step struct {
	Change
	Apply func(ctx context.Context) error
}

// New builds a step for any action, with the fields it sets or changes (a
// create that says what it will set, a delete that says why).
func New(resource, name, action string, diff []FieldDiff, apply func(ctx context.Context) error) Step {
	return Step{Change: Change{Resource: resource, Name: name, Action: action, Diff: diff}, Apply: apply}
}

// Unchanged is a step for a resource already as desired.
func Unchanged(resource, name string) Step {
	return Step{Change: Change{Resource: resource, Name: name, Action: ActionNone}}
}

// Create, Update and Delete build steps with their write.
func Create(resource, name string, apply func(ctx context.Context) error) Step {
	return Step{Change: Change{Resource: resource, Name: name, Action: ActionCreate}, Apply: apply}
}

func Update(resource, name string, diff []FieldDiff, apply func(ctx context.Context) error) Step {
	return Step{Change: Change{Resource: resource, Name: name, Action: ActionUpdate, Diff: diff}, Apply: apply}
}

func Delete(resource, name string, apply func(ctx context.Context) error) Step {
	return Step{Change: Change{Resource: resource, Name: name, Action: ActionDelete}, Apply: apply}
}

// WithDocument attaches a generated document to the step's change.
func (s Step) WithDocument(doc string) Step { s.Document = doc; return s }

// Options tune Execute.
type Options struct {
	// DryRun applies nothing: every change that would write is "planned".
	DryRun bool
	// Blocked, when set, is an earlier failure these steps depend on: every
	// write is skipped and Execute returns it.
	Blocked error
	// OnChange is told of each step after it ran (applied or failed), for
	// progress lines on a terminal.
	OnChange func(Change)
	// Log, when set, gets one Info line per applied step.
	Log *slog.Logger
}

// Execute applies steps in order. In a dry run nothing is written. After the
// first failure the remaining writes are skipped (later steps depend on
// earlier ones), so what exists is always a prefix of the plan that a re-run
// completes. It returns every change with its status and the first error.
func Execute(ctx context.Context, steps []Step, o Options) ([]Change, error) {
	out := make([]Change, 0, len(steps))
	firstErr := o.Blocked
	for _, s := range steps {
		c := s.Change
		switch {
		case !c.Changed():
			c.Action = ActionNone
			c.Status = StatusUnchanged
		case o.DryRun:
			c.Status = StatusPlanned
		case firstErr != nil:
			c.Status = StatusSkipped
		case s.Apply == nil:
			c.Status = StatusFailed
			c.Error = "no write for this change (opsctl bug)"
			firstErr = fmt.Errorf("%s %s: %s", c.Action, c.Resource+" "+c.Name, c.Error)
		default:
			if err := ctx.Err(); err != nil {
				firstErr = err
				c.Status = StatusSkipped
				break
			}
			if err := s.Apply(ctx); err != nil {
				c.Status = StatusFailed
				c.Error = err.Error()
				firstErr = err
			} else {
				c.Status = StatusApplied
				if o.Log != nil {
					o.Log.Info("applied", "resource", c.Resource, "name", c.Name, "action", c.Action)
				}
			}
			if o.OnChange != nil {
				o.OnChange(c)
			}
		}
		out = append(out, c)
	}
	return out, firstErr
}

// Counts tallies changes by status.
type Counts struct {
	Planned   int `json:"planned"`
	Applied   int `json:"applied"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

// Count tallies cs.
func Count(cs []Change) Counts {
	var n Counts
	for _, c := range cs {
		switch c.Status {
		case StatusPlanned:
			n.Planned++
		case StatusApplied:
			n.Applied++
		case StatusUnchanged:
			n.Unchanged++
		case StatusFailed:
			n.Failed++
		case StatusSkipped:
			n.Skipped++
		}
	}
	return n
}

// Writes returns how many changes write (or would write) something.
func Writes(cs []Change) int {
	n := 0
	for _, c := range cs {
		if c.Changed() {
			n++
		}
	}
	return n
}

// Partial reports whether some writes were applied and a later one failed or
// was skipped: the exit code for that is 3 (partial), and a re-run completes.
func Partial(cs []Change) bool {
	n := Count(cs)
	return n.Applied > 0 && (n.Failed > 0 || n.Skipped > 0)
}

// Differ accumulates field differences between live and desired values.
type Differ []FieldDiff

// Str records field when old != new.
func (d *Differ) Str(field, old, new string) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: Show(old), New: Show(new)})
	}
}

// Int records field when old != new.
func (d *Differ) Int(field string, old, new int64) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: strconv.FormatInt(old, 10), New: strconv.FormatInt(new, 10)})
	}
}

// Num records field when old != new.
func (d *Differ) Num(field string, old, new float64) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: strconv.FormatFloat(old, 'f', -1, 64), New: strconv.FormatFloat(new, 'f', -1, 64)})
	}
}

// Map records field when the two string maps differ, as sorted k=v lists.
func (d *Differ) Map(field string, old, new map[string]string) {
	d.Set(field, KV(old), KV(new))
}

// KV lists a map as k=v strings (unordered; Set sorts them).
func KV(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// Bool records field when old != new.
func (d *Differ) Bool(field string, old, new bool) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: strconv.FormatBool(old), New: strconv.FormatBool(new)})
	}
}

// Set records field when the two string sets differ (order ignored).
func (d *Differ) Set(field string, old, new []string) {
	a, b := sorted(old), sorted(new)
	if strings.Join(a, "\x00") != strings.Join(b, "\x00") {
		*d = append(*d, FieldDiff{Field: field, Old: Show(strings.Join(a, ",")), New: Show(strings.Join(b, ","))})
	}
}

// JSON records field when the two JSON documents differ semantically
// (whitespace and member order ignored). Unparseable documents compare as text.
func (d *Differ) JSON(field, old, new string) {
	if !SameJSON(old, new) {
		*d = append(*d, FieldDiff{Field: field, Old: Show(compact(old)), New: Show(compact(new))})
	}
}

// SameJSON reports whether a and b are the same JSON value.
func SameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

func compact(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// Show renders an empty value as "(none)" in diffs.
func Show(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Headers are the columns of a plan table.
var Headers = []string{"Resource", "Name", "Action", "Status", "Diff"}

// Rows renders changes as table rows. Narrow tables cut long diffs to width
// characters (0: no cut); --wide and JSON keep everything.
func Rows(cs []Change, width int) [][]string {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		diff := c.Summary()
		if c.Error != "" {
			if diff != "" {
				diff += "; "
			}
			diff += "error: " + c.Error
		}
		if width > 0 && len([]rune(diff)) > width {
			diff = string([]rune(diff)[:width-1]) + "…"
		}
		rows = append(rows, []string{c.Resource, c.Name, c.Action, c.Status, diff})
	}
	return rows
}

// WriteDocuments prints each change's generated document under a heading
// (for --dry-run, so the policies can be reviewed before they are applied).
func WriteDocuments(w io.Writer, cs []Change) error {
	for _, c := range cs {
		if c.Document == "" {
			continue
		}
		if _, err := fmt.Fprintf(w, "\n# %s %s (%s)\n%s\n", c.Resource, c.Name, c.Action, strings.TrimRight(c.Document, "\n")); err != nil {
			return err
		}
	}
	return nil
}
