package docker

import (
	"context"
	"slices"

	"github.com/google/cel-go/cel"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of the Docker track's facts: docker.dockerfile
// (the submitted Dockerfile and its rule findings), docker.images (the lab's
// pushed images), docker.registry and docker.workloads (Deployments running them).
const Variable = "docker"

// Source gives Docker exercises their facts: the submitted Dockerfile, the
// lab's images in the registry, and the Deployments running them. A reset
// deletes nothing of its own: images stay in the registry.
type Source struct {
	Collector *Collector
	// Reader lists the lab's Deployments around the cache.
	Reader client.Reader
}

// NewSource collects with c, listing Deployments through reader.
func NewSource(c *Collector, reader client.Reader) Source {
	return Source{Collector: c, Reader: reader}
}

// Variable is "docker".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name.
func (Source) Type() *cel.Type { return cel.MapType(cel.StringType, cel.DynType) }

// Facts are the Docker facts' names.
func (Source) Facts() []string { return Facts() }

// ReadsSubmission is true: the Dockerfile is the exercise's submission.
func (Source) ReadsSubmission() bool { return true }

// NeedsSubmission is true for docker.dockerfile alone, the only fact from the
// learner's files; images and workloads are graded from the registry and the lab.
func (Source) NeedsSubmission(facts []string) bool { return slices.Contains(facts, FactDockerfile) }

// Collect reads the lab's registry and Deployments, and the submission if any.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	var files map[string]string
	if req.Submission != nil {
		files = req.Submission.Files
	}
	if err := s.Collector.Registry.Validate(); err != nil {
		// No registry configured: the Dockerfile is still graded, and the
		// image checks fail saying why.
		return WithDockerfile(map[string]any{
			FactImages: map[string]any{}, FactWorkloads: map[string]any{},
			FactRegistry: map[string]any{"error": "this cluster has no lab image registry (start the operator with --registry-host): " + err.Error()},
		}, files), nil
	}
	// The registry and the Deployments are the lab's: read them once per
	// pass, and give each exercise its own Dockerfile.
	lab, ok := req.Memo[Variable].(map[string]any)
	if !ok {
		deployments := &appsv1.DeploymentList{}
		if err := s.Reader.List(ctx, deployments, client.InNamespace(req.Namespace)); err != nil {
			return nil, err
		}
		var err error
		if lab, err = s.Collector.Collect(ctx, Request{Namespace: req.Namespace, Deployments: deployments.Items}); err != nil {
			return nil, err
		}
		if req.Memo != nil {
			req.Memo[Variable] = lab
		}
	}
	return WithDockerfile(lab, files), nil
}

// ResetTargets is empty: images stay in the registry.
func (Source) ResetTargets(context.Context, factsource.ResetRequest) (factsource.Targets, error) {
	return factsource.Targets{}, nil
}
