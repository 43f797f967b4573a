package cicd

import (
	"context"

	"github.com/google/cel-go/cel"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of the cicd facts:
// cicd.pipelineruns['ci-1'].status == 'True'.
const Variable = "cicd"

// Source gives checks the lab's pipelines and runs.
type Source struct{ Collector *Collector }

// NewSource reads labs through reader, around the cache.
func NewSource(reader client.Reader) Source { return Source{Collector: &Collector{Reader: reader}} }

// Variable is "cicd".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name, each a map of summaries by object name.
func (Source) Type() *cel.Type {
	return cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))
}

// Facts are tasks, taskruns, pipelines and pipelineruns.
func (Source) Facts() []string { return Facts() }

// ReadsSubmission is false: the facts are the lab's, read once per pass.
func (Source) ReadsSubmission() bool { return false }

// NeedsSubmission is false: no fact comes from a submission.
func (Source) NeedsSubmission([]string) bool { return false }

// Collect lists the kinds the checks read.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	return s.Collector.Collect(ctx, req.Namespace, req.Facts)
}

// ResetTargets is empty for now: the exercises will say which runs a reset
// deletes.
func (Source) ResetTargets(context.Context, factsource.ResetRequest) (factsource.Targets, error) {
	return factsource.Targets{}, nil
}
