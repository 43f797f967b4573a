package terraform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Bounds on what a runner reads from a submission.
const (
	MaxFiles          = 64
	MaxSubmissionSize = 2 << 20
)

// lockFile is Terraform's dependency lock file. A learner's copy pins what
// their own machine installed; the lab's provider comes from the mirror,
// so it is ignored and init writes a fresh one.
const lockFile = ".terraform.lock.hcl"

// Timeouts bound each terraform step. Zero fields take DefaultTimeouts'.
type Timeouts struct {
	Fmt, Init, Validate, Plan, Show time.Duration
	// Lock is plan's -lock-timeout: how long to wait for a state lock held
	// by someone else (the learner's own apply) before reporting it.
	Lock time.Duration
}

// DefaultTimeouts are generous for a lab-sized configuration on a busy
// 2-core machine; a run normally takes a few seconds.
var DefaultTimeouts = Timeouts{
	Fmt:      20 * time.Second,
	Init:     60 * time.Second,
	Validate: 40 * time.Second,
	Plan:     90 * time.Second,
	Show:     40 * time.Second,
	Lock:     10 * time.Second,
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.Fmt, &d.Fmt}, {&t.Init, &d.Init}, {&t.Validate, &d.Validate},
		{&t.Plan, &d.Plan}, {&t.Show, &d.Show}, {&t.Lock, &d.Lock},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

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
}

// fail records the first thing that stopped grading.
func (r *run) fail(format string, args ...any) {
	if r.firstErr == "" {
		r.firstErr = fmt.Sprintf(format, args...)
		r.facts[FactError] = r.firstErr
	}
}

func (r *run) addDiag(stage string, d tfjson.Diagnostic) {
	if len(r.diags) >= MaxDiagnostics {
		return
	}
	file, line := "", int64(0)
	if d.Range != nil {
		file, line = d.Range.Filename, int64(d.Range.Start.Line)
	}
	r.diags = append(r.diags, map[string]any{
		"stage": stage, "severity": string(d.Severity), "summary": d.Summary,
		"detail": d.Detail, "file": file, "line": line,
	})
	r.facts[FactDiagnostics] = r.diags
}

