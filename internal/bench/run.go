// Package bench measures rotation-operator at scale against the physical
// limit of the same control plane: a plain client creating the very objects
// the operator renders. See docs/benchmarks.md.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/handson-dev/rotation-operator/labs"
)

// PhaseNames are the phases of a run, in the order they run.
var PhaseNames = []string{"terraform", "node", "raw", "sweep", "scale"}

// KnownPhase reports whether p is one of PhaseNames.
func KnownPhase(p string) bool { return slices.Contains(PhaseNames, p) }

// Options configure a benchmark run.
type Options struct {
	// Root is the repository (CRDs, roles); Self is this binary, run as the operator.
	Root, Self string
	// Phases to run: terraform, node (Go benchmarks of the repository), raw, sweep, scale.
	Phases map[string]bool
	// Ns are the lab counts of the raw ceiling and of the scale phase (the largest).
	Ns []int
	// ScaleNs are the lab counts of the scale phase, each on a fresh
	// control plane (default: the last of Ns).
	ScaleNs []int
	// SweepN is the lab count of the configuration sweep.
	SweepN  int
	Workers []int
	MCRs    []int
	QPSs    []float64
	// Final is the operator configuration of the scale phase, and the
	// fixed half of each sweep (the operator's defaults).
	Final         OperatorConfig
	Idle          time.Duration
	GradingRounds int
	GradingRate   float64
	// Out gets the table; Log the progress and the control plane's output.
	Out, Log io.Writer
}

// Run runs the phases and prints one table.
func Run(ctx context.Context, o Options) error {
	catalog, err := labs.Catalog()
	if err != nil {
		return err
	}
	perLab, err := objectsPerLab(catalog)
	if err != nil {
		return err
	}
	t := &table{perLab: perLab, loadStart: loadavg(), started: time.Now(), final: o.Final, ns: o.Ns, sweepN: o.SweepN}
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "[bench %s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	// The Go benchmarks first: the node one may wait for the machine-wide
	// node lock, and a failure shows early in the log.
	if o.Phases["terraform"] {
		logf("terraform: %s %s", terraformBench.pkg, terraformBench.name)
		r := terraformBench.run(ctx, o.Root, o.Log)
		t.terraform = &r
		logf("terraform: %v (err %v)", r.metrics, r.err)
	}
	if o.Phases["node"] {
		logf("real node: %s %s (waits for the node lock)", nodeBench.pkg, nodeBench.name)
		r := nodeBench.run(ctx, o.Root, o.Log)
		t.node = &r
		logf("real node: %v (err %v)", r.metrics, r.err)
	}

	if o.Phases["raw"] {
		logf("raw ceiling: starting a control plane")
		e, err := startEnv(ctx, o.Root, o.Log)
		if err != nil {
			return err
		}
		for _, n := range o.Ns {
			for _, w := range o.Workers {
				r, err := runRaw(ctx, e, catalog, fmt.Sprintf("raw%d-w%d", n, w), n, w, -1)
				if err != nil {
					e.stop()
					return fmt.Errorf("raw ceiling n=%d workers=%d: %w", n, w, err)
				}
				logf("raw n=%d workers=%d: %d objects in %s = %.0f objects/s (%d quota retries)", n, w, r.objects, r.elapsed.Round(time.Millisecond), r.rate(), r.retries)
				t.raw = append(t.raw, r)
			}
			// The same client-side limits as the operator's QPS sweep, at its N.
			for _, q := range o.QPSs {
				if q <= 0 || n != o.SweepN {
					continue
				}
				best := t.bestRaw(n)
				r, err := runRaw(ctx, e, catalog, fmt.Sprintf("rawq%d-%g", n, q), n, best.workers, q)
				if err != nil {
					e.stop()
					return err
				}
				logf("raw n=%d workers=%d qps=%g: %d objects in %s = %.0f objects/s", n, r.workers, r.qps, r.objects, r.elapsed.Round(time.Millisecond), r.rate())
				t.rawLimited = append(t.rawLimited, r)
			}
		}
		e.stop()
	}

	if o.Phases["sweep"] {
		var configs []OperatorConfig
		add := func(c OperatorConfig) {
			for _, have := range configs {
				if have == c {
					return
				}
			}
			configs = append(configs, c)
		}
		for _, m := range o.MCRs {
			add(OperatorConfig{MaxConcurrentReconciles: m, QPS: o.Final.QPS, Burst: o.Final.Burst})
		}
		for _, q := range o.QPSs {
			add(OperatorConfig{MaxConcurrentReconciles: o.Final.MaxConcurrentReconciles, QPS: q, Burst: burstFor(q)})
		}
		for _, c := range configs {
			logf("sweep n=%d %s: starting a control plane and the operator", o.SweepN, c)
			s, err := newSession(ctx, o.Root, o.Self, c, o.Log)
			if err != nil {
				return err
			}
			r, err := s.provision(ctx, "sweep", o.SweepN)
			s.stop()
			if err != nil {
				return fmt.Errorf("sweep %s: %w", c, err)
			}
			logf("sweep n=%d %s: Ready in %s; writes %s; rss %.0f MiB", o.SweepN, c, r.elapsed.Round(time.Millisecond), r.settled, r.rss/(1<<20))
			t.sweep = append(t.sweep, r)
		}
	}

	if o.Phases["scale"] {
		scaleNs := o.ScaleNs
		if len(scaleNs) == 0 {
			scaleNs = o.Ns[len(o.Ns)-1:]
		}
		for _, n := range scaleNs {
			sc, err := runScale(ctx, o, n, logf)
			if err != nil {
				return err
			}
			t.scales = append(t.scales, sc)
		}
	}
	t.loadEnd = loadavg()
	t.print(o.Out)
	return nil
}

