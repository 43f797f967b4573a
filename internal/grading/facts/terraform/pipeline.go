package terraform

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

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
	r.markInLab()
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
						lock := lockFact(d.Detail)
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
		r.facts[FactDrift] = driftFacts(p.ResourceDrift)
		r.refreshed, r.gone = true, goneResources(p.ResourceDrift)
	}
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
