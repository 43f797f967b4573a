package labs

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	cicdfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
	dockerfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	helmfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	tffacts "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// labNamespace is the namespace of the test lab.
const labNamespace = "lab-x"

// labObjects are a lab's objects by "Kind/name", as the collector returns
// them: plain maps, integers as int64. Helm releases are in it too, as
// "HelmRelease/<release name>": the helm collector's release entry.
type labObjects map[string]map[string]any

// exerciseConfigMapPrefix begins the name of an exercise's ConfigMap in a
// lab (instructions and starter files; controllers.InstructionsConfigMap).
const exerciseConfigMapPrefix = "exercise-"

// kindHelmRelease keys a Helm release in labObjects; grade hands them to
// the checks as helm.releases.
const kindHelmRelease = "HelmRelease"

func (l labObjects) get(t *testing.T, key string) map[string]any {
	t.Helper()
	o, ok := l[key]
	if !ok {
		t.Fatalf("no object %s in the lab", key)
	}
	return o
}

// fromYAML decodes YAML as the apiserver's JSON is decoded into
// unstructured objects: integers become int64.
func fromYAML(t *testing.T, y string) any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("%v in\n%s", err, y)
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		t.Fatalf("%v in\n%s", err, y)
	}
	return v
}

func addObjects(t *testing.T, l labObjects, docs ...string) {
	t.Helper()
	for _, doc := range docs {
		for _, part := range strings.Split(doc, "\n---\n") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			obj, ok := fromYAML(t, part).(map[string]any)
			if !ok {
				t.Fatalf("not an object:\n%s", part)
			}
			u := unstructured.Unstructured{Object: obj}
			l[u.GetKind()+"/"+u.GetName()] = obj
		}
	}
}

// resourceOf maps the kinds the tests use to their kube facts.
var resourceOf = map[string]string{
	"ConfigMap":  "configmaps",
	"Deployment": "deployments",
	"Pod":        "pods",
	"ReplicaSet": "replicasets",
	"Service":    "services",
}

// emptyDockerFacts are the docker facts of a lab where nothing was
// submitted, pushed or deployed.
func emptyDockerFacts() map[string]any {
	return map[string]any{
		dockerfacts.FactDockerfile: dockerfacts.DockerfileFacts(nil),
		dockerfacts.FactImages:     map[string]any{},
		dockerfacts.FactRegistry:   map[string]any{"host": "127.0.0.1:5000", "repositoryPrefix": "127.0.0.1:5000/" + labNamespace + "/", "error": "", "catalogError": "", "repositoriesTruncated": false, "deploymentsTruncated": false},
		dockerfacts.FactWorkloads:  map[string]any{},
	}
}

// emptyCICDFacts are the cicd facts of a lab with Tekton installed and no
// pipeline yet.
func emptyCICDFacts() map[string]any {
	out := map[string]any{cicdfacts.FactEngine: map[string]any{"installed": true, "message": ""}}
	for _, r := range cicdfacts.Resources() {
		out[r] = map[string]any{}
	}
	out[cicdfacts.FactConfigMaps] = map[string]any{}
	return out
}

// grade evaluates an exercise against a lab as the operator does: every
// kube fact present (empty when the lab has none of that kind), objects
// normalized by the collector's Normalize, and helm.releases (empty when
// the lab has no release).
func grade(t *testing.T, p *grading.Program, l labObjects) grading.Result {
	t.Helper()
	return gradeWithDocker(t, p, l, emptyDockerFacts())
}

// gradeWithDocker is grade with the docker facts given (the cicd track's
// registry, see cicdharness_test.go).
func gradeWithDocker(t *testing.T, p *grading.Program, l labObjects, docker map[string]any) grading.Result {
	t.Helper()
	facts := map[string]any{}
	for _, r := range kube.Resources() {
		facts[r] = map[string]any{}
	}
	releases := map[string]any{}
	terraform := tffacts.EmptyFacts()
	pipelines := emptyCICDFacts()
	for key, obj := range l {
		kind, name, _ := strings.Cut(key, "/")
		if fact, summary, ok := cicdfacts.Summarise(&unstructured.Unstructured{Object: obj}); ok {
			pipelines[fact].(map[string]any)[name] = summary
			if kind != "ConfigMap" { // a ConfigMap is a kube fact too
				continue
			}
		}
		if kind == kindHelmRelease {
			releases[name] = obj
			continue
		}
		if kind == kindTerraform {
			terraform = obj
			continue
		}
		r, ok := resourceOf[kind]
		if !ok {
			t.Fatalf("%s: add its kind to resourceOf", key)
		}
		if kind == "ConfigMap" && strings.HasPrefix(name, exerciseConfigMapPrefix) {
			// The operator's own: the kube collector leaves out what it
			// labels managed-by rotation-operator, as it labels these.
			continue
		}
		kube.Normalize(obj)
		facts[r].(map[string]any)[name] = obj
	}
	cicdfacts.Explain(pipelines["pipelineruns"].(map[string]any), pipelines["taskruns"].(map[string]any))
	for _, f := range p.Facts {
		variable, name, _ := strings.Cut(f, ".")
		_, kubeFact := facts[name]
		provided := variable == grading.VarKube && kubeFact || f == grading.VarHelm+"."+helmfacts.FactReleases ||
			variable == grading.VarTerraform || variable == grading.VarDocker || variable == cicdfacts.Variable
		if !provided {
			t.Fatalf("the program reads %s, which the test does not provide", f)
		}
	}
	return p.Evaluate(context.Background(), map[string]any{
		grading.VarKube:      facts,
		grading.VarHelm:      map[string]any{helmfacts.FactReleases: releases},
		grading.VarTerraform: terraform,
		grading.VarDocker:    docker,
		cicdfacts.Variable:   pipelines,
		grading.VarLab:       map[string]any{"namespace": labNamespace, "rotation": "x"},
	})
}

