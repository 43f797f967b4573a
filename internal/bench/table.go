package bench

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Targets of issue 19.
const (
	targetEfficiency    = 0.9
	targetAmplification = 1.1
	targetPasses        = 2
	targetGradingP99    = time.Second
	targetRSS           = 200 << 20
	targetTerraform     = 1.3
	targetStarterP50    = 3 * time.Second
)

// scaleResult is the scale phase at one lab count.
type scaleResult struct {
	n       int
	prov    provResult
	idle    idleResult
	restart restartResult
	grading gradingResult
	peakRSS float64
	// loadStart, loadEnd: the machine's load average around this scale run.
	loadStart, loadEnd string
}

// table collects the results and prints them as one Markdown table.
type table struct {
	perLab             int
	loadStart, loadEnd string
	started            time.Time
	final              OperatorConfig
	ns                 []int
	sweepN             int

	raw, rawLimited []rawResult
	sweep           []provResult
	scales          []scaleResult
	// terraform and node are the Go benchmarks' rows (nil: not run).
	terraform, node *goBenchResult
}

func (t *table) bestRaw(n int) rawResult {
	var best rawResult
	for _, r := range t.raw {
		if r.n == n && (best.n == 0 || r.elapsed < best.elapsed) {
			best = r
		}
	}
	return best
}