// prepare copies the submission into the work dir and writes the CLI
// configuration.
func (r *run) prepare() error {
	cfg := r.cfg
	for name, p := range map[string]string{"--work": cfg.WorkDir, "--submission": cfg.SubmissionDir, "--kubeconfig": cfg.Kubeconfig, "--mirror": cfg.Mirror, "--terraform": cfg.Terraform} {
		if p == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	if _, err := os.Stat(cfg.Terraform); err != nil {
		return fmt.Errorf("terraform binary: %w", err)
	}
	if _, err := os.Stat(cfg.Mirror); err != nil {
		return fmt.Errorf("provider mirror: %w", err)
	}
	r.configDir = filepath.Join(cfg.WorkDir, "config")
	r.home = filepath.Join(cfg.WorkDir, "home")
	for _, d := range []string{r.configDir, r.home, filepath.Join(cfg.WorkDir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	files, ignored, err := readSubmission(cfg.SubmissionDir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(r.configDir, name), data, 0o600); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	r.facts[FactFiles] = stringList(names)
	r.facts[FactIgnoredFiles] = stringList(ignored)

	a := analyze(files, cfg.Namespace)
	r.facts[FactVariables] = a.variables
	r.facts[FactImports] = a.imports
	r.facts[FactRequiredProviders] = a.requiredProviders
	ns := ""
	if a.backendType == "kubernetes" {
		ns = cfg.Namespace
	}
	r.facts[FactBackend] = map[string]any{"type": a.backendType, "secretSuffix": a.secretSuffix, "namespace": ns}
	problems := make([]any, 0, len(a.problems))
	for _, p := range a.problems {
		problems = append(problems, p.fact())
	}
	r.facts[FactPrecheck] = map[string]any{"ok": len(a.problems) == 0, "problems": problems}
	r.runnable = true
	if len(a.problems) > 0 {
		p := a.problems[0]
		r.fail("precheck: %s:%d: %s", p.File, p.Line, p.Message)
		r.runnable = cfg.SkipPrecheck
	}
	if !hasTerraformFile(names) {
		r.fail("no Terraform files (*.tf) were submitted")
		r.runnable = false
	}
	r.backend = a.backendType

	cliConfig := filepath.Join(r.home, ".terraformrc")
	if err := os.WriteFile(cliConfig, []byte(CLIConfig(cfg.Mirror)), 0o600); err != nil {
		return err
	}
	r.env = map[string]string{
		"PATH":               "/usr/local/bin:/usr/bin:/bin",
		"HOME":               r.home,
		"TMPDIR":             filepath.Join(cfg.WorkDir, "tmp"),
		"TF_CLI_CONFIG_FILE": cliConfig,
		"KUBE_CONFIG_PATH":   cfg.Kubeconfig,
		"CHECKPOINT_DISABLE": "1",
		"LANG":               "C.UTF-8",
	}
	_, err = r.newTF() // fails early on a bad binary path
	return err
}

// CLIConfig is the terraform CLI configuration of a grading run: providers
// come only from the mirror (no direct installation, no plugin cache), and
// no checkpoint calls.
func CLIConfig(mirror string) string {
	return fmt.Sprintf(`disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hashicorp/kubernetes"]
  }
}
`, mirror)
}

// readSubmission reads the flat files of dir. Entries starting with ".."
// (a ConfigMap volume's ..data) and directories are skipped; a symlink is
// followed only when it stays inside dir.
func readSubmission(dir string) (map[string][]byte, []string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	files := map[string][]byte{}
	var ignored []string
	total := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		p := filepath.Join(root, name)
		real, err := filepath.EvalSymlinks(p)
		if err != nil || filepath.Dir(real) != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
			ignored = append(ignored, name)
			continue
		}
		fi, err := os.Stat(real)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if name == lockFile || strings.HasPrefix(name, ".terraform") {
			ignored = append(ignored, name)
			continue
		}
		if len(files) >= MaxFiles {
			return nil, nil, fmt.Errorf("submission: more than %d files", MaxFiles)
		}
		total += int(fi.Size())
		if total > MaxSubmissionSize {
			return nil, nil, fmt.Errorf("submission: over %d bytes", MaxSubmissionSize)
		}
		data, err := os.ReadFile(real)
		if err != nil {
			return nil, nil, err
		}
		files[name] = data
	}
	sort.Strings(ignored)
	return files, ignored, nil
}

// step bounds one terraform command with its timeout and traces it.
func (r *run) step(ctx context.Context, name string, d time.Duration) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithTimeout(ctx, d)
	start := time.Now()
	return sctx, func() {
		cancel()
		if r.cfg.Trace != nil {
			fmt.Fprintf(r.cfg.Trace, "step %s: %s\n", name, time.Since(start).Round(time.Millisecond))
		}
	}
}

// newTF returns a terraform-exec handle on the config dir. Commands that
// run at the same time each get their own: a handle's output writers are
// shared state.
func (r *run) newTF() (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(r.configDir, r.cfg.Terraform)
	if err != nil {
		return nil, err
	}
	if err := tf.SetEnv(r.env); err != nil {
		return nil, err
	}
	return tf, nil
}

// A stepFunc runs one terraform command and returns how to record its
// outcome. Steps run two at a time where they do not depend on each other;
// their outcomes are recorded in a fixed order, so the first error reported
// does not depend on which finished first.
type stepFunc func(ctx context.Context, tf *tfexec.Terraform) (record func())

