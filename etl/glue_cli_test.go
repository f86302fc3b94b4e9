package etl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// TestBinaryGlueTable: the CLI creates the database and table, reports the
// Glue changes in the JSON run report, and rejects a bad DB.TABLE with exit 2
// before any AWS call.
func TestBinaryGlueTable(t *testing.T) {
	e := startGlue(t)
	env := localawstest.Env(t, e.srv)
	putObject(t, e.s3, "lake", "cdc/o/2026/11/24/13/a", []byte(ddbEv("1", "INSERT", 1000, "a", ddbImg("a", 1))+"\n"))
	args := []string{"etl", "rebuild", "--source", "s3://lake/cdc/o/", "--format", "dynamodb", "--key", "pk", "--dest", "s3://tables/o/"}
	r := localawstest.Run(t, env, append(args, "--glue-table", "lake.o", "--glue-database-create", "-o", "json")...)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var res Result
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || len(res.Glue) != 2 || res.Glue[0].Status != "applied" || res.Glue[1].Status != "applied" {
		t.Fatalf("report %s (%v)", r.Stdout, err)
	}
	// --engine athena --dry-run prints the SQL and the scan estimate.
	putObject(t, e.s3, "lake", "cdc/o/2026/11/24/14/b", []byte(ddbEv("2", "INSERT", 2000, "b", ddbImg("b", 2))+"\n"))
	r = localawstest.Run(t, env, append(args, "--glue-table", "lake.o", "--engine", "athena", "--dry-run")...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "row_number() OVER") || !strings.Contains(r.Stdout, "Athena would scan about") {
		t.Fatalf("athena dry run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	e.srv.ResetCalls()
	for _, bad := range [][]string{{"--glue-table", "my-lake.o"}, {"--engine", "athena"}, {"--engine", "spark"}} {
		r = localawstest.Run(t, env, append(args, bad...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, bad[0]) {
			t.Errorf("%v: exit %d, want 2\n%s", bad, r.Code, r.Stderr)
		}
	}
	emutest.WantNoWrites(t, e.srv, "")
	if n := len(e.srv.Calls()); n != 0 {
		t.Fatalf("a usage error made %d calls", n)
	}
}
