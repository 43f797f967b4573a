// Package builtin is the registry of the operator's fact sources: the
// grading language, grading passes, their metrics and resets all loop over
// Sources. A new track adds one line here for its package's Source.
package builtin

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/files"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/registry"
)

// Deps are what the sources are built with. The zero Deps builds sources
// that describe themselves (variables, types, facts) but cannot collect.
type Deps struct {
	// Reader reads labs around the cache: grading sees what the learner just did.
	Reader client.Reader
	// Terraform runs Terraform submissions; nil: the terraform facts say
	// this operator cannot.
	Terraform *terraform.Collector
	// Registry is the lab image registry; the zero Config: the docker
	// registry facts say there is none.
	Registry registry.Config
}

// Sources lists every fact source, one line each, in the order a pass
// collects them and a reset deletes their targets.
func Sources(d Deps) []factsource.Source {
	return []factsource.Source{
		kube.NewSource(d.Reader),
		helm.NewSource(d.Reader),
		docker.NewSource(&docker.Collector{Registry: d.Registry}, d.Reader),
		files.Source{},
		terraform.NewSource(d.Terraform, d.Reader),
		cicd.NewSource(d.Reader),
	}
}
