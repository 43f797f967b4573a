package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// goBench is a Go benchmark of the repository that gives a row of issue
// 19's table, run by rotation-bench so that every row comes from one run.
type goBench struct {
	// pkg and name: `go test pkg -bench '^name$'`.
	pkg, name string
}

var (
	// terraformBench: grading through the sandboxed runner beside bare
	// terraform init+validate+plan+show on the same files.
	terraformBench = goBench{pkg: "./internal/grading/facts/terraform/", name: "BenchmarkGradeVsBareTerraform"}
	// nodeBench: lab apply → first starter pod Running on the real node
	// (takes the machine-wide node lock, and may wait for it).
	nodeBench = goBench{pkg: "./test/realnode/", name: "BenchmarkLabApplyToStarterRunning"}
)

// goBenchResult is one Go benchmark's reported metrics, by unit.
type goBenchResult struct {
	metrics         map[string]float64
	elapsed         time.Duration
	loadStart, load string
	err             error
}

// run runs the benchmark once (-benchtime 1x) in root; its output goes to
// log as it comes. A failure is kept in the result, not returned: the table
// shows it in the benchmark's row and the other phases still run.
func (g goBench) run(ctx context.Context, root string, log io.Writer) goBenchResult {
	r := goBenchResult{loadStart: loadavg()}
	start := time.Now()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "test", g.pkg, "-run", "^$", "-bench", "^"+g.name+"$", "-benchtime", "1x", "-count", "1", "-timeout", "60m")
	cmd.Dir = root
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = log
	err := cmd.Run()
	r.elapsed, r.load = time.Since(start), loadavg()
	if err != nil {
		r.err = fmt.Errorf("go test %s -bench %s: %w (output in the log)", g.pkg, g.name, err)
		return r
	}
	r.metrics, r.err = parseGoBench(out.String(), g.name)
	return r
}

// benchLine matches a result line: name, optional -GOMAXPROCS, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseGoBench reads the metrics of benchmark name from `go test -bench`
// output (the format of golang.org/x/perf/benchfmt: value-unit pairs).
func parseGoBench(out, name string) (map[string]float64, error) {
	for _, line := range strings.Split(out, "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || m[1] != name {
			continue
		}
		f := strings.Fields(m[2])
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("%s: odd value-unit list %q", name, m[2])
		}
		metrics := map[string]float64{}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q of %s: %w", name, f[i], f[i+1], err)
			}
			metrics[f[i+1]] = v
		}
		return metrics, nil
	}
	return nil, fmt.Errorf("no result line of %s in the output (skipped, or no real node here?)", name)
}

// stepTimes lists the metrics named prefix+STEP+"-ms" as "STEP X.XX s", in step order.
func stepTimes(metrics map[string]float64, prefix string) string {
	var names []string
	for k := range metrics {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, "-ms") && !strings.Contains(k, "p50") {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return metrics[names[i]] > metrics[names[j]] })
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f s", strings.TrimSuffix(strings.TrimPrefix(k, prefix), "-ms"), metrics[k]/1000))
	}
	return strings.Join(parts, ", ")
}
