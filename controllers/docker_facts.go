package controllers

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
)

// DockerFacts gives Docker exercises their facts: the submitted Dockerfile,
// the lab's images in the registry, and the Deployments running them.
type DockerFacts struct {
	Collector *docker.Collector
	// Reader lists the lab's Deployments around the cache.
	Reader client.Reader
}

// Collect reads the lab's registry and Deployments, and the submission if any.
func (d DockerFacts) Collect(ctx context.Context, in SubmissionInput) (map[string]any, error) {
	var files map[string]string
	if in.Submission != nil {
		files = in.Submission.Files
	}
	if err := d.Collector.Registry.Validate(); err != nil {
		// No registry configured: the Dockerfile is still graded, and the
		// image checks fail saying why.
		return docker.WithDockerfile(map[string]any{
			docker.FactImages: map[string]any{}, docker.FactWorkloads: map[string]any{},
			docker.FactRegistry: map[string]any{"error": "this cluster has no lab image registry (start the operator with --registry-host): " + err.Error()},
		}, files), nil
	}
	// The registry and the Deployments are the lab's: read them once per
	// pass, and give each exercise its own Dockerfile.
	lab, ok := in.labFacts[labDockerFacts]
	if !ok {
		deployments := &appsv1.DeploymentList{}
		if err := d.Reader.List(ctx, deployments, client.InNamespace(in.Namespace)); err != nil {
			return nil, err
		}
		var err error
		if lab, err = d.Collector.Collect(ctx, docker.Request{Namespace: in.Namespace, Deployments: deployments.Items}); err != nil {
			return nil, err
		}
		if in.labFacts != nil {
			in.labFacts[labDockerFacts] = lab
		}
	}
	return docker.WithDockerfile(lab, files), nil
}

// labDockerFacts keys the lab-wide docker facts in a pass's memo.
const labDockerFacts = "docker"

// NeedsSubmission: only docker.dockerfile comes from the learner's files;
// images and workloads are graded from the registry and the lab.
func (DockerFacts) NeedsSubmission(facts []string) bool {
	return slices.Contains(facts, "docker."+docker.FactDockerfile)
}
