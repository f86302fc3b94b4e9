package codebuildemu

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// buildspec is the part of the buildspec reference
// (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html)
// the emulation interprets.
type buildspec struct {
	Version any `yaml:"version"`
	Env     struct {
		Variables         map[string]any `yaml:"variables"`
		ExportedVariables []string       `yaml:"exported-variables"`
	} `yaml:"env"`
	Phases map[string]struct {
		Commands []string `yaml:"commands"`
		Finally  []string `yaml:"finally"`
	} `yaml:"phases"`
	Artifacts struct {
		Files         []string `yaml:"files"`
		BaseDirectory string   `yaml:"base-directory"`
		DiscardPaths  any      `yaml:"discard-paths"`
	} `yaml:"artifacts"`
}

// specPhases are the buildspec's phases in the order CodeBuild runs them.
var specPhases = []struct{ key, typ string }{
	{"install", "INSTALL"}, {"pre_build", "PRE_BUILD"}, {"build", "BUILD"}, {"post_build", "POST_BUILD"},
}

// parseBuildspec parses a buildspec; the error is the YAML_FILE_ERROR
// message CodeBuild reports in DOWNLOAD_SOURCE.
func parseBuildspec(text string) (*buildspec, error) {
	var b buildspec
	if err := yaml.Unmarshal([]byte(text), &b); err != nil {
		return nil, fmt.Errorf("Error parsing YAML: %v", err)
	}
	v := strings.TrimSpace(fmt.Sprint(b.Version))
	if b.Version == nil {
		return nil, fmt.Errorf("missing version in buildspec")
	}
	if v != "0.2" && v != "0.1" {
		return nil, fmt.Errorf("invalid buildspec version %q: expected 0.1 or 0.2", v)
	}
	for k := range b.Phases {
		ok := false
		for _, p := range specPhases {
			ok = ok || p.key == k
		}
		if !ok {
			return nil, fmt.Errorf("Unknown phase name %q in buildspec", k)
		}
	}
	return &b, nil
}

// artifactFiles selects the files artifacts.files names (globs; "**/*"
// matches everything) relative to base-directory.
func artifactFiles(spec *buildspec, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	base := strings.Trim(spec.Artifacts.BaseDirectory, "/")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rel := strings.TrimPrefix(n, "./")
		if base != "" {
			if !strings.HasPrefix(rel, base+"/") {
				continue
			}
			rel = strings.TrimPrefix(rel, base+"/")
		}
		for _, pat := range spec.Artifacts.Files {
			pat = strings.TrimPrefix(pat, "./")
			ok, _ := path.Match(pat, rel)
			if ok || pat == "**/*" || pat == "**" || pat == "*" && !strings.Contains(rel, "/") {
				out[rel] = files[n]
				break
			}
		}
	}
	return out
}