// parallel runs steps concurrently, then records their outcomes in order.
func (r *run) parallel(ctx context.Context, steps ...stepFunc) {
	records := make([]func(), len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		tf, err := r.newTF()
		if err != nil {
			records[i] = func() { r.fail("terraform: %v", err) }
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			records[i] = st(ctx, tf)
		}()
	}
	wg.Wait()
	for _, rec := range records {
		rec()
	}
}

// grade runs the terraform steps; each failure is recorded as facts.
//
//	fmt -check  | init
//	validate    | plan          (plan validates too; its result counts only for a valid configuration)
//	show (plan) | show (state)
func (r *run) grade(ctx context.Context) {
	if !r.runnable {
		r.parallel(ctx, r.fmtStep)
		return
	}
	initOK := false
	r.parallel(ctx, r.fmtStep, r.initStep(&initOK))
	if !initOK {
		return
	}
	var planned bool
	r.parallel(ctx, r.validateStep, r.planStep(&planned))
	steps := []stepFunc{}
	if planned && r.facts[FactValid] == true {
		steps = append(steps, r.showPlanStep)
	}
	r.parallel(ctx, append(steps, r.stateStep)...)
}

func (r *run) fmtStep(ctx context.Context, tf *tfexec.Terraform) func() {
	t := r.cfg.Timeouts
	sctx, done := r.step(ctx, "fmt", t.Fmt)
	ok, unformatted, err := tf.FormatCheck(sctx)
	done()
	return func() {
		if err != nil {
			r.fail("terraform fmt: %s", stepError(sctx, err, t.Fmt))
			return
		}
		r.facts[FactFormatted] = ok
		r.facts[FactUnformattedFiles] = stringList(unformatted)
	}
}

func (r *run) initStep(ok *bool) stepFunc {
	return func(ctx context.Context, tf *tfexec.Terraform) func() {
		t := r.cfg.Timeouts
		opts := []tfexec.InitOption{tfexec.Upgrade(false), tfexec.Get(true)}
		if r.backend == "kubernetes" {
			opts = append(opts,
				tfexec.BackendConfig("namespace="+r.cfg.Namespace),
				tfexec.BackendConfig("config_path="+r.cfg.Kubeconfig))
		}
		var out bytes.Buffer
		sctx, done := r.step(ctx, "init", t.Init)
		err := tf.InitJSON(sctx, &out, opts...)
		done()
		*ok = err == nil
		return func() {
			var diags []tfjson.Diagnostic
			for _, d := range logDiagnostics(&out) {
				if d.Severity == tfjson.DiagnosticSeverityWarning && d.Summary == "Incomplete lock file information for providers" {
					continue // the mirror's doing, not the learner's
				}
				r.addDiag("init", d)
				diags = append(diags, d)
			}
			if err == nil {
				r.facts[FactInit] = map[string]any{"ok": true, "message": ""}
				return
			}
			msg := firstError(diags)
			if msg == "" {
				msg = stepError(sctx, err, t.Init)
			}
			if strings.Contains(msg, "Failed to query available provider packages") || strings.Contains(msg, "in any of the search locations") {
				msg = fmt.Sprintf("only hashicorp/kubernetes %s is available in labs (no other providers, no downloads): %s", toolchain.TerraformProviderVersion, msg)
			}
			r.facts[FactInit] = map[string]any{"ok": false, "message": msg}
			r.fail("terraform init: %s", msg)
		}
	}
}

func (r *run) validateStep(ctx context.Context, tf *tfexec.Terraform) func() {
	t := r.cfg.Timeouts
	sctx, done := r.step(ctx, "validate", t.Validate)
	v, err := tf.Validate(sctx)
	done()
	return func() {
		if err != nil {
			r.fail("terraform validate: %s", stepError(sctx, err, t.Validate))
			return
		}
		r.facts[FactValid] = v.Valid
		for _, d := range v.Diagnostics {
			r.addDiag("validate", d)
		}
		if !v.Valid {
			r.fail("terraform validate: %s", firstError(v.Diagnostics))
		}
	}
}

