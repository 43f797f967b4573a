package terraform

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// countingExecutor stands in for the runner in these tests of the
// Collector's own logic (bound, cache, sharing); the runner itself is
// tested for real in the integration tests.
type countingExecutor struct {
	calls, inFlight, maxInFlight atomic.Int32
	delay                        time.Duration
	err                          error
}

func (e *countingExecutor) Execute(ctx context.Context, req Request) (map[string]any, error) {
	e.calls.Add(1)
	n := e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	for {
		m := e.maxInFlight.Load()
		if n <= m || e.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return map[string]any{"files": []any{req.Files["main.tf"]}, FactValid: true}, nil
}

func TestCollectorCacheAndTTL(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Now())
	ex := &countingExecutor{}
	c, err := NewCollector(Options{Executor: ex, CacheTTL: time.Minute, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := Request{Namespace: "lab-a", Exercise: "e", Files: map[string]string{"main.tf": "a"}, Kubeconfig: []byte("token 1")}
	f1, err := c.Collect(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	f1["files"] = "mutated by the caller"
	req.Kubeconfig = []byte("token 2") // a renewed token is the same submission
	f2, _ := c.Collect(ctx, req)
	if ex.calls.Load() != 1 {
		t.Errorf("%d runs for the same submission within the TTL, want 1", ex.calls.Load())
	}
	if _, ok := f2["files"].([]any); !ok {
		t.Errorf("a caller's change leaked into the cache: %v", f2["files"])
	}
	req.StateVersion = "42"
	_, _ = c.Collect(ctx, req)
	req.Files = map[string]string{"main.tf": "b"}
	_, _ = c.Collect(ctx, req)
	if ex.calls.Load() != 3 {
		t.Errorf("%d runs, want 3: a new state version and new files are new submissions", ex.calls.Load())
	}
	clock.Step(time.Minute)
	_, _ = c.Collect(ctx, req)
	if ex.calls.Load() != 4 {
		t.Errorf("%d runs, want 4: after the TTL drift must be looked for again", ex.calls.Load())
	}
	c.Invalidate("lab-a")
	_, _ = c.Collect(ctx, req)
	if ex.calls.Load() != 5 {
		t.Errorf("%d runs, want 5 after Invalidate", ex.calls.Load())
	}
}

func TestCollectorBoundAndSharing(t *testing.T) {
	ex := &countingExecutor{delay: 50 * time.Millisecond}
	c, _ := NewCollector(Options{Executor: ex})
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 6 labs, each asked twice at once: the second shares the run.
			ns := string(rune('a' + i%6))
			if _, err := c.Collect(context.Background(), Request{Namespace: ns, Files: map[string]string{"main.tf": ns}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := ex.maxInFlight.Load(); m > DefaultMaxConcurrent {
		t.Errorf("%d runs in flight, want at most %d", m, DefaultMaxConcurrent)
	}
	if n := ex.calls.Load(); n != 6 {
		t.Errorf("%d runs for 6 distinct submissions asked twice each, want 6", n)
	}
}

func TestCollectorErrorsAndTimeout(t *testing.T) {
	ex := &countingExecutor{err: errors.New("no terraform")}
	c, _ := NewCollector(Options{Executor: ex})
	req := Request{Namespace: "lab-a", Files: map[string]string{"main.tf": "x"}}
	for range 2 {
		if _, err := c.Collect(context.Background(), req); err == nil {
			t.Fatal("no error from a failing runner")
		}
	}
	if ex.calls.Load() != 2 {
		t.Errorf("infrastructure errors were cached: %d runs", ex.calls.Load())
	}

	slow := &countingExecutor{delay: time.Hour}
	c, _ = NewCollector(Options{Executor: slow, Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := c.Collect(context.Background(), req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the run's timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %s", d)
	}
	if _, err := NewCollector(Options{}); err == nil {
		t.Error("a Collector without an Executor was made")
	}
}

func TestDigest(t *testing.T) {
	base := Request{Namespace: "lab-a", Files: map[string]string{"a.tf": "x", "b.tf": "y"}}
	moved := Request{Namespace: "lab-a", Files: map[string]string{"a.tf": "xb.tf", "b.tf": "y"}}
	renamed := Request{Namespace: "lab-a", Files: map[string]string{"a.tf": "x", "c.tf": "y"}}
	other := Request{Namespace: "lab-b", Files: base.Files}
	seen := map[string]bool{}
	for _, r := range []Request{base, moved, renamed, other} {
		seen[Digest(r)] = true
	}
	if len(seen) != 4 {
		t.Errorf("digests collide: %v", seen)
	}
	if Digest(base) != Digest(Request{Namespace: "lab-a", Exercise: "other", Files: map[string]string{"b.tf": "y", "a.tf": "x"}, Kubeconfig: []byte("k")}) {
		t.Error("digest depends on map order, exercise or kubeconfig")
	}
}

// TestCollectorMaxWait: a run longer than MaxWait answers ErrPending and
// goes on; the next Collect gets its facts without a second run. A failed
// run nobody waited for is reported once, then run again.
func TestCollectorMaxWait(t *testing.T) {
	ex := &countingExecutor{delay: 300 * time.Millisecond}
	c, err := NewCollector(Options{Executor: ex, MaxWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	notified := make(chan string, 10)
	c.Notify(func(ns string) { notified <- ns })
	ctx := context.Background()
	req := Request{Namespace: "lab-a", Exercise: "e", Files: map[string]string{"main.tf": "a"}, Kubeconfig: []byte("k")}
	if _, err := c.Collect(ctx, req); !errors.Is(err, ErrPending) {
		t.Fatalf("first Collect: %v, want ErrPending", err)
	}
	if _, err := c.Collect(ctx, req); !errors.Is(err, ErrPending) {
		t.Fatalf("Collect while running: %v, want ErrPending", err)
	}
	select {
	case ns := <-notified:
		if ns != "lab-a" {
			t.Errorf("notified of %q, want lab-a", ns)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no notification that the run finished")
	}
	f, err := c.Collect(ctx, req) // at once: the facts are in
	if err != nil || f[FactValid] != true {
		t.Fatalf("after the run: %v %v", f, err)
	}
	if n := ex.calls.Load(); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}

	ex.err = errors.New("runner crashed")
	req.Files = map[string]string{"main.tf": "b"}
	if _, err := c.Collect(ctx, req); !errors.Is(err, ErrPending) {
		t.Fatalf("failing run: %v, want ErrPending first", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := c.Collect(ctx, req); err == nil || err.Error() != "runner crashed" {
		t.Fatalf("after the failed run: %v, want its error", err)
	}
	if _, err := c.Collect(ctx, req); !errors.Is(err, ErrPending) {
		t.Fatalf("after the error was reported: %v, want a new run (ErrPending)", err)
	}
	if n := ex.calls.Load(); n != 3 {
		t.Errorf("%d runs, want 3", n)
	}
}
