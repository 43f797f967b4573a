package labs

import (
	"fmt"
	"regexp"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
)

// The cicd track's runner: the lab's objects as for the kubernetes track
// (Tekton objects summarised by the cicd collector), and, for exercises
// graded against the lab registry, the docker track's registry facts: the
// case's pushes and Deployments (see dockerharness_test.go) in a real lab
// registry. A run's result names a pushed image's digest as
// $(digest REF), REF as in pushes (hello:ci-1): pushes are random layers,
// so the digest is known once pushed.

// digestPlaceholder is $(digest REF) in a case's objects.
var digestPlaceholder = regexp.MustCompile(`\$\(digest ([^)]+)\)`)

// usesRegistry tells whether a cicd case's lab has pushes or Deployments.
func usesRegistry(solved, c *labCase) bool {
	return len(solved.Pushes)+len(solved.Deployments)+len(c.Pushes)+len(c.Deployments) > 0
}

// gradeCICD grades a cicd case whose lab involves the registry.
func (d *dockerRunner) gradeCICD(t *testing.T, p *grading.Program, ex *rotationsv1.Exercise, solved, c *labCase) grading.Result {
	t.Helper()
	lab := buildLab(t, ex, solved, c)
	pushes, deployments := c.Pushes, c.Deployments
	if c.From == fromSolved { // a case's fields replace the solved lab's
		if pushes == nil {
			pushes = solved.Pushes
		}
		if deployments == nil {
			deployments = solved.Deployments
		}
	}
	d.labs++
	facts, digests := d.facts(t, fmt.Sprintf("lab-d%d", d.labs), nil, pushes, deployments)
	for key, obj := range lab {
		lab[key] = fillDigests(t, obj, digests).(map[string]any)
	}
	return gradeWithDocker(t, p, lab, facts[grading.VarDocker].(map[string]any))
}

// fillDigests replaces $(digest REF) in every string of v.
func fillDigests(t *testing.T, v any, digests map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fillDigests(t, e, digests)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fillDigests(t, e, digests)
		}
		return x
	case string:
		return digestPlaceholder.ReplaceAllStringFunc(x, func(m string) string {
			ref := digestPlaceholder.FindStringSubmatch(m)[1]
			d, ok := digests[ref]
			if !ok {
				t.Fatalf("%s: no push of %s in the case", m, ref)
			}
			return d
		})
	}
	return v
}
