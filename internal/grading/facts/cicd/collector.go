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
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// FactEngine is the fact that says whether the CI/CD engine is installed:
// {installed: bool, message: string}. Checks show its message while it is
// not: cicd.engine.installed ? ” : cicd.engine.message.
const FactEngine = "engine"

// NotInstalled is the engine's message when the cluster does not serve
// tekton.dev/v1.
const NotInstalled = "The CI/CD engine (Tekton Pipelines) is not installed in this cluster, so no pipeline can run yet: tell your mentor; a cluster admin installs it."

// Resources are the plural resources the facts list, sorted: what the
// operator reads and, once served, watches.
func Resources() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Kinds are the kinds of Resources, for watches.
func Kinds() []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	for _, r := range Resources() {
		out = append(out, schema.GroupVersionKind{Group: Group, Version: Version, Kind: strings.TrimSuffix(kinds[r].kind, "List")})
	}
	return out
}

// Facts returns the fact names, sorted: the resources, engine and configmaps.
func Facts() []string {
	out := append(Resources(), FactEngine, FactConfigMaps)
	sort.Strings(out)
	return out
}

// Collector reads Tekton objects of a lab.
type Collector struct {
	Reader client.Reader
}

// Collect lists each requested kind in namespace and returns fact ->
// object name -> summary. Without Tekton installed (its kinds unknown to
// the apiserver) the facts are empty and engine says it is not installed.
func (c *Collector) Collect(ctx context.Context, namespace string, facts []string) (map[string]any, error) {
	out := make(map[string]any, len(facts))
	installed, probed := true, false
	for _, f := range facts {
		if f == FactEngine {
			continue
		}
		if f == FactConfigMaps {
			cms, err := c.configMaps(ctx, namespace)
			if err != nil {
				return nil, err
			}
			out[f] = cms
			continue
		}
		k, ok := kinds[f]
		if !ok {
			return nil, fmt.Errorf("unknown cicd fact %q", f)
		}
		byName, served, err := c.list(ctx, namespace, f, k.kind, 0)
		if err != nil {
			return nil, err
		}
		installed, probed = installed && served, true
		for i := range byName {
			byName[i] = k.summarise(byName[i].(*unstructured.Unstructured))
		}
		out[f] = byName
	}
	if slices.Contains(facts, FactEngine) {
		if !probed {
			var err error
			if _, installed, err = c.list(ctx, namespace, "pipelineruns", kinds["pipelineruns"].kind, 1); err != nil {
				return nil, err
			}
		}
		engine := map[string]any{"installed": installed, "message": ""}
		if !installed {
			engine["message"] = NotInstalled
		}
		out[FactEngine] = engine
	}
	return out, nil
}

// list lists one kind in the lab, by name; served is false when the
// apiserver does not know the kind (no Tekton).
func (c *Collector) list(ctx context.Context, namespace, fact, kind string, limit int64) (map[string]any, bool, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: Group, Version: Version, Kind: kind})
	opts := []client.ListOption{client.InNamespace(namespace)}
	if limit > 0 {
		opts = append(opts, client.Limit(limit))
	}
	err := c.Reader.List(ctx, list, opts...)
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return map[string]any{}, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("listing %s in %s: %w", fact, namespace, err)
	}
	byName := make(map[string]any, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].GetName()] = &list.Items[i]
	}
	return byName, true, nil
}

// Summarise is one object's fact and summary, as Collect gives it (for
// tests that grade recorded objects); ok is false for a kind it does not read.
func Summarise(u *unstructured.Unstructured) (fact string, summary map[string]any, ok bool) {
	if u.GroupVersionKind() == configMapGVK {
		return FactConfigMaps, configMap(u), true
	}
	for f, k := range kinds {
		if u.GetAPIVersion() == Group+"/"+Version && u.GetKind()+"List" == k.kind {
			return f, k.summarise(u), true
		}
	}
	return "", nil, false
}
