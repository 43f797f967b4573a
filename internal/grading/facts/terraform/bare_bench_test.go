package terraform_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// BenchmarkGradeVsBareTerraform (issue 19): one applied submission graded
// through the sandboxed runner, and the same files run through bare
// terraform init, validate, plan -out and show -json in a fresh directory
// with the same provider mirror and lab kubeconfig, alternately in one run.
// Reports both p50s, their ratio and each step's p50 on both sides (the
// runner's steps from its trace; fmt, validate and the state show run
// beside init, plan and the plan show).
func BenchmarkGradeVsBareTerraform(b *testing.B) {
	l := newLab(b, "bare")
	files := benchConfig(l.namespace, "tf-bare")
	if err := l.applyAs(b, files); err != nil {
		b.Fatal(err)
	}
	e := executor(b)
	var trace bytes.Buffer
	e.Trace = &trace
	if f := l.grade(b, e, "tf-bare", files); f["inSync"] != true { // warm-up
		b.Fatalf("not in sync:\n%s", dump(f))
	}
	if _, err := l.bareTerraform(b, files); err != nil { // warm-up
		b.Fatal(err)
	}
	const runs = 10
	var graded, bare []time.Duration
	gradedSteps, bareSteps := map[string][]time.Duration{}, map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for range runs {
			trace.Reset()
			start := time.Now()
			f := l.grade(b, e, "tf-bare", files)
			graded = append(graded, time.Since(start))
			if f["inSync"] != true {
				b.Fatalf("not in sync:\n%s", dump(f))
			}
			for name, d := range traceSteps(trace.String()) {
				gradedSteps[name] = append(gradedSteps[name], d)
			}
			start = time.Now()
			steps, err := l.bareTerraform(b, files)
			if err != nil {
				b.Fatal(err)
			}
			bare = append(bare, time.Since(start))
			for name, d := range steps {
				bareSteps[name] = append(bareSteps[name], d)
			}
		}
	}
	b.StopTimer()
	g, t := percentile(graded, 0.5), percentile(bare, 0.5)
	b.ReportMetric(float64(g.Milliseconds()), "graded-p50-ms")
	b.ReportMetric(float64(t.Milliseconds()), "bare-p50-ms")
	b.ReportMetric(g.Seconds()/t.Seconds(), "graded/bare")
	for name, d := range gradedSteps {
		b.ReportMetric(float64(percentile(d, 0.5).Milliseconds()), "graded-"+name+"-ms")
	}
	for name, d := range bareSteps {
		b.ReportMetric(float64(percentile(d, 0.5).Milliseconds()), "bare-"+name+"-ms")
	}
	b.ReportMetric(0, "ns/op")
}

// bareTerraform runs what a person would to see the same thing: init,
// validate, plan -out and show -json of the plan, one after the other in a
// fresh directory. It returns each step's time.
func (l *testLab) bareTerraform(tb testing.TB, files map[string]string) (map[string]time.Duration, error) {
	dir, err := os.MkdirTemp("", "bare-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	writeFiles(tb, dir, files)
	steps := map[string]time.Duration{}
	for _, s := range []struct {
		name string
		args []string
	}{
		{"init", []string{"init", "-input=false", "-no-color"}},
		{"validate", []string{"validate", "-no-color"}},
		{"plan", []string{"plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin"}},
		{"show", []string{"show", "-json", "-no-color", "plan.bin"}},
	} {
		start := time.Now()
		if out, err := l.learnerTerraform(tb, dir, s.args...); err != nil {
			return nil, fmt.Errorf("terraform %s: %w\n%s", s.name, err, out)
		}
		steps[s.name] = time.Since(start)
	}
	return steps, nil
}

var traceStep = regexp.MustCompile(`^step ([a-z-]+): (\S+)$`)

// traceSteps reads the runner's "step NAME: DURATION" trace lines.
func traceSteps(trace string) map[string]time.Duration {
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		m := traceStep.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		if d, err := time.ParseDuration(m[2]); err == nil {
			out[m[1]] += d
		}
	}
	return out
}