// runScale provisions n labs on a fresh control plane, then measures them
// idle, across a cold restart and while learners change them.
func runScale(ctx context.Context, o Options, n int, logf func(string, ...any)) (sc scaleResult, err error) {
	sc = scaleResult{n: n, loadStart: loadavg()}
	defer func() { sc.loadEnd = loadavg() }()
	logf("scale n=%d %s: starting a control plane and the operator", n, o.Final)
	s, err := newSession(ctx, o.Root, o.Self, o.Final, o.Log)
	if err != nil {
		return sc, err
	}
	defer s.stop()
	if sc.prov, err = s.provision(ctx, "scale", n); err != nil {
		return sc, fmt.Errorf("scale provisioning of %d labs: %w", n, err)
	}
	r := sc.prov
	logf("scale n=%d: Ready in %s; writes %s; %.0f passes; cpu %.1f s; rss %.0f MiB heap %.0f MiB", n, r.elapsed.Round(time.Millisecond), r.settled, r.reconciles, r.cpu, r.rss/(1<<20), r.heap/(1<<20))
	logf("idle for %s", o.Idle)
	if sc.idle, err = s.idle(ctx, o.Idle); err != nil {
		return sc, err
	}
	logf("idle: %s", sc.idle.writes)
	logf("cold restart")
	if sc.restart, err = s.restart(ctx); err != nil {
		return sc, err
	}
	logf("restart: resync in %s, writes %s", sc.restart.resync.Round(time.Millisecond), sc.restart.writes)
	logf("grading: %d rounds over %d labs at %.0f changes/s", o.GradingRounds, n, o.GradingRate)
	if sc.grading, err = s.grade(ctx, o.GradingRounds, o.GradingRate); err != nil {
		return sc, err
	}
	_, sc.peakRSS = s.proc.memory()
	logf("grading: p50 %s p99 %s, %d samples, %d lost, cpu/pass %s", sc.grading.pct(0.5), sc.grading.pct(0.99), len(sc.grading.samples), sc.grading.lost, sc.grading.cpuPerPass)
	return sc, nil
}

func burstFor(qps float64) int {
	if qps <= 0 {
		return 0
	}
	return int(qps * 1.5)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
