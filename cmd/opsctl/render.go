package main

import (
	"io"

	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

// emitThen prints a result (one JSON document, or the table), then returns
// the command's error: a partial or failed apply prints what happened before
// exiting non-zero.
func emitThen(st *state, v any, table func(w io.Writer) error, err error) error {
	if perr := st.printer.Emit(v, table); perr != nil && err == nil {
		return perr
	}
	return err
}

// writeChanges renders a plan's changes as the one plan table every mutating
// command prints: resource, name, action, status (planned, applied,
// unchanged, failed, skipped) and the field-by-field diff. JSON output
// carries the same plan.Change values.
func writeChanges(w io.Writer, cs []plan.Change) error {
	return output.WriteTable(w, plan.Headers, plan.Rows(cs, 0))
}

// progressChange logs each change as the plan engine applies it.
func progressChange(st *state) func(plan.Change) {
	return func(c plan.Change) {
		st.log.Debug("applied", "resource", c.Resource, "name", c.Name, "action", c.Action, "status", c.Status)
	}
}
