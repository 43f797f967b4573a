package operator

import (
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
)

// cicdEngine probes whether the cluster serves Tekton Pipelines, the CI/CD
// engine of the cicd track. The install does not ship it (a prerequisite,
// like a StorageClass): without it the operator runs as before, and
// rotations with cicd exercises say so. Once served, onServed starts the
// watches of its kinds, so runs are graded as they change.
type cicdEngine struct {
	discovery discovery.DiscoveryInterface
	onServed  func([]schema.GroupVersionKind) error
}

// probe returns nil when every kind the cicd facts read is served, else
// why not, in the words the rotation shows.
func (e cicdEngine) probe() error {
	gv := schema.GroupVersion{Group: cicd.Group, Version: cicd.Version}
	list, err := e.discovery.ServerResourcesForGroupVersion(gv.String())
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the cluster does not serve %s: the CI/CD engine, Tekton Pipelines, is not installed (a prerequisite of the cicd track: make run installs it on a real node, a cluster admin installs it elsewhere); cicd exercises cannot run pipelines until it is served", gv)
	case err != nil:
		return fmt.Errorf("cannot tell whether the CI/CD engine (Tekton Pipelines, %s) is installed: %w", gv, err)
	}
	var missing []string
	for _, r := range cicd.Resources() {
		if !slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == r }) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the CI/CD engine's API %s lacks %v: install Tekton Pipelines v1.x", gv, missing)
	}
	return nil
}

// cicdProblem is the rotation's view of a probe error: only rotations with
// cicd exercises meet it.
func cicdProblem(err error) controllers.InfrastructureProblem {
	return controllers.InfrastructureProblem{Reason: rotationsv1.ReasonCICDEngineNotInstalled, Message: err.Error(), Track: rotationsv1.TrackCICD}
}
