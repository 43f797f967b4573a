package grading

import (
	"slices"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource/builtin"
)

// TestEnvFromSources: the grading language has one variable per registered
// source, with that source's facts; a variable may be declared once.
func TestEnvFromSources(t *testing.T) {
	srcs := builtin.Sources(builtin.Deps{})
	var vars []string
	for _, s := range srcs {
		vars = append(vars, s.Variable())
	}
	if want := []string{VarKube, VarHelm, VarDocker, VarSubmission, VarTerraform, cicd.Variable}; !slices.Equal(vars, want) {
		t.Errorf("registry variables %v, want %v", vars, want)
	}
	e, err := NewEnv(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.KnownFacts(), KnownFacts()) {
		t.Error("the default language is not the registry's")
	}
	for _, dup := range [][]factsource.Source{
		append(srcs, kube.Source{}),
		{labNamed{kube.Source{}}},
	} {
		if _, err := NewEnv(dup); err == nil || !strings.Contains(err.Error(), "declared twice") {
			t.Errorf("NewEnv with a variable twice: %v", err)
		}
	}
}

// labNamed is a source that claims the lab variable.
type labNamed struct{ kube.Source }

func (labNamed) Variable() string { return VarLab }
