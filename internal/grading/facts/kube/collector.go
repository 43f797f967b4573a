// Package kube collects the objects of a lab namespace as facts for checks:
// kube.<resource>[<name>] is the object as a plain map.
package kube

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// resources maps fact names to the kinds they list. Secrets are absent on
// purpose: checks must not read the learner's credentials or state.
var resources = map[string]schema.GroupVersionKind{
	"configmaps":               {Version: "v1", Kind: "ConfigMapList"},
	"services":                 {Version: "v1", Kind: "ServiceList"},
	"pods":                     {Version: "v1", Kind: "PodList"},
	"persistentvolumeclaims":   {Version: "v1", Kind: "PersistentVolumeClaimList"},
	"serviceaccounts":          {Version: "v1", Kind: "ServiceAccountList"},
	"deployments":              {Group: "apps", Version: "v1", Kind: "DeploymentList"},
	"statefulsets":             {Group: "apps", Version: "v1", Kind: "StatefulSetList"},
	"replicasets":              {Group: "apps", Version: "v1", Kind: "ReplicaSetList"},
	"jobs":                     {Group: "batch", Version: "v1", Kind: "JobList"},
	"cronjobs":                 {Group: "batch", Version: "v1", Kind: "CronJobList"},
	"ingresses":                {Group: "networking.k8s.io", Version: "v1", Kind: "IngressList"},
	"horizontalpodautoscalers": {Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscalerList"},
	"poddisruptionbudgets":     {Group: "policy", Version: "v1", Kind: "PodDisruptionBudgetList"},
}

// Resources returns the fact names this collector provides, sorted.
func Resources() []string {
	out := make([]string, 0, len(resources))
	for r := range resources {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// ListGVK returns the list kind of a fact, for watches and RBAC.
func ListGVK(resource string) (schema.GroupVersionKind, bool) {
	gvk, ok := resources[resource]
	return gvk, ok
}

// Collector reads lab objects straight from the apiserver (not a cache), so
// grading sees what the learner just did.
type Collector struct {
	Reader client.Reader
}

// Collect lists each requested resource in namespace and returns
// resource -> name -> object. Server-managed noise is stripped so the
// facts (and their hash) change only when the learner's objects do.
func (c *Collector) Collect(ctx context.Context, namespace string, names []string) (map[string]any, error) {
	out := make(map[string]any, len(names))
	for _, name := range names {
		gvk, ok := resources[name]
		if !ok {
			return nil, fmt.Errorf("unknown kube fact %q", name)
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		if err := c.Reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", name, namespace, err)
		}
		byName := make(map[string]any, len(list.Items))
		for i := range list.Items {
			if plumbing(name, &list.Items[i]) {
				continue
			}
			obj := list.Items[i].Object
			Normalize(obj)
			byName[list.Items[i].GetName()] = obj
		}
		out[name] = byName
	}
	return out, nil
}

// plumbing tells objects that are not the learner's work: the operator's
// own (instructions, kubeconfig) and the cluster CA bundle every namespace gets.
func plumbing(resource string, u *unstructured.Unstructured) bool {
	return u.GetLabels()["app.kubernetes.io/managed-by"] == "rotation-operator" ||
		(resource == "configmaps" && u.GetName() == "kube-root-ca.crt")
}

// Normalize removes fields that change without the learner doing anything:
// bookkeeping metadata and condition timestamps. metadata.generation stays:
// it changes only with the spec, and checks compare it with
// status.observedGeneration to know a rollout saw the latest spec.
func Normalize(obj map[string]any) {
	jsontree.DeleteKeys(obj, []string{"metadata"}, "managedFields", "resourceVersion", "uid", "creationTimestamp")
	jsontree.DeleteKeys(obj, []string{"status", "conditions", jsontree.Each}, "lastUpdateTime", "lastTransitionTime", "lastProbeTime")
}
