package cicd

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// Facts are tasks, taskruns, pipelines, pipelineruns, engine and configmaps.
func (Source) Facts() []string { return Facts() }

// ReadsSubmission is false: the facts are the lab's, read once per pass.
func (Source) ReadsSubmission() bool { return false }

// NeedsSubmission is false: no fact comes from a submission.
func (Source) NeedsSubmission([]string) bool { return false }

// Collect lists the kinds the checks read.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	return s.Collector.Collect(ctx, req.Namespace, req.Facts)
}

// ResetTargets: a reset deletes the Pipelines the exercise's checks name
// (cicd.pipelines['ci']) and every PipelineRun of them, whose TaskRuns and
// pods Tekton owns and deletes with them. Tasks stay: one Task may serve
// the pipelines of several exercises. Without Tekton there is nothing.
func (Source) ResetTargets(ctx context.Context, req factsource.ResetRequest) (factsource.Targets, error) {
	pipelines := pipelinesIn(req.Scope)
	if len(pipelines) == 0 {
		return factsource.Targets{}, nil
	}
	var out factsource.Targets
	runs := &unstructured.UnstructuredList{}
	runs.SetGroupVersionKind(schema.GroupVersionKind{Group: Group, Version: Version, Kind: "PipelineRunList"})
	err := req.Learner.List(ctx, runs, client.InNamespace(req.Namespace))
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return factsource.Targets{}, nil
	case err != nil:
		return factsource.Targets{}, fmt.Errorf("listing the PipelineRuns of %v: %w", pipelines, err)
	}
	for i := range runs.Items {
		ref, _, _ := unstructured.NestedString(runs.Items[i].Object, "spec", "pipelineRef", "name")
		if slices.Contains(pipelines, ref) {
			out.Objects = append(out.Objects, object("PipelineRun", req.Namespace, runs.Items[i].GetName()))
		}
	}
	for _, name := range pipelines {
		out.Objects = append(out.Objects, object("Pipeline", req.Namespace, name))
	}
	return out, nil
}

// pipelinesIn names the Pipelines an exercise's checks read by name, from
// scope entries such as "cicd.pipelines/ci".
func pipelinesIn(scope []string) []string {
	var out []string
	for _, sc := range scope {
		if name, ok := strings.CutPrefix(sc, Variable+".pipelines/"); ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func object(kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: Group, Version: Version, Kind: kind})
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}
