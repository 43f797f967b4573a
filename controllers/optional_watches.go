package controllers

import (
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// optionalWatches starts watches on lab kinds that an optional engine
// serves (Tekton Pipelines' tekton.dev kinds for the cicd track) once the
// apiserver serves them: a watch on an absent kind would keep the
// controller from starting, so the operator starts without it and grades
// those kinds on the resync until the engine appears.
type optionalWatches struct {
	mu      sync.Mutex
	ctl     controller.Controller
	cache   cache.Cache
	started map[schema.GroupVersionKind]bool
}

// WatchLabKinds watches these lab kinds' metadata from now on, like
// WatchedLabKinds: their changes start a grading pass. The caller has seen
// the apiserver serve them. Each kind is watched once, however often it is
// called; before SetupWithManager it does nothing.
func (r *LearningRotationReconciler) WatchLabKinds(gvks []schema.GroupVersionKind) error {
	w := &r.optional
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctl == nil {
		return nil
	}
	if w.started == nil {
		w.started = map[schema.GroupVersionKind]bool{}
	}
	for _, gvk := range gvks {
		if w.started[gvk] {
			continue
		}
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(gvk)
		var obj client.Object = meta
		if err := w.ctl.Watch(source.Kind(w.cache, obj, labEvents, r.own.notOwnWrite())); err != nil {
			return fmt.Errorf("watching %s: %w", gvk, err)
		}
		w.started[gvk] = true
	}
	return nil
}
