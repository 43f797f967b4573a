package controllers

import (
	"sync"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// staleReads remembers, per rotation, the resourceVersion a pass started
// from when that pass wrote status. Until the cache has seen the write, a
// pass would start from the old status: it would redo the work of the pass
// before, emit its events again (a second "Provisioned") and end in a
// conflicting status update that has to be retried. Events on the lab's
// objects created meanwhile queue such passes. The pass is put off instead,
// by staleRetry, until the cache holds the write (the write's own watch
// event starts no pass: see rotationChanged). The scale benchmark (docs/benchmarks.md) measured one such
// extra status write and one extra event per lab while provisioning.
type staleReads struct {
	mu sync.Mutex
	rv map[string]string
}

// wrote records that a pass which read rv wrote the rotation's status.
func (s *staleReads) wrote(name, rv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rv == nil {
		s.rv = map[string]string{}
	}
	s.rv[name] = rv
}

// stale tells whether lr, as read from the cache, predates a status write
// of this operator.
func (s *staleReads) stale(lr *rotationsv1.LearningRotation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.rv[lr.Name]
	if !ok {
		return false
	}
	if rv == lr.ResourceVersion {
		return true
	}
	delete(s.rv, lr.Name)
	return false
}

// staleRetry is how soon a pass put off for a stale cache is tried again;
// a watch event normally reaches the cache within milliseconds.
const staleRetry = 100 * time.Millisecond