func met(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func (t *table) print(w io.Writer) {
	fmt.Fprintf(w, "\nrotation-operator scale benchmark, %s, %d CPUs, load average %s at start, %s at end, took %s.\n",
		t.started.UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), t.loadStart, t.loadEnd, time.Since(t.started).Round(time.Second))
	fmt.Fprintf(w, "A lab needs %d objects (internal/lab objects, kubeconfig Secret, instructions ConfigMaps, starter Deployments).\n", t.perLab)
	fmt.Fprintf(w, "Operator settings of the scale runs: %s.\n\n", t.final)
	fmt.Fprintln(w, "| # | measure | N | setting | result | target | |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	row := func(num, measure string, n int, setting, result, target, status string) {
		ns := "-"
		if n > 0 {
			ns = fmt.Sprint(n)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", num, measure, ns, setting, result, target, status)
	}
	for _, n := range t.ns {
		best := t.bestRaw(n)
		for _, r := range t.raw {
			if r.n != n {
				continue
			}
			mark := ""
			if r == best {
				mark = "best"
			}
			row("1", "raw ceiling: plain client creates the rendered objects", n, fmt.Sprintf("%d workers, no client QPS limit", r.workers),
				fmt.Sprintf("%.0f objects/s (%d objects + %d TokenRequests in %s); control plane CPU: %s", r.rate(), r.objects, r.tokens, secs(r.elapsed), r.cpu), "-", mark)
		}
		for _, r := range t.rawLimited {
			if r.n == n {
				row("1", "raw ceiling with a client QPS limit (one limiter per client)", n, fmt.Sprintf("%d workers, QPS %g burst %d", r.workers, r.qps, int(r.qps*1.5)),
					fmt.Sprintf("%.0f objects/s (%s)", r.rate(), secs(r.elapsed)), "-", "")
			}
		}
	}
	prov := func(r provResult, final bool) {
		needed := float64(r.n * t.perLab)
		amp := r.settled.total / needed
		res := fmt.Sprintf("all Ready in %s; writes %s = **%.2f×** the %.0f objects (object writes alone %.2f×); %.0f reads; %.0f reconciles",
			secs(r.elapsed), r.settled, amp, needed, (r.settled.objects+r.settled.learner)/needed, r.reads, r.reconciles)
		target, status := fmt.Sprintf("amplification ≤ %.1f", targetAmplification), met(amp <= targetAmplification)
		raw, rawWhat := t.bestRaw(r.n), "raw"
		for _, l := range t.rawLimited {
			if l.n == r.n && l.qps == r.cfg.QPS {
				raw, rawWhat = l, fmt.Sprintf("raw at QPS %g", l.qps)
			}
		}
		if raw.n != 0 {
			eff := raw.elapsed.Seconds() / r.elapsed.Seconds()
			res = fmt.Sprintf("efficiency **%.2f** (%s %s); ", eff, rawWhat, secs(raw.elapsed)) + res
			if final {
				target = fmt.Sprintf("efficiency ≥ %.1f; ", targetEfficiency) + target
				status = fmt.Sprintf("eff %s, amp %s", met(eff >= targetEfficiency), met(amp <= targetAmplification))
			}
		}
		row("2", "operator provisioning: create N rotations, until all Ready", r.n, r.cfg.String(), res, target, status)
	}
	for _, r := range t.sweep {
		prov(r, false)
	}
	for _, sc := range t.scales {
		prov(sc.prov, true)
		p := sc.prov
		row("2", "load average around this scale run (1, 5, 15 min)", sc.n, "-", fmt.Sprintf("%s at start, %s at end", sc.loadStart, sc.loadEnd), "-", "")
		row("2", "passes per new lab while provisioning (LearningRotation reconciles ÷ N, until settled)", sc.n, p.cfg.String(),
			fmt.Sprintf("%.2f; status writes per lab %.2f; reads per lab %.1f", p.reconciles/float64(sc.n), p.settled.status/float64(sc.n), p.reads/float64(sc.n)),
			fmt.Sprintf("≤ %d", targetPasses), met(p.reconciles/float64(sc.n) <= targetPasses))
		if p.reconciles > 0 {
			row("2", "operator CPU while provisioning (process CPU time, first create until settled)", sc.n, p.cfg.String(),
				fmt.Sprintf("%.1f s: %.1f ms per lab, %.1f ms per pass; control plane over the same span: %s", p.cpu, p.cpu*1000/float64(sc.n), p.cpu*1000/p.reconciles, cpuList(p.childCPU)), "-", "")
		}
		row("3", "steady state: labs idle", sc.n, fmt.Sprintf("%s idle", sc.idle.d),
			fmt.Sprintf("writes %s; %.0f reconciles", sc.idle.writes, sc.idle.reconciles), "0 writes (token refresh aside)", met(sc.idle.writes.total == 0))
		row("4", "cold restart: new operator process, labs present", sc.n, "resync = reconcile_total ≥ N and queue empty",
			fmt.Sprintf("resync %s after exec; writes %s; %.0f reconciles", secs(sc.restart.resync), sc.restart.writes, sc.restart.reconciles), "0 writes", met(sc.restart.writes.total == 0))
		g := sc.grading
		row("5", "grading: learner scales web, until status shows the check", sc.n, fmt.Sprintf("%d changes at %.0f/s over all labs", len(g.samples)+g.lost, g.rate),
			fmt.Sprintf("p50 %s, p99 %s, max %s (%d lost)", secs(g.pct(0.5)), secs(g.pct(0.99)), secs(g.pct(1)), g.lost), fmt.Sprintf("p99 ≤ %s", targetGradingP99),
			met(g.lost == 0 && len(g.samples) > 0 && g.pct(0.99) <= targetGradingP99))
		row("5", "grading CPU per pass (operator CPU time / LearningRotation reconciles)", sc.n, "same phase",
			fmt.Sprintf("%.1f ms per pass (%.0f passes in %s)", float64(g.cpuPerPass.Microseconds())/1000, g.passes, secs(g.wall)), "-", "")
		row("6", "memory: operator subprocess after provisioning", p.n, p.cfg.String(),
			fmt.Sprintf("RSS %s (%s with no labs), Go heap in use %s; peak RSS %s (after grading)", mib(p.rss), mib(p.baseRSS), mib(p.heap), mib(sc.peakRSS)),
			fmt.Sprintf("RSS ≤ %s", mib(targetRSS)), met(p.rss <= targetRSS && sc.peakRSS <= targetRSS))
	}
	if r := t.terraform; r != nil {
		const measure = "Terraform grading ÷ bare `terraform init+validate+plan+show`, same files, alternately (BenchmarkGradeVsBareTerraform)"
		if r.err != nil {
			row("7", measure, 0, "-", "failed: "+r.err.Error(), fmt.Sprintf("≤ %.1f", targetTerraform), "**not measured**")
		} else {
			m := r.metrics
			row("7", measure, 0, fmt.Sprintf("10 runs each; load %s → %s; %s", r.loadStart, r.load, secs(r.elapsed)),
				fmt.Sprintf("**%.2f** (graded p50 %.2f s, bare p50 %.2f s); graded steps: %s; bare steps: %s",
					m["graded/bare"], m["graded-p50-ms"]/1000, m["bare-p50-ms"]/1000, stepTimes(m, "graded-"), stepTimes(m, "bare-")),
				fmt.Sprintf("≤ %.1f", targetTerraform), met(m["graded/bare"] <= targetTerraform))
		}
	}
	if r := t.node; r != nil {
		const measure = "lab apply → first starter pod Running, real node (BenchmarkLabApplyToStarterRunning)"
		target := fmt.Sprintf("p50 ≤ %s", secs(targetStarterP50))
		if r.err != nil {
			row("8", measure, 0, "-", "failed: "+r.err.Error(), target, "**not measured**")
		} else {
			p50 := time.Duration(r.metrics["p50-s"] * float64(time.Second))
			row("8", measure, 0, fmt.Sprintf("10 labs one after another; load %s → %s; %s with the node lock wait and cluster start", r.loadStart, r.load, secs(r.elapsed)),
				fmt.Sprintf("p50 **%.2f s**, p99 %.2f s", p50.Seconds(), r.metrics["p99-s"]), target, met(p50 <= targetStarterP50))
		}
	}
	t.printMachineReadable(w)
}

// printMachineReadable ends the output with the lines docs/benchmarks.md
// ends its results with: efficiency and amplification of the first scale
// run, grading p99 (seconds) of the last.
func (t *table) printMachineReadable(w io.Writer) {
	if len(t.scales) == 0 {
		return
	}
	first, last := t.scales[0], t.scales[len(t.scales)-1]
	fmt.Fprintln(w)
	if raw := t.bestRaw(first.n); raw.n != 0 {
		fmt.Fprintf(w, "efficiency: %.2f\n", raw.elapsed.Seconds()/first.prov.elapsed.Seconds())
	}
	fmt.Fprintf(w, "amplification: %.2f\n", first.prov.settled.total/float64(first.n*t.perLab))
	fmt.Fprintf(w, "p99@%d: %.2f\n", last.n, last.grading.pct(0.99).Seconds())
}

// cpuList prints CPU seconds by process, largest first.
func cpuList(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return m[names[i]] > m[names[j]] })
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
