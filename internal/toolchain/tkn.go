package toolchain

import "path/filepath"

// Tkn is Tekton's CLI, for learners on the CI/CD track: start
// pipelines, list runs, read a run's logs. Only built when asked for by
// name.
const Tkn = "tkn"

var tkn = tool{
	name:          Tkn,
	versionModule: "github.com/tektoncd/cli",
	packages:      []string{"github.com/tektoncd/cli/cmd/tkn"},
	binaries:      []string{"tkn"},
	ldflags:       tknVersionLDFlags,
	coldEstimate:  "~4 min cold",
	fill: func(p *Paths, dir string) error {
		p.Tkn = filepath.Join(dir, "tkn")
		return nil
	},
}

// tknVersionLDFlags stamps the version as the cli's Makefile does
// (unstamped, tkn version says "dev"), drops `tkn version --check`, which
// asks GitHub for the latest release (the labs are offline), and strips
// the binary (131 MB unstripped).
func tknVersionLDFlags(version string) string {
	const pkg = "github.com/tektoncd/cli/pkg/cmd/version"
	return "-s -w -X " + pkg + ".clientVersion=" + version + " -X " + pkg + ".skipCheckFlag=true"
}
