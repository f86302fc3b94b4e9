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
	args := []string{"etl", "rebuild", "--source", "s3://lake/cdc/o/", "--format", "dynamodb", "--dest", "s3://tables/o/"}
	r := localawstest.Run(t, env, append(args, "--glue-table", "lake.o", "--glue-database-create", "-o", "json")...)
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var res Result
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || len(res.Glue) != 2 || res.Glue[0].Status != "applied" || res.Glue[1].Status != "applied" {
		t.Fatalf("report %s (%v)", r.Stdout, err)
	}
	e.srv.ResetCalls()
	for _, bad := range []string{"o", "lake.o.x", "my-lake.o"} {
		r = localawstest.Run(t, env, append(args, "--glue-table", bad)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "--glue-table") {
			t.Errorf("--glue-table %s: exit %d, want 2\n%s", bad, r.Code, r.Stderr)
		}
	}
	emutest.WantNoWrites(t, e.srv, "")
	if n := len(e.srv.Calls()); n != 0 {
		t.Fatalf("a usage error made %d calls", n)
	}
}
