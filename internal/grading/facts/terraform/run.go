package terraform

import (
	"context"
	"fmt"
	"io"
)

// RunConfig is one grading run, as the runner subcommand sees it. Every
// path is one the runner can read (inside the sandbox, when there is one).
type RunConfig struct {
	// Namespace is the lab namespace: the backend's namespace, and the only
	// one terraform_remote_state may read.
	Namespace string
	// Exercise names the exercise; informational.
	Exercise string
	// SubmissionDir holds the submitted files, flat (a mounted ConfigMap's
	// ..data links are followed, staying inside the dir).
	SubmissionDir string
	// Kubeconfig is the lab kubeconfig: the learner's lab-scoped token.
	Kubeconfig string
	// WorkDir is a writable scratch dir, empty or missing.
	WorkDir string
	// Mirror is the filesystem_mirror dir (toolchain.Paths.TerraformProviderMirror).
	Mirror string
	// Terraform is the terraform binary.
	Terraform string
	Timeouts  Timeouts
	// SkipPrecheck runs terraform even when the static pre-check refuses
	// the configuration. Tests use it to show that the sandbox alone holds.
	SkipPrecheck bool
	// Sandbox is reported as runner.sandbox.
	Sandbox string
	// Trace, if set, receives each step's duration.
	Trace io.Writer
}

// Run grades one submission and returns its facts. Problems of the
// learner's configuration are facts; the error is only for the runner's own
// failures (unreadable submission, unwritable work dir, no terraform).
func Run(ctx context.Context, cfg RunConfig) (map[string]any, error) {
	cfg.Timeouts = cfg.Timeouts.withDefaults()
	r := &run{cfg: cfg, facts: emptyFacts()}
	r.facts[FactRunner] = map[string]any{"sandbox": cfg.Sandbox}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	r.grade(ctx)
	return r.facts, nil
}

type run struct {
	cfg       RunConfig
	facts     map[string]any
	configDir string
	home      string
	env       map[string]string // terraform's whole environment
	diags     []any
	firstErr  string
	backend   string
	// runnable is false when terraform must not run: no files, or the
	// pre-check refused the configuration (unless SkipPrecheck).
	runnable bool
	// refreshed is set when plan's refresh read the lab, and gone holds
	// the state's resources it found deleted there (see markInLab).
	refreshed bool
	gone      map[string]bool
}

// fail records the first thing that stopped grading.
func (r *run) fail(format string, args ...any) {
	if r.firstErr == "" {
		r.firstErr = fmt.Sprintf(format, args...)
		r.facts[FactError] = r.firstErr
	}
}
