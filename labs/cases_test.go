package labs

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
)

// Grading cases are data: labs/<track>/<exercise>/cases/<case>.yaml, one
// state of the lab each, with the checks expected to fail in it.
// cases/solved.yaml is the solved lab, where every check passes; the other
// cases start from it (or from the starter, or from an empty lab) and say
// what differs. TestGradingCases loads them all and hands each to the
// runner of its track: the lab's objects and Helm releases (read back by
// the real helm collector) and recorded terraform facts for the
// kubernetes, helm and terraform tracks (grading_test.go), a real lab
// registry for the docker track (dockerharness_test.go).

// solvedCase is the file of the solved lab, the base of the other cases.
const solvedCase = "solved.yaml"

// Where a case starts from.
const (
	fromSolved  = "solved"  // the lab of cases/solved.yaml (the default)
	fromStarter = "starter" // the starter objects and YAML starter files, as just applied: no defaults, no status
	fromEmpty   = "empty"   // nothing
)

// labCase is one case file.
type labCase struct {
	// Name names the case in the test's output.
	Name string `json:"name"`
	// From is the lab the case starts from: solved (default), starter or
	// empty. cases/solved.yaml starts from an empty lab.
	From string `json:"from,omitempty"`

	// The kubernetes, helm and terraform tracks' lab.

	// Objects are added to the lab, shaped as the apiserver returns them
	// (server-set metadata, defaults, status).
	Objects []map[string]any `json:"objects,omitempty"`
	// Releases are the lab's Helm releases (see helmRelease); given, even
	// empty, they replace the releases of the lab the case starts from.
	Releases []helmRelease `json:"releases,omitempty"`
	// TerraformFacts is the file, relative to labs/, of the terraform facts
	// recorded from a real run of the solution (see terraform facts below).
	TerraformFacts string `json:"terraformFacts,omitempty"`
	// Remove takes objects out of the lab, by "Kind/name"; each must be in it.
	Remove []string `json:"remove,omitempty"`
	// Patch changes objects of the lab with RFC 6902 JSON patches, by
	// "Kind/name". The lab's Helm releases, as the helm collector reports
	// them, are "HelmRelease/<release>", its terraform facts
	// "Terraform/facts". An object whose metadata.name a patch changes is
	// renamed.
	Patch map[string]jsonpatch.Patch `json:"patch,omitempty"`

	// The docker track's lab, and the registry of cicd exercises that push
	// (cicdharness_test.go): each field given replaces the one of the lab
	// the case starts from.

	// Files are handed in with kubectl rotation submit.
	Files map[string]string `json:"files,omitempty"`
	// StarterFiles are the exercise's starter files handed in unchanged
	// with Files. Nothing is handed in when both are empty.
	StarterFiles []string `json:"starterFiles,omitempty"`
	// Pushes are the docker pushes to the lab registry, in order.
	Pushes []dockerPush `json:"pushes,omitempty"`
	// Deployments are the lab's Deployments.
	Deployments []dockerDeployment `json:"deployments,omitempty"`

	// Failing lists the checks that must fail, each with its own message;
	// every other check must pass, with every point. Empty: the exercise
	// passes.
	Failing []string `json:"failing,omitempty"`
	// Messages: for a failing check with a messageExpression, text its
	// message must contain; a failing check not listed shows its static
	// message.
	Messages map[string]string `json:"messages,omitempty"`
}

// readCases reads the case files of an exercise, the solved lab first, then
// the others by file name.
func readCases(t *testing.T, ex *rotationsv1.Exercise) (solved *labCase, cases []labCase) {
	t.Helper()
	dir := path.Join(string(ex.Spec.Track), ex.Name, CasesDir)
	entries, err := fs.ReadDir(os.DirFS("."), dir)
	if err != nil {
		t.Fatalf("%v: every exercise needs grading cases, and %s/%s", err, dir, solvedCase)
	}
	for _, e := range entries {
		file := path.Join(dir, e.Name())
		if e.IsDir() || path.Ext(e.Name()) != ".yaml" {
			t.Fatalf("%s: a cases folder holds <case>.yaml files only", file)
		}
		c := readCase(t, file)
		if c.Name == "" {
			t.Fatalf("%s: no name", file)
		}
		if e.Name() == solvedCase {
			if c.From != "" || len(c.Failing) > 0 {
				t.Fatalf("%s: the solved lab starts from nothing and fails no check", file)
			}
			solved = &c
			continue
		}
		if c.From == "" {
			c.From = fromSolved
		}
		if !slices.Contains([]string{fromSolved, fromStarter, fromEmpty}, c.From) {
			t.Fatalf("%s: from %q: solved, starter or empty", file, c.From)
		}
		if c.TerraformFacts != "" {
			t.Fatalf("%s: terraformFacts belongs to %s", file, solvedCase)
		}
		cases = append(cases, c)
	}
	if solved == nil {
		t.Fatalf("%s: no %s", dir, solvedCase)
	}
	return solved, cases
}