// TestGradingEmptyLab grades every exercise in a lab with no objects: every
// check fails with its own message, none errs.
func TestGradingEmptyLab(t *testing.T) {
	for _, ex := range mustCatalog(t) {
		p, err := grading.Compile(&ex.Spec)
		if err != nil {
			t.Fatalf("%s: %v", ex.Name, err)
		}
		r := grade(t, p, labObjects{})
		if r.Passed || r.AnyPassed || r.Points != 0 {
			t.Errorf("%s: an empty lab gets %d points (Passed %v, AnyPassed %v)", ex.Name, r.Points, r.Passed, r.AnyPassed)
		}
		for i, c := range r.Checks {
			if c.Message != ex.Spec.Checks[i].Message {
				t.Errorf("%s: check %s in an empty lab: %q, want its message", ex.Name, c.Name, c.Message)
			}
		}
	}
}

// TestGradingStarterDoesNotPass grades every exercise against its starter
// as created: it must not pass and no check may err.
func TestGradingStarterDoesNotPass(t *testing.T) {
	for _, ex := range mustCatalog(t) {
		p, err := grading.Compile(&ex.Spec)
		if err != nil {
			t.Fatalf("%s: %v", ex.Name, err)
		}
		l := labObjects{}
		objects, files := manifests(t, &ex)
		for _, data := range objects {
			addObjects(t, l, string(data))
		}
		for _, data := range files {
			addObjects(t, l, string(data))
		}
		r := grade(t, p, l)
		if r.Passed {
			t.Errorf("%s: the starter passes", ex.Name)
		}
		for _, c := range r.Checks {
			if strings.Contains(c.Message, "evaluation error") {
				t.Errorf("%s: check %s errs on the starter: %s", ex.Name, c.Name, c.Message)
			}
		}
	}
}

// buildLab builds the lab of a case of the kubernetes, helm or terraform
// track: the lab it starts from with the case's objects and releases
// added, then its removals and patches.
func buildLab(t *testing.T, ex *rotationsv1.Exercise, solved, c *labCase) labObjects {
	t.Helper()
	l := labObjects{}
	releases := c.Releases
	switch c.From {
	case "": // the solved lab itself
	case fromSolved:
		addObjectMaps(t, l, solved.Objects...)
		if releases == nil {
			releases = solved.Releases
		}
		if solved.TerraformFacts != "" {
			l[kindTerraform+"/facts"] = terraformFacts(t, solved.TerraformFacts)
		}
	case fromStarter:
		objects, files := manifests(t, ex)
		for _, data := range objects {
			addObjects(t, l, string(data))
		}
		for _, data := range files {
			addObjects(t, l, string(data))
		}
	}
	addObjectMaps(t, l, c.Objects...)
	if c.From == "" && c.TerraformFacts != "" {
		l[kindTerraform+"/facts"] = terraformFacts(t, c.TerraformFacts)
	}
	addReleases(t, l, releases...)
	for _, key := range c.Remove {
		l.get(t, key)
		delete(l, key)
	}
	for _, key := range slices.Sorted(maps.Keys(c.Patch)) {
		patchObject(t, key, l.get(t, key), c.Patch[key])
	}
	// A patch may rename an object.
	for key, obj := range l {
		u := unstructured.Unstructured{Object: obj}
		if name := u.GetName(); name != "" && u.GetKind()+"/"+name != key {
			delete(l, key)
			l[u.GetKind()+"/"+name] = obj
		}
	}
	return l
}

// addObjectMaps adds decoded objects to a lab, each a copy.
func addObjectMaps(t *testing.T, l labObjects, objects ...map[string]any) {
	t.Helper()
	for _, obj := range objects {
		u := unstructured.Unstructured{Object: obj}
		l[u.GetKind()+"/"+u.GetName()] = runtime.DeepCopyJSON(obj)
	}
}
