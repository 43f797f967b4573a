// Package cicd collects a lab's pipelines and their runs (Tekton Pipelines,
// tekton.dev/v1) as facts for checks: what the learner wrote (tasks, their
// order, params, workspaces, results) and what the runs did (status,
// reason, results such as the digest a run pushed, start and end). Objects
// are read as unstructured data and summarised into plain maps: no Tekton
// Go types, whose module drags in a second Kubernetes client stack.
package cicd

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Group and Version of the Tekton Pipelines objects read.
const (
	Group   = "tekton.dev"
	Version = "v1"
)

// maxText bounds every message copied into the facts: a run's message can
// quote a step's output, and facts are kept and hashed every pass.
const maxText = 1024

// kinds maps fact names to the kinds they list and how one object becomes
// its fact.
var kinds = map[string]struct {
	kind      string
	summarise func(*unstructured.Unstructured) map[string]any
}{
	"tasks":        {"TaskList", task},
	"taskruns":     {"TaskRunList", taskRun},
	"pipelines":    {"PipelineList", pipeline},
	"pipelineruns": {"PipelineRunList", pipelineRun},
}

// Facts returns the fact names, sorted.
func Facts() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Collector reads Tekton objects of a lab.
type Collector struct {
	Reader client.Reader
}

// Collect lists each requested kind in namespace and returns fact ->
// object name -> summary. Without Tekton installed (its kinds unknown to
// the apiserver) the facts are empty: no pipeline was written.
func (c *Collector) Collect(ctx context.Context, namespace string, facts []string) (map[string]any, error) {
	out := make(map[string]any, len(facts))
	for _, f := range facts {
		k, ok := kinds[f]
		if !ok {
			return nil, fmt.Errorf("unknown cicd fact %q", f)
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: Group, Version: Version, Kind: k.kind})
		byName := map[string]any{}
		err := c.Reader.List(ctx, list, client.InNamespace(namespace))
		switch {
		case meta.IsNoMatchError(err):
		case err != nil:
			return nil, fmt.Errorf("listing %s in %s: %w", f, namespace, err)
		default:
			for i := range list.Items {
				byName[list.Items[i].GetName()] = k.summarise(&list.Items[i])
			}
		}
		out[f] = byName
	}
	return out, nil
}
