package helm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of Helm's release storage: helm.releases['web'].
const Variable = "helm"

// Source gives checks the lab's Helm releases. A reset of an exercise
// deletes the objects of the releases its checks name, then their storage,
// so `helm install` starts over.
type Source struct{ Collector *Collector }

// NewSource reads labs through reader, around the cache.
func NewSource(reader client.Reader) Source {
	return Source{Collector: &Collector{Reader: reader, Witness: true}}
}

// Variable is "helm".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name, each a map of objects by name.
func (Source) Type() *cel.Type {
	return cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))
}

// Facts is releases alone.
func (Source) Facts() []string { return []string{FactReleases} }

// ReadsSubmission is false: the facts are the lab's, read once per pass.
func (Source) ReadsSubmission() bool { return false }

// NeedsSubmission is false: no fact comes from a submission.
func (Source) NeedsSubmission([]string) bool { return false }

// Collect reads every release of the lab.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	return s.Collector.Collect(ctx, req.Namespace)
}

// ResetTargets lists the objects of the releases the exercise's checks name
// (from each release's rendered manifest), then the releases' storage.
func (s Source) ResetTargets(ctx context.Context, req factsource.ResetRequest) (factsource.Targets, error) {
	releases := releasesIn(req.Scope)
	if len(releases) == 0 {
		return factsource.Targets{}, nil
	}
	// A reset deletes what the storage claims, forged or not.
	facts, err := (&Collector{Reader: s.Collector.Reader}).Collect(ctx, req.Namespace)
	if err != nil {
		return factsource.Targets{}, err
	}
	var out factsource.Targets
	all, _ := facts[FactReleases].(map[string]any)
	for _, name := range releases {
		rel, _ := all[name].(map[string]any)
		objs, _ := rel["manifestObjects"].([]any)
		for _, o := range objs {
			if m, ok := o.(map[string]any); ok {
				out.Objects = append(out.Objects, &unstructured.Unstructured{Object: m})
			}
		}
	}
	for _, name := range releases {
		out.Then = append(out.Then, factsource.Cleanup{
			What: "Helm release " + name,
			Run: func(ctx context.Context, learner client.Client) (string, error) {
				n, err := s.deleteRelease(ctx, learner, req.Namespace, name)
				if n == 0 {
					return "", err
				}
				return fmt.Sprintf("Helm release %s (%d revisions)", name, n), err
			},
		})
	}
	return out, nil
}

// releasesIn names the Helm releases an exercise's checks look at, from
// its scope entries such as "helm.releases/hello".
func releasesIn(scope []string) []string {
	set := map[string]bool{}
	for _, sc := range scope {
		if name, ok := strings.CutPrefix(sc, Variable+"."+FactReleases+"/"); ok && name != "" {
			set[name] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// deleteRelease deletes a release's storage Secrets, as the learner. They
// are listed by the operator (it reads Secrets around the cache) and
// matched by Helm's labels and name.
func (s Source) deleteRelease(ctx context.Context, learner client.Client, ns, release string) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "SecretList"})
	if err := s.Collector.Reader.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{ownerLabel: ownerHelm, nameLabel: release}); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		item := &list.Items[i]
		if !strings.HasPrefix(item.Name, secretPrefix+release+".v") {
			continue
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: item.Name, Namespace: ns}}
		if err := learner.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
