package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWrites remembers the lab objects a pass is writing or wrote itself, so
// that their watch events start no pass: the pass that wrote them goes on to
// grade with them in place (every write comes before the grading step, which
// reads the lab live). The scale benchmark (docs/benchmarks.md) counted these
// events as most of a new lab's passes (the kubeconfig Secret, the
// instructions ConfigMaps, the starters).
//
// A resourceVersion names one write of one object, so an event carrying a
// recorded one is exactly that write; anything written after it by someone
// else (a learner, kube-controller-manager) has another version and still
// starts a pass. The watch event can arrive before the write's response, so
// while a write of an object is in flight its events are dropped too: a
// version someone else made meanwhile is older than the pass's grading,
// which sees it. Entries whose event never comes (a write that changed
// nothing keeps its version) are dropped after ownWriteTTL.
type ownWrites struct {
	mu       sync.Mutex
	written  map[ownWrite]time.Time
	inFlight map[objectKey]int
}

type objectKey struct{ namespace, name string }

type ownWrite struct {
	objectKey
	resourceVersion string
}

const ownWriteTTL = time.Minute

func keyOf(obj client.Object) objectKey { return objectKey{obj.GetNamespace(), obj.GetName()} }

// begin marks a write of obj in flight; end records its result.
func (w *ownWrites) begin(obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inFlight == nil {
		w.inFlight = map[objectKey]int{}
	}
	w.inFlight[keyOf(obj)]++
}

// end closes a write begun with begin; on success obj holds the object the
// apiserver returned.
func (w *ownWrites) end(obj client.Object, err error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	k := keyOf(obj)
	if w.inFlight[k]--; w.inFlight[k] <= 0 {
		delete(w.inFlight, k)
	}
	if err != nil || obj.GetResourceVersion() == "" {
		return
	}
	if w.written == nil {
		w.written = map[ownWrite]time.Time{}
	}
	for k, at := range w.written {
		if now.Sub(at) > ownWriteTTL {
			delete(w.written, k)
		}
	}
	w.written[ownWrite{k, obj.GetResourceVersion()}] = now
}

// seen reports whether obj is being written or is as a pass wrote it.
func (w *ownWrites) seen(obj client.Object) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := ownWrite{keyOf(obj), obj.GetResourceVersion()}
	if _, ok := w.written[k]; ok {
		delete(w.written, k)
		return true
	}
	return w.inFlight[k.objectKey] > 0
}

// notOwnWrite drops create and update events of objects as a pass wrote them.
func (w *ownWrites) notOwnWrite() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !w.seen(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool { return !w.seen(e.ObjectNew) },
	}
}

// recordingClient records the objects its writes return.
type recordingClient struct {
	client.Client
	writes *ownWrites
}

func (c recordingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.writes.begin(obj)
	err := c.Client.Create(ctx, obj, opts...)
	c.writes.end(obj, err)
	return err
}

func (c recordingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.writes.begin(obj)
	err := c.Client.Patch(ctx, obj, patch, opts...)
	c.writes.end(obj, err)
	return err
}

func (c recordingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.writes.begin(obj)
	err := c.Client.Update(ctx, obj, opts...)
	c.writes.end(obj, err)
	return err
}

// Apply records the applied object when it is one (an unstructured apply
// configuration, as apply.Applier sends): the response is decoded into it.
func (c recordingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	o, ok := obj.(client.Object)
	if !ok {
		return c.Client.Apply(ctx, obj, opts...)
	}
	c.writes.begin(o)
	err := c.Client.Apply(ctx, obj, opts...)
	c.writes.end(o, err)
	return err
}
