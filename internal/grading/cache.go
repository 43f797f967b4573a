package grading

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Cache keeps one compiled Program per Exercise generation, so checks are
// compiled once and not on every grading pass.
type Cache struct {
	// Env is the grading language compiled to; nil means the built-in sources'.
	Env *Env

	mu      sync.Mutex
	entries map[types.UID]cacheEntry
}

type cacheEntry struct {
	generation int64
	program    *Program
	err        error
}

// Get returns the exercise's compiled program, compiling it on first use of
// a generation. A compile error is cached too.
func (c *Cache) Get(ex *rotationsv1.Exercise) (*Program, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[ex.UID]; ok && e.generation == ex.Generation {
		return e.program, e.err
	}
	p, err := c.compile(&ex.Spec)
	if c.entries == nil {
		c.entries = map[types.UID]cacheEntry{}
	}
	c.entries[ex.UID] = cacheEntry{generation: ex.Generation, program: p, err: err}
	return p, err
}

// Forget drops a deleted exercise.
func (c *Cache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, uid)
}

func (c *Cache) compile(spec *rotationsv1.ExerciseSpec) (*Program, error) {
	if c.Env != nil {
		return c.Env.Compile(spec)
	}
	return Compile(spec)
}