func (r *run) planFile() string { return filepath.Join(r.cfg.WorkDir, "grading.tfplan") }

// planStep runs plan -detailed-exitcode with a refresh. Its outcome is
// recorded only for a valid configuration: for an invalid one validate's
// diagnostics say it all.
func (r *run) planStep(planned *bool) stepFunc {
	return func(ctx context.Context, tf *tfexec.Terraform) func() {
		t := r.cfg.Timeouts
		var out bytes.Buffer
		sctx, done := r.step(ctx, "plan", t.Plan)
		changes, err := tf.PlanJSON(sctx, &out,
			tfexec.Out(r.planFile()), tfexec.Refresh(true), tfexec.Lock(true),
			tfexec.LockTimeout(fmt.Sprintf("%ds", int(t.Lock.Seconds()))))
		done()
		*planned = err == nil
		return func() {
			if r.facts[FactValid] != true {
				*planned = false
				return
			}
			var diags []tfjson.Diagnostic
			for _, d := range logDiagnostics(&out) {
				r.addDiag("plan", d)
				diags = append(diags, d)
			}
			plan := r.facts[FactPlan].(map[string]any)
			if err != nil {
				plan["exitCode"] = int64(1)
				msg := firstError(diags)
				if msg == "" {
					msg = stepError(sctx, err, t.Plan)
				}
				for _, d := range diags {
					if strings.Contains(d.Summary, "Error acquiring the state lock") {
						lock := parseLockInfo(d.Detail)
						lock["held"] = true
						lock["message"] = fmt.Sprintf("the state is locked (lock ID %s, %s by %s since %s): if no terraform command of yours is running, release the stale lock with: terraform force-unlock %s",
							lock["id"], lock["operation"], lock["who"], lock["created"], lock["id"])
						r.facts[FactLock] = lock
						msg = lock["message"].(string)
					}
				}
				r.fail("terraform plan: %s", msg)
				return
			}
			plan["ok"] = true
			plan["exitCode"] = int64(0)
			if changes {
				plan["exitCode"] = int64(2)
			}
			r.facts[FactInSync] = !changes
		}
	}
}

func (r *run) showPlanStep(ctx context.Context, tf *tfexec.Terraform) func() {
	t := r.cfg.Timeouts
	sctx, done := r.step(ctx, "show-plan", t.Show)
	p, err := tf.ShowPlanFile(sctx, r.planFile())
	done()
	return func() {
		if err != nil {
			r.fail("terraform show (plan): %s", stepError(sctx, err, t.Show))
			return
		}
		plan := r.facts[FactPlan].(map[string]any)
		plan["changes"] = resourceChanges(p.ResourceChanges, true)
		var outs []string
		for name, c := range p.OutputChanges {
			if c != nil && !c.Actions.NoOp() {
				outs = append(outs, name)
			}
		}
		sort.Strings(outs)
		plan["outputChanges"] = stringList(outs)
		r.facts[FactDrift] = resourceChanges(p.ResourceDrift, false)
	}
}

// resourceChanges shapes plan changes, leaving out no-ops.
func resourceChanges(rcs []*tfjson.ResourceChange, withImport bool) []any {
	out := []any{}
	for _, rc := range rcs {
		if rc == nil || rc.Change == nil {
			continue
		}
		importing := rc.Change.Importing != nil
		if rc.Change.Actions.NoOp() && !importing {
			continue
		}
		if len(out) >= MaxResources {
			break
		}
		actions := make([]any, len(rc.Change.Actions))
		for i, a := range rc.Change.Actions {
			actions[i] = string(a)
		}
		c := map[string]any{"address": rc.Address, "type": rc.Type, "actions": actions}
		if withImport {
			c["importing"] = importing
		}
		out = append(out, c)
	}
	return out
}

