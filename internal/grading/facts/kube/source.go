package kube

import (
	"context"

	"github.com/google/cel-go/cel"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of the kube facts: kube.deployments['api'].
const Variable = "kube"

// Source gives checks the lab's objects. A reset deletes none of them by
// itself: the exercise's starter objects and the other sources' say what.
type Source struct{ Collector *Collector }

// NewSource reads labs through reader, around the cache.
func NewSource(reader client.Reader) Source { return Source{Collector: &Collector{Reader: reader}} }

// Variable is "kube".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name, each a map of objects by name.
func (Source) Type() *cel.Type {
	return cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))
}

// Facts are the kinds of objects it lists.
func (Source) Facts() []string { return Resources() }

// ReadsSubmission is false: the facts are the lab's, read once per pass.
func (Source) ReadsSubmission() bool { return false }

// NeedsSubmission is false: no fact comes from a submission.
func (Source) NeedsSubmission([]string) bool { return false }

// Collect lists the kinds the checks read.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	return s.Collector.Collect(ctx, req.Namespace, req.Facts)
}

// ResetTargets is empty: the starter objects and the other sources say what goes.
func (Source) ResetTargets(context.Context, factsource.ResetRequest) (factsource.Targets, error) {
	return factsource.Targets{}, nil
}
