package toolchain

import (
	"context"
	"io"
	"os/exec"
	"time"
)

// LearnerCLIs are the command-line tools a learner's first journey uses
// besides kubectl: helm (Helm track), crane (pushing to the lab registry,
// Docker track), terraform or tofu (Terraform track) and tkn (CI/CD
// track). Empty when neither found nor built.
type LearnerCLIs struct {
	Helm, Crane, Terraform, Tkn string
}

// lookPath is exec.LookPath; tests replace it to pretend a CLI is missing.
var lookPath = exec.LookPath

// EnsureLearnerCLIs uses each CLI from PATH where the machine has it, and
// builds (once, cached) the ones it lacks from the Go proxy: helm, crane,
// tkn, and OpenTofu's tofu where there is neither terraform nor tofu (Terraform
// itself cannot be built from the proxy: its go.mod replaces point at
// folders missing from the module download). Each CLI gets a Step. On
// error the CLIs that were found or built are still returned.
func EnsureLearnerCLIs(ctx context.Context, progress io.Writer) (LearnerCLIs, []Step, error) {
	var c LearnerCLIs
	var steps []Step
	var build []string
	for _, cli := range []struct {
		names []string
		dst   *string
		tool  string
	}{
		{[]string{"helm"}, &c.Helm, Helm},
		{[]string{"crane"}, &c.Crane, Crane},
		{[]string{"terraform", "tofu"}, &c.Terraform, OpenTofu},
		{[]string{"tkn"}, &c.Tkn, Tkn},
	} {
		start := time.Now()
		for _, n := range cli.names {
			if p, err := lookPath(n); err == nil {
				*cli.dst = p
				steps = append(steps, Step{Name: cli.names[0], How: "found " + p, Took: time.Since(start)})
				break
			}
		}
		if *cli.dst == "" {
			build = append(build, cli.tool)
		}
	}
	if len(build) == 0 {
		return c, steps, nil
	}
	p, r, err := EnsureReport(ctx, progress, build...)
	c.Helm = firstNonEmpty(c.Helm, p.Helm)
	c.Crane = firstNonEmpty(c.Crane, p.Crane)
	c.Terraform = firstNonEmpty(c.Terraform, p.Tofu)
	c.Tkn = firstNonEmpty(c.Tkn, p.Tkn)
	return c, append(steps, r.Steps...), err
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
