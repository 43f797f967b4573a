package bench

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/operator"
)

// tracker watches LearningRotations as a mentor's dashboard would, and
// tells when each becomes Ready and when a check's result changes.
type tracker struct {
	mu      sync.Mutex
	ready   map[string]bool
	waiting map[string]*expectation
	changed chan struct{}
	trace   *statusTrace
}

// expectation waits for a rotation's check to read passed == want.
type expectation struct {
	exercise, check string
	want            bool
	start           time.Time
	latency         time.Duration
	done            chan struct{}
}

func startTracker(ctx context.Context, cfg *rest.Config, trace *statusTrace) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: operator.Scheme()})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &rotationsv1.LearningRotation{})
	if err != nil {
		return nil, err
	}
	t := &tracker{ready: map[string]bool{}, waiting: map[string]*expectation{}, changed: make(chan struct{}, 1), trace: trace}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj) },
		UpdateFunc: func(_, obj any) { t.observe(obj) },
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return t, nil
}

func (t *tracker) observe(obj any) {
	at := time.Now()
	lr, ok := obj.(*rotationsv1.LearningRotation)
	if !ok {
		return
	}
	t.trace.observe(lr)
	ready := meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) && lr.Status.ObservedGeneration == lr.Generation
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready[lr.Name] = ready
	if e := t.waiting[lr.Name]; e != nil && checkIs(lr, e.exercise, e.check, e.want) {
		e.latency = at.Sub(e.start)
		delete(t.waiting, lr.Name)
		close(e.done)
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

func checkIs(lr *rotationsv1.LearningRotation, exercise, check string, want bool) bool {
	for _, r := range lr.Status.Exercises {
		if r.Name != exercise {
			continue
		}
		for _, c := range r.Checks {
			if c.Name == check {
				return c.Passed == want
			}
		}
	}
	return false
}

// readyCount counts the Ready rotations among names.
func (t *tracker) readyCount(names []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if t.ready[name] {
			n++
		}
	}
	return n
}

// expect registers an expectation on a rotation, started now.
func (t *tracker) expect(rotation, exercise, check string, want bool) *expectation {
	e := &expectation{exercise: exercise, check: check, want: want, start: time.Now(), done: make(chan struct{})}
	t.mu.Lock()
	t.waiting[rotation] = e
	t.mu.Unlock()
	return e
}
