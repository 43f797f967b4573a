package grading

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"k8s.io/apiserver/pkg/cel/library"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/files"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource/builtin"
)

// VarLab describes the lab: lab.namespace, lab.rotation. Every other
// variable is a fact source's (package source/builtin lists them); each is
// a map from a fact name to its data: kube.deployments is every Deployment
// of the lab, keyed by name.
const VarLab = "lab"

// The built-in sources' variables, for callers that build facts by hand
// (tests, the lab catalogue's cases). A new source needs no entry here.
const (
	VarKube       = kube.Variable
	VarHelm       = helm.Variable
	VarDocker     = docker.Variable
	VarSubmission = files.Variable
	VarTerraform  = terraform.Variable
)

// Env is the grading language over a set of fact sources: one CEL variable
// per source, plus lab.
type Env struct {
	cel   *cel.Env
	known knownFacts
}

// knownFacts lists, per variable, the facts its source provides.
type knownFacts map[string][]string

// NewEnv builds the grading language of sources.
func NewEnv(sources []factsource.Source) (*Env, error) {
	known := knownFacts{}
	opts := []cel.EnvOption{cel.Variable(VarLab, cel.MapType(cel.StringType, cel.StringType))}
	for _, s := range sources {
		v := s.Variable()
		if _, dup := known[v]; dup || v == VarLab {
			return nil, fmt.Errorf("fact variable %q declared twice", v)
		}
		known[v] = s.Facts()
		opts = append(opts, cel.Variable(v, s.Type()))
	}
	e, err := cel.NewEnv(append(opts,
		cel.OptionalTypes(),
		ext.Strings(),
		library.Quantity(),
		library.Lists(),
		library.Regex(),
	)...)
	if err != nil {
		return nil, err
	}
	return &Env{cel: e, known: known}, nil
}

var defaultEnv = sync.OnceValues(func() (*Env, error) {
	return NewEnv(builtin.Sources(builtin.Deps{}))
})

// KnownFacts returns "kube.deployments" style names of every fact of the
// built-in sources, sorted.
func KnownFacts() []string {
	e, err := defaultEnv()
	if err != nil {
		return nil
	}
	return e.KnownFacts()
}

// KnownFacts returns "kube.deployments" style names of every fact, sorted.
func (e *Env) KnownFacts() []string {
	var out []string
	for v, names := range e.known {
		for _, n := range names {
			out = append(out, v+"."+n)
		}
	}
	sort.Strings(out)
	return out
}

func (k knownFacts) unknownFactError(variable, name string) error {
	return fmt.Errorf("unknown fact %s.%s; known %s facts: %s", variable, name, variable, strings.Join(k[variable], ", "))
}
