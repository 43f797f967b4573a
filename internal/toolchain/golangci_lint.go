package toolchain

import (
	"path/filepath"
	"strings"
)

// golangciLint builds golangci-lint for make lint (config: .golangci.yml).
// The version is the one hack/tools/golangci-lint/go.mod requires.
var golangciLint = tool{
	name:          GolangciLint,
	versionModule: "github.com/golangci/golangci-lint/v2",
	packages:      []string{"github.com/golangci/golangci-lint/v2/cmd/golangci-lint"},
	binaries:      []string{"golangci-lint"},
	ldflags:       golangciLintVersionLDFlags,
	coldEstimate:  "~4 min cold",
	fill: func(p *Paths, dir string) error {
		p.GolangciLint = filepath.Join(dir, "golangci-lint")
		return nil
	},
}

// golangciLintVersionLDFlags stamps the version as goreleaser does: built
// from a wrapper module, golangci-lint would otherwise report the wrapper's
// "(devel)". A non-empty date makes it skip reading the build info.
func golangciLintVersionLDFlags(version string) string {
	return "-X main.version=" + strings.TrimPrefix(version, "v") + " -X main.commit=module-proxy -X main.date=unknown"
}
