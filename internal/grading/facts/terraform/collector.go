package terraform

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/utils/clock"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// Request is one submission to grade.
type Request struct {
	// Namespace is the lab namespace (lab-<rotation>).
	Namespace string
	// Exercise names the exercise the files were submitted for.
	Exercise string
	// Files are the submitted files by flat name (main.tf, ...), as
	// internal/submission validated them.
	Files map[string]string
	// Kubeconfig is the lab kubeconfig with the learner's lab-scoped token.
	// It is not part of the cache key: tokens are renewed.
	Kubeconfig []byte
	// KubeconfigFunc, used when Kubeconfig is empty, is called only when the
	// submission is actually run (not on a cache hit), so a grading pass
	// over unchanged files requests no token.
	KubeconfigFunc func(ctx context.Context) ([]byte, error)
	// StateVersion, if set, is part of the cache key: pass the
	// resourceVersion of the exercise's state Secret
	// (tfstate-default-<secret_suffix>) so an apply by the learner is
	// graded at once instead of after CacheTTL.
	StateVersion string
}

// Options configure a Collector. Zero values take the defaults.
type Options struct {
	// Executor runs the runner. Required (a *LocalExecutor in local mode).
	Executor Executor
	// MaxConcurrent bounds runs in flight across all labs (default 2: each
	// run is a terraform process and a provider process, CPU-bound).
	MaxConcurrent int
	// Timeout bounds one run, including waiting for a slot (default 3m).
	Timeout time.Duration
	// CacheTTL is how long the facts of unchanged files are reused (default
	// 2m). Drift is re-detected at most this late. Negative disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds cached results (default 256, least recently used go).
	CacheSize int
	// MaxWait, if positive, is how long Collect waits for a run it does not
	// have cached before returning ErrPending; the run goes on, and a later
	// Collect gets its facts (or, once, its error). Zero waits for the run.
	// Operators set it so that a reconcile worker is not held for a whole
	// terraform run (or a runner Job's scheduling).
	MaxWait time.Duration
	// Clock is for tests (default the real clock).
	Clock clock.PassiveClock
}

// ErrPending is returned by Collect when the run is still going after
// Options.MaxWait: ask again shortly.
var ErrPending = errors.New("terraform: grading in progress")

// DefaultMaxWait is the MaxWait the operator uses.
const DefaultMaxWait = 2 * time.Second

// Defaults of Options.
const (
	DefaultMaxConcurrent = 2
	DefaultTimeout       = 3 * time.Minute
	DefaultCacheTTL      = 2 * time.Minute
	DefaultCacheSize     = 256
)

// Collector grades Terraform submissions for the grading engine: a bounded
// number at a time, each with a timeout, and caching results by digest of
// (namespace, files, state version) for CacheTTL. Identical concurrent
// requests share one run. Safe for concurrent use.
type Collector struct {
	o     Options
	slots chan struct{}
	group singleflight.Group

	mu    sync.Mutex
	cache map[string]*list.Element
	lru   *list.List // of *cached, most recent first
	// failed holds the error of a run nobody was waiting for, until the
	// next Collect of its key reports it (and the one after runs again).
	failed map[string]error
	// done, if set, is told the namespace of every finished run.
	done func(namespace string)
}