// readCase decodes a case file strictly (unknown or duplicate fields fail),
// integers as int64 as the collectors give them.
func readCase(t *testing.T, file string) labCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var c labCase
	strict, err := sigsjson.UnmarshalStrict(j, &c, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = fmt.Errorf("%v", strict)
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// patchObject applies a JSON patch to an object, in place.
func patchObject(t *testing.T, key string, obj map[string]any, p jsonpatch.Patch) {
	t.Helper()
	doc, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = p.Apply(doc)
	if err != nil {
		t.Fatalf("patch %s: %v", key, err)
	}
	clear(obj)
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(doc, &obj); err != nil {
		t.Fatal(err)
	}
}

// TestGradingCases grades every case of every exercise as the operator
// does. In each, exactly the listed checks fail, each with its own message;
// none errs; a case with no failing check passes with every point, the
// others do not. Every exercise has a passing case, and every check fails
// in some case.
func TestGradingCases(t *testing.T) {
	docker := startDockerRunner(t)
	for _, ex := range mustCatalog(t) {
		t.Run(ex.Name, func(t *testing.T) {
			p, err := grading.Compile(&ex.Spec)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			messages := map[string]string{}
			for _, c := range ex.Spec.Checks {
				messages[c.Name] = c.Message
			}
			solved, cases := readCases(t, &ex)
			evaluate := func(t *testing.T, c *labCase) grading.Result {
				if ex.Spec.Track == rotationsv1.TrackDocker {
					return docker.grade(t, p, &ex, solved, c)
				}
				if ex.Spec.Track == rotationsv1.TrackCICD && usesRegistry(solved, c) {
					return docker.gradeCICD(t, p, &ex, solved, c)
				}
				return grade(t, p, buildLab(t, &ex, solved, c))
			}
			failed := map[string]bool{}
			passed := false
			for _, tc := range append([]labCase{*solved}, cases...) {
				t.Run(tc.Name, func(t *testing.T) {
					r := evaluate(t, &tc)
					var gotFailing []string
					for _, c := range r.Checks {
						if strings.Contains(c.Message, "evaluation error") || strings.Contains(c.Message, "not a bool") {
							t.Errorf("check %s errs instead of failing: %s", c.Name, c.Message)
						}
						if !c.Passed {
							gotFailing = append(gotFailing, c.Name)
							failed[c.Name] = true
							if want, ok := tc.Messages[c.Name]; ok {
								if !strings.Contains(c.Message, want) {
									t.Errorf("check %s failed with %q, want a message with %q", c.Name, c.Message, want)
								}
							} else if c.Message != messages[c.Name] {
								t.Errorf("check %s failed with %q, want its message %q", c.Name, c.Message, messages[c.Name])
							}
						}
					}
					want := slices.Clone(tc.Failing)
					sort.Strings(want)
					sort.Strings(gotFailing)
					if !slices.Equal(gotFailing, want) {
						t.Errorf("failing checks %v, want %v", gotFailing, want)
					}
					if len(tc.Failing) == 0 {
						passed = true
						if !r.Passed || r.Points != r.MaxPoints {
							t.Errorf("Passed %v with %d/%d points, want a pass with every point", r.Passed, r.Points, r.MaxPoints)
						}
					} else if r.Passed || r.Points == r.MaxPoints {
						t.Errorf("Passed %v with %d/%d points, want a fail", r.Passed, r.Points, r.MaxPoints)
					}
				})
			}
			if !passed {
				t.Error("no case passes every check")
			}
			for _, c := range ex.Spec.Checks {
				if !failed[c.Name] {
					t.Errorf("no case makes check %s fail", c.Name)
				}
			}
		})
	}
}
