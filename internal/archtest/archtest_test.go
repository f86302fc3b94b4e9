// Package archtest checks the layering rules the code relies on.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

const module = "github.com/opsctl/opsctl"

// Only cmd/opsctl knows the CLI library; domain packages never parse flags.
func TestOnlyCmdImportsCLI(t *testing.T) {
	for _, p := range list(t, module+"/...") {
		if p.ImportPath == module+"/cmd/opsctl" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/urfave/cli") {
				t.Errorf("%s imports %s: only cmd/opsctl may", p.ImportPath, imp)
			}
		}
	}
}

// The shipped binary never contains the test endpoint.
func TestBinaryDoesNotImportLocalAWS(t *testing.T) {
	for _, p := range list(t, module+"/cmd/opsctl") {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/internal/localaws") {
				t.Errorf("cmd/opsctl depends on %s", d)
			}
		}
	}
}