func (r *run) stateStep(ctx context.Context, tf *tfexec.Terraform) func() {
	t := r.cfg.Timeouts
	sctx, done := r.step(ctx, "show-state", t.Show)
	s, err := tf.Show(sctx)
	done()
	return func() {
		if err != nil {
			r.fail("terraform show: %s", stepError(sctx, err, t.Show))
			return
		}
		r.recordState(s)
	}
}

// recordState shapes the state's resources and outputs.
func (r *run) recordState(s *tfjson.State) {
	resources := map[string]any{}
	outputs := map[string]any{}
	if s.Values != nil {
		for name, o := range s.Values.Outputs {
			if o == nil {
				continue
			}
			v := normalize(jsonValue(o.Value))
			if o.Sensitive {
				v = sensitiveValue
			}
			outputs[name] = map[string]any{"value": v, "sensitive": o.Sensitive}
		}
		var walk func(m *tfjson.StateModule)
		walk = func(m *tfjson.StateModule) {
			if m == nil {
				return
			}
			for _, res := range m.Resources {
				if res == nil || len(resources) >= MaxResources {
					continue
				}
				var sensitive any
				if len(res.SensitiveValues) > 0 {
					_ = json.Unmarshal(res.SensitiveValues, &sensitive)
				}
				values := normalize(jsonValue(res.AttributeValues))
				resources[res.Address] = map[string]any{
					"type": res.Type, "name": res.Name, "mode": string(res.Mode),
					"values": redact(values, sensitive),
				}
			}
			for _, c := range m.ChildModules {
				walk(c)
			}
		}
		walk(s.Values.RootModule)
	}
	r.facts[FactResources] = resources
	r.facts[FactOutputs] = outputs
}

// jsonValue round-trips v through JSON with UseNumber, so every number is a
// json.Number whatever the decoder that produced v used.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil
	}
	return out
}

// logDiagnostics reads the diagnostics of terraform's machine-readable UI
// (-json) output, one JSON message per line.
func logDiagnostics(r io.Reader) []tfjson.Diagnostic {
	var out []tfjson.Diagnostic
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		msg, err := tfjson.UnmarshalLogMessage(sc.Bytes())
		if err != nil {
			continue
		}
		switch d := msg.(type) {
		case tfjson.DiagnosticLogMessage:
			out = append(out, d.Diagnostic)
		case *tfjson.DiagnosticLogMessage:
			out = append(out, d.Diagnostic)
		}
	}
	return out
}

// firstError is "summary: detail" of the first error diagnostic.
func firstError(diags []tfjson.Diagnostic) string {
	for _, d := range diags {
		if d.Severity == tfjson.DiagnosticSeverityError {
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			if d.Range != nil && d.Range.Filename != "" {
				msg = fmt.Sprintf("%s:%d: %s", d.Range.Filename, d.Range.Start.Line, msg)
			}
			return msg
		}
	}
	return ""
}

// stepError says why a step failed: its timeout, or terraform's error
// output, trimmed.
func stepError(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	msg := strings.TrimSpace(err.Error())
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return msg
}

var lockField = regexp.MustCompile(`(?m)^[ \t]*(ID|Path|Operation|Who|Version|Created):[ \t]*(.*)$`)

// parseLockInfo reads the "Lock Info:" block of Terraform's lock error.
func parseLockInfo(detail string) map[string]any {
	out := map[string]any{"id": "", "who": "", "operation": "", "created": ""}
	for _, m := range lockField.FindAllStringSubmatch(detail, -1) {
		switch m[1] {
		case "ID":
			out["id"] = strings.TrimSpace(m[2])
		case "Who":
			out["who"] = strings.TrimSpace(m[2])
		case "Operation":
			out["operation"] = strings.TrimSpace(m[2])
		case "Created":
			out["created"] = strings.TrimSpace(m[2])
		}
	}
	return out
}

func hasTerraformFile(names []string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, ".tf") {
			return true
		}
	}
	return false
}
