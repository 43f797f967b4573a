// Command rotation-bench measures rotation-operator at scale on the embedded
// control plane against the raw client ceiling, and prints one table (see
// docs/benchmarks.md). `make bench-scale` runs it. Run as
// `rotation-bench operator ...` it is the operator process under test.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/handson-dev/rotation-operator/internal/bench"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "operator" {
		if err := bench.RunOperator(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "rotation-bench operator:", err)
			os.Exit(1)
		}
		return
	}
	var (
		phases, ns, scaleNs, workers, mcrs, qpss string
		o                                        bench.Options
		finalQPS                                 float64
		logPath                                  string
	)
	flag.StringVar(&phases, "phases", "terraform,node,raw,sweep,scale", "phases to run: terraform (BenchmarkGradeVsBareTerraform), node (real node: lab apply to first starter Running; waits for the node lock), raw (client ceiling), sweep (operator settings at -sweep-n), scale (provisioning, idle, restart, grading, memory at each -scale-n)")
	flag.StringVar(&ns, "n", "50,200", "lab counts: the raw ceiling runs each, the scale phase the last")
	flag.StringVar(&scaleNs, "scale-n", "", "lab counts of the scale phase, each on a fresh control plane (default: the last of -n); the machine-readable lines give efficiency and amplification of the first, grading p99 of the last")
	flag.IntVar(&o.SweepN, "sweep-n", 50, "lab count of the settings sweep")
	flag.StringVar(&workers, "workers", "1,4,16,32", "raw client worker counts")
	flag.StringVar(&mcrs, "mcr", "1,4,8,16", "MaxConcurrentReconciles values to sweep")
	flag.StringVar(&qpss, "qps", "20,50,200,-1", "client QPS values to sweep (-1: unlimited); burst is 1.5x")
	flag.IntVar(&o.Final.MaxConcurrentReconciles, "final-mcr", operator.DefaultMaxConcurrentReconciles, "MaxConcurrentReconciles of the scale phase and the fixed half of the sweep")
	flag.Float64Var(&finalQPS, "final-qps", float64(operator.DefaultQPS), "client QPS of the scale phase and the fixed half of the sweep")
	flag.IntVar(&o.Final.Burst, "final-burst", operator.DefaultBurst, "client burst with -final-qps")
	flag.DurationVar(&o.Idle, "idle", 60*time.Second, "steady-state idle period")
	flag.IntVar(&o.GradingRounds, "grading-rounds", 2, "learner changes per lab in the grading phase")
	flag.Float64Var(&o.GradingRate, "grading-rate", 10, "learner changes per second across all labs")
	flag.StringVar(&logPath, "log", "", "progress and operator output go here (default: stderr)")
	flag.Parse()
	o.Final.QPS = finalQPS
	if o.Final.QPS <= 0 {
		o.Final.Burst = 0
	}
	o.Phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if !bench.KnownPhase(p) {
			check(fmt.Errorf("-phases: unknown phase %q (known: %s)", p, strings.Join(bench.PhaseNames, ",")))
		}
		o.Phases[p] = true
	}
	var err error
	o.Ns, err = ints(ns)
	check(err)
	if scaleNs != "" {
		o.ScaleNs, err = ints(scaleNs)
		check(err)
	}
	o.Workers, err = ints(workers)
	check(err)
	o.MCRs, err = ints(mcrs)
	check(err)
	for _, s := range strings.Split(qpss, ",") {
		q, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		check(err)
		o.QPSs = append(o.QPSs, q)
	}
	o.Root, err = toolchain.RepoRoot()
	check(err)
	o.Self, err = os.Executable()
	check(err)
	o.Out, o.Log = os.Stdout, os.Stderr
	if logPath != "" {
		f, err := os.Create(logPath)
		check(err)
		defer f.Close()
		o.Log = f
	}
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel), zap.WriteTo(o.Log)))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	check(bench.Run(ctx, o))
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation-bench:", err)
		os.Exit(1)
	}
}
