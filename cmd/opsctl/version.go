package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Set with -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// buildVersion reports the ldflags values, falling back to the module and VCS
// data Go embeds (go install ...@vX.Y.Z fills these in).
func buildVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && v.Commit == "" {
				v.Commit = s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" && v.Commit != "" {
				v.Commit += "-dirty"
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func versionCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print opsctl's version, commit and Go version",
		Description: "Prints the build's version and commit (set at build time, or read from Go's build info).\n\nExample:\n   opsctl version --output json",
		Action: func(c *cli.Context) error {
			v := buildVersion()
			return st.printer.Emit(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "opsctl %s (commit %s, %s, %s)\n", v.Version, v.Commit, v.GoVersion, v.Platform)
				return err
			})
		},
	}
}