// Notify makes fn hear of every run that finishes (with facts or an
// error), by lab namespace: a caller that got ErrPending can look again at
// once instead of polling. fn must not block.
func (c *Collector) Notify(fn func(namespace string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = fn
}

// finished tells the Notify function that a run of namespace ended.
func (c *Collector) finished(namespace string) {
	c.mu.Lock()
	fn := c.done
	c.mu.Unlock()
	if fn != nil {
		fn(namespace)
	}
}

type cached struct {
	key       string
	namespace string
	facts     map[string]any
	at        time.Time
}

// NewCollector returns a Collector; o.Executor is required.
func NewCollector(o Options) (*Collector, error) {
	if o.Executor == nil {
		return nil, errors.New("terraform: Options.Executor is required")
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return &Collector{o: o, slots: make(chan struct{}, o.MaxConcurrent), cache: map[string]*list.Element{}, lru: list.New(), failed: map[string]error{}}, nil
}

// Collect returns the terraform facts of req (see the package doc). Errors
// in the learner's configuration are facts; the error is for the runner's
// own failures (no terraform, no mirror, a crash, the timeout), which are
// not cached. Callers get their own copy of the facts.
func (c *Collector) Collect(ctx context.Context, req Request) (map[string]any, error) {
	key := Digest(req)
	if f, ok := c.lookup(key); ok {
		return f, nil
	}
	c.mu.Lock()
	err, failed := c.failed[key]
	delete(c.failed, key)
	c.mu.Unlock()
	if failed {
		return nil, err
	}
	waiting := true
	ch := c.group.DoChan(key, func() (any, error) {
		if f, ok := c.lookup(key); ok {
			return f, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.Timeout)
		defer cancel()
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("terraform: waiting for a runner slot: %w", ctx.Err())
		}
		defer func() { <-c.slots }()
		facts, err := c.o.Executor.Execute(ctx, req)
		// Deferred: after the result is stored (or the error kept).
		defer c.finished(req.Namespace)
		if err != nil {
			c.mu.Lock()
			if !waiting {
				if len(c.failed) >= c.o.CacheSize {
					clear(c.failed) // labs gone since: their errors are nobody's
				}
				c.failed[key] = err
			}
			c.mu.Unlock()
			return nil, err
		}
		c.store(key, req.Namespace, facts)
		return facts, nil
	})
	var timeout <-chan time.Time
	if c.o.MaxWait > 0 {
		t := time.NewTimer(c.o.MaxWait)
		defer t.Stop()
		timeout = t.C
	}
	leave := func() {
		c.mu.Lock()
		waiting = false
		c.mu.Unlock()
	}
	select {
	case <-ctx.Done():
		// The run goes on for whoever else waits, and fills the cache.
		leave()
		return nil, fmt.Errorf("terraform: %w", ctx.Err())
	case <-timeout:
		leave()
		return nil, ErrPending
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return jsontree.DeepCopy(res.Val.(map[string]any)).(map[string]any), nil
	}
}

// Invalidate drops the cached results of a namespace, e.g. when the
// controller sees its state Secret change.
func (c *Collector) Invalidate(namespace string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if e.Value.(*cached).namespace == namespace {
			delete(c.cache, e.Value.(*cached).key)
			c.lru.Remove(e)
		}
		e = next
	}
}

func (c *Collector) lookup(key string) (map[string]any, bool) {
	if c.o.CacheTTL < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok {
		return nil, false
	}
	entry := e.Value.(*cached)
	if c.o.Clock.Since(entry.at) >= c.o.CacheTTL {
		delete(c.cache, key)
		c.lru.Remove(e)
		return nil, false
	}
	c.lru.MoveToFront(e)
	return jsontree.DeepCopy(entry.facts).(map[string]any), true
}

func (c *Collector) store(key, namespace string, facts map[string]any) {
	if c.o.CacheTTL < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cache[key]; ok {
		c.lru.Remove(e)
	}
	c.cache[key] = c.lru.PushFront(&cached{key: key, namespace: namespace, facts: facts, at: c.o.Clock.Now()})
	for c.lru.Len() > c.o.CacheSize {
		last := c.lru.Back()
		delete(c.cache, last.Value.(*cached).key)
		c.lru.Remove(last)
	}
}

// Digest is the cache key of a request: sha256 over the namespace, the
// state version and every file (name and content, length-framed, sorted).
func Digest(req Request) string {
	h := sha256.New()
	frame := func(s string) { fmt.Fprintf(h, "%d:%s\x00", len(s), s) }
	frame(req.Namespace)
	frame(req.StateVersion)
	names := make([]string, 0, len(req.Files))
	for n := range req.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		frame(n)
		frame(req.Files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}
