package grading

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"k8s.io/apiserver/pkg/cel/library"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// Fact variables checks may read. Each is a map from a fact name to its data:
// kube.deployments is every Deployment of the lab, keyed by name.
const (
	VarKube = "kube"
	// VarHelm holds Helm's release storage: helm.releases['web'].
	VarHelm = "helm"
	// VarDocker holds the Docker track's facts: docker.dockerfile (the
	// submitted Dockerfile and its rule findings), docker.images (the lab's
	// pushed images), docker.registry and docker.workloads (Deployments
	// running them). See package facts/docker for their shape.
	VarDocker = "docker"
	// VarLab describes the lab: lab.namespace, lab.rotation.
	VarLab = "lab"
	// VarSubmission is the exercise's latest submission:
	// submission.files['main.tf'] is a file's text, submission.digest its sha256.
	VarSubmission = "submission"
	// VarTerraform holds the terraform facts of the exercise's submission:
	// terraform.valid, terraform.resources['kubernetes_config_map_v1.app'],
	// terraform.inSync (see package facts/terraform).
	VarTerraform = "terraform"
)

// knownFacts lists, per variable, the facts a collector provides. New tracks
// add a variable and its collector here.
var knownFacts = map[string][]string{
	VarKube:       kube.Resources(),
	VarHelm:       {helm.FactReleases},
	VarDocker:     docker.Facts(),
	VarSubmission: {"files", "digest"},
	VarTerraform:  terraform.Facts(),
}

// KnownFacts returns "kube.deployments" style names of every fact, sorted.
func KnownFacts() []string {
	var out []string
	for v, names := range knownFacts {
		for _, n := range names {
			out = append(out, v+"."+n)
		}
	}
	sort.Strings(out)
	return out
}

func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(VarKube, cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable(VarHelm, cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable(VarDocker, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarLab, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarSubmission, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarTerraform, cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		ext.Strings(),
		library.Quantity(),
		library.Lists(),
		library.Regex(),
	)
}

func unknownFactError(variable, name string) error {
	return fmt.Errorf("unknown fact %s.%s; known %s facts: %s", variable, name, variable, strings.Join(knownFacts[variable], ", "))
}
