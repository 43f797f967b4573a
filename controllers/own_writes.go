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

// ownWrites remembers the resourceVersions of the lab objects a pass wrote
// itself, so that their watch events start no pass: the pass that wrote
// them went on to grade with them in place. The scale benchmark
// (docs/benchmarks.md) counted these events as most of a new lab's passes
// (the kubeconfig Secret, the instructions ConfigMaps, the starters).
// A resourceVersion names one write of one object, so an event carrying it
// is exactly that write; anything written after it by someone else (a
// learner, kube-controller-manager) has another resourceVersion and still
// starts a pass. Entries whose event never comes (a write that changed
// nothing keeps its version) are dropped after ownWriteTTL.
type ownWrites struct {
	mu      sync.Mutex
	written map[ownWrite]time.Time
}

type ownWrite struct{ namespace, name, resourceVersion string }

const ownWriteTTL = time.Minute

func keyOf(obj client.Object) ownWrite {
	return ownWrite{obj.GetNamespace(), obj.GetName(), obj.GetResourceVersion()}
}

// record notes a write's result; obj holds the object the apiserver returned.
func (w *ownWrites) record(obj client.Object) {
	if obj.GetResourceVersion() == "" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written == nil {
		w.written = map[ownWrite]time.Time{}
	}
	for k, at := range w.written {
		if now.Sub(at) > ownWriteTTL {
			delete(w.written, k)
		}
	}
	w.written[keyOf(obj)] = now
}

// seen reports whether obj is as a pass wrote it, and forgets the write.
func (w *ownWrites) seen(obj client.Object) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := keyOf(obj)
	_, ok := w.written[k]
	delete(w.written, k)
	return ok
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
	err := c.Client.Create(ctx, obj, opts...)
	if err == nil {
		c.writes.record(obj)
	}
	return err
}

func (c recordingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	err := c.Client.Patch(ctx, obj, patch, opts...)
	if err == nil {
		c.writes.record(obj)
	}
	return err
}

func (c recordingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	err := c.Client.Update(ctx, obj, opts...)
	if err == nil {
		c.writes.record(obj)
	}
	return err
}

// Apply records the applied object when it is one (an unstructured apply
// configuration, as apply.Applier sends): the response is decoded into it.
func (c recordingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	err := c.Client.Apply(ctx, obj, opts...)
	if o, ok := obj.(client.Object); ok && err == nil {
		c.writes.record(o)
	}
	return err
}
