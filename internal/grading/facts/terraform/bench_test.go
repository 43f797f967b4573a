package terraform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// benchConfig is basicConfig without waiting for rollouts at apply (the
// grading does not wait either): setting up 20 labs stays quick.
func benchConfig(ns, suffix string) map[string]string {
	files := basicConfig(ns, suffix)
	files["main.tf"] = strings.Replace(files["main.tf"], "resource \"kubernetes_deployment_v1\" \"web\" {\n", "resource \"kubernetes_deployment_v1\" \"web\" {\n  wait_for_rollout = false\n", 1)
	return files
}

// applyAs runs init and apply as the learner, returning an error rather
// than failing: it runs on other goroutines.
func (l *testLab) applyAs(tb testing.TB, files map[string]string) error {
	dir, err := os.MkdirTemp("", "learner-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-input=false", "-no-color"}, {"apply", "-auto-approve", "-input=false", "-no-color"}} {
		if out, err := l.learnerTerraform(tb, dir, args...); err != nil {
			return fmt.Errorf("terraform %s: %w\n%s", args[0], err, out)
		}
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s)) + 0.5)
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func reportLatencies(b *testing.B, d []time.Duration) {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	b.ReportMetric(float64(percentile(d, 0.50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(percentile(d, 0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(float64((sum / time.Duration(len(d))).Milliseconds()), "mean-ms")
	b.ReportMetric(0, "ns/op") // the latencies are the result, not b.N's loop
}

// BenchmarkGradeWarm: grading one applied submission (a ConfigMap and a
// Deployment, state in the lab) through the sandboxed runner, with the
// provider mirror built: 20 runs, p50 and p99.
func BenchmarkGradeWarm(b *testing.B) {
	l := newLab(b, "bench")
	files := benchConfig(l.namespace, "tf-bench")
	if err := l.applyAs(b, files); err != nil {
		b.Fatal(err)
	}
	e := executor(b)
	if f := l.grade(b, e, "tf-bench", files); f["inSync"] != true { // warm-up
		b.Fatalf("not in sync:\n%s", dump(f))
	}
	const runs = 20
	var d []time.Duration
	b.ResetTimer()
	for range b.N {
		for range runs {
			start := time.Now()
			f := l.grade(b, e, "tf-bench", files)
			d = append(d, time.Since(start))
			if f["inSync"] != true {
				b.Fatalf("not in sync:\n%s", dump(f))
			}
		}
	}
	reportLatencies(b, d)
}

// BenchmarkGrade20Labs: 20 labs' submissions graded at once through one
// Collector (cache off), as a resync of 20 rotations would; slots is the
// Collector's concurrency bound. Reports throughput and per-submission
// latency (queueing included).
func BenchmarkGrade20Labs(b *testing.B) {
	const n = 20
	labs := make([]*testLab, n)
	files := make([]map[string]string, n)
	for i := range labs {
		labs[i] = newLab(b, "many")
		files[i] = benchConfig(labs[i].namespace, "tf-bench")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = labs[i].applyAs(b, files[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, slots := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) {
			c, err := tf.NewCollector(tf.Options{Executor: executor(b), MaxConcurrent: slots, CacheTTL: -1, Timeout: 10 * time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			var (
				mu sync.Mutex
				d  []time.Duration
			)
			var total time.Duration
			for range b.N {
				start := time.Now()
				var wg sync.WaitGroup
				failed := make([]string, n)
				for i := range labs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s := time.Now()
						f, err := c.Collect(context.Background(), tf.Request{Namespace: labs[i].namespace, Exercise: "tf-bench", Files: files[i], Kubeconfig: labs[i].kubeconfig})
						mu.Lock()
						d = append(d, time.Since(s))
						mu.Unlock()
						if err != nil {
							failed[i] = err.Error()
						} else if f["inSync"] != true {
							failed[i] = fmt.Sprint(f["error"])
						}
					}()
				}
				wg.Wait()
				total += time.Since(start)
				for i, msg := range failed {
					if msg != "" {
						b.Fatalf("lab %d: %s", i, msg)
					}
				}
			}
			reportLatencies(b, d)
			b.ReportMetric(float64(n*b.N)/total.Minutes(), "gradings/min")
			b.ReportMetric(total.Seconds()/float64(b.N), "s/20-labs")
		})
	}
}
