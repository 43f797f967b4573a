package controllers

import (
	"context"
	"strconv"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// statusVersions keeps the resourceVersion of each rotation's last status
// write by this process, so that a pass starts from the cache when the
// cache has caught up with that write and reads live only when it has not.
// Status accumulates (attempts, resets served, help requests): a pass must
// never start from a status older than the previous pass's write, and the
// watch event of that write can reach the cache after the next pass has
// started. Reading every pass live cost one GET per pass (issue 19).
type statusVersions struct {
	mu sync.Mutex
	rv map[string]uint64
}

// wrote records the version a status write returned.
func (v *statusVersions) wrote(lr *rotationsv1.LearningRotation) {
	n, err := strconv.ParseUint(lr.ResourceVersion, 10, 64)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rv == nil {
		v.rv = map[string]uint64{}
	}
	if err != nil {
		// Not a number: cannot be compared, so the next pass reads live.
		n = ^uint64(0)
	}
	v.rv[lr.Name] = n
}

func (v *statusVersions) forget(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.rv, name)
}

// cacheCurrent reports whether a cached copy at resourceVersion rv is at or
// past this process's last status write of the rotation. A rotation this
// process never wrote is current in the cache: the cache's initial list
// came after any write of a previous operator process.
func (v *statusVersions) cacheCurrent(name, rv string) bool {
	v.mu.Lock()
	last, ok := v.rv[name]
	v.mu.Unlock()
	if !ok {
		return true
	}
	n, err := strconv.ParseUint(rv, 10, 64)
	return err == nil && n >= last
}

// readRotation reads the rotation from the cache, or live when the cache is
// behind this process's last status write of it.
func (r *LearningRotationReconciler) readRotation(ctx context.Context, key client.ObjectKey, lr *rotationsv1.LearningRotation) error {
	err := r.Client.Get(ctx, key, lr)
	if err == nil && r.written.cacheCurrent(key.Name, lr.ResourceVersion) {
		return nil
	}
	// Behind, or not in the cache yet (a rotation just created): live.
	err = r.APIReader.Get(ctx, key, lr)
	if client.IgnoreNotFound(err) == nil && err != nil {
		r.written.forget(key.Name)
	}
	return err
}
