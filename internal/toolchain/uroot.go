package toolchain

// URoot is the userland of the CI/CD step image (internal/tekton.StepImage):
// sh, the wrapper's own shell on mvdan.cc/sh's interpreter, and u-root's
// core commands, all static, in one dir (Paths.URoot). Only built when
// asked for by name.
const URoot = "uroot"

// urootCommands are the u-root commands the step image puts into /bin:
// what pipeline scripts use to move files and look at output (echo, test,
// printf, pwd, true and false are built into sh). u-root v0.15.0, not
// v0.14.0: v0.14.0's chmod refuses `chmod +x`, which Tekton's
// place-scripts runs on every script step.
var urootCommands = []string{
	"base64", "basename", "cat", "chmod", "cmp", "cp", "date", "dirname", "find", "grep", "gzip",
	"head", "id", "ln", "ls", "mkdir", "mktemp", "mv", "printenv", "readlink", "realpath", "rm",
	"seq", "shasum", "sleep", "sort", "tail", "tar", "tee", "touch", "tr", "uname", "uniq", "wc",
	"which", "xargs",
}

// urootShell is the binary of the wrapper's own main package (its module
// path ends in /sh).
const urootShell = "sh"

var uroot = tool{
	name:          URoot,
	versionModule: "github.com/u-root/u-root",
	packages:      urootPackages(),
	binaries:      append([]string{urootShell}, urootCommands...),
	// Static (the image has no libc), without build paths, stripped: 37
	// binaries of ~2 MB each.
	flags:        []string{"-trimpath"},
	ldflags:      func(string) string { return "-s -w" },
	env:          []string{"CGO_ENABLED=0"},
	coldEstimate: "~1 min cold",
	fill: func(p *Paths, dir string) error {
		p.URoot = dir
		return nil
	},
}

func urootPackages() []string {
	out := []string{"."}
	for _, c := range urootCommands {
		out = append(out, "github.com/u-root/u-root/cmds/core/"+c)
	}
	return out
}
