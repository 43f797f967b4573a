package labs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// One rotation may select every track, so every exercise of the catalog
// shares one lab: no two may create, expect or name the same object.
// Otherwise solving one breaks the other (terraform apply refuses a
// Deployment another exercise's starter made), or one's work is counted
// as attempts on the other.
func TestExercisesOfOneLabDoNotCollide(t *testing.T) {
	owners := map[string][]string{} // "Kind/name" -> exercises
	for _, ex := range mustCatalog(t) {
		for _, obj := range exerciseObjects(t, &ex) {
			owners[obj] = append(owners[obj], ex.Name)
		}
	}
	// A check that reads every tag of a repository names each of its images.
	for obj := range owners {
		repo, ok := strings.CutSuffix(obj, ":*")
		if !ok {
			continue
		}
		for other, more := range owners {
			if other != obj && strings.HasPrefix(other, repo+":") {
				owners[obj] = append(owners[obj], more...)
			}
		}
	}
	for _, obj := range slices.Sorted(maps.Keys(owners)) {
		if exs := uniq(owners[obj]); len(exs) > 1 {
			t.Errorf("%s is created, expected or named by %s: give each exercise its own objects", obj, strings.Join(exs, " and "))
		}
	}
}

// The model names the objects of the collisions the catalog had: each fails
// TestExercisesOfOneLabDoNotCollide when two exercises name it (checked
// against the catalog before its fix: api, hello, shop, web, hello:*).
func TestCollisionModelSeesTheOldCollisions(t *testing.T) {
	scope := func(expr string) []string {
		t.Helper()
		p, err := grading.Compile(&rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{{Name: "c", Points: 1, Message: "m", Expression: expr}}})
		if err != nil {
			t.Fatal(err)
		}
		return scopeObjects(p.AttemptScope())
	}
	for _, tt := range []struct{ expr, want string }{
		{"kube.deployments[?'web'].?status.?availableReplicas.orValue(0) >= 2", "Deployment/web"},
		{"docker.workloads[?'hello'].available.orValue(false)", "Deployment/hello"},
		{"docker.images[?'hello'].tags[?'v1'].digest.orValue('') != ''", "Image/hello:v1"},
		{"docker.images[?'hello'].tags.orValue({}).exists(t, t == '1.0.0')", "Image/hello:*"},
		{"helm.releases[?'hello'].status.orValue('') == 'deployed'", "HelmRelease/hello"},
	} {
		if got := scope(tt.expr); !slices.Contains(got, tt.want) {
			t.Errorf("%s names %v, want %s", tt.expr, got, tt.want)
		}
	}
}

// exerciseObjects lists what an exercise puts in the lab or reads by name,
// as "Kind/name": its starter objects and YAML starter files, the objects
// of its solved lab (cases/solved.yaml: the objects, the Helm releases and
// what they rendered, the Terraform-managed objects and state Secret, the
// images pushed and Deployments of the docker track) and the objects its
// checks name. Images are "Image/<repository>:<tag>", or ":*" when a check
// reads every tag.
func exerciseObjects(t *testing.T, ex *rotationsv1.Exercise) []string {
	t.Helper()
	var out []string
	objects, files := manifests(t, ex)
	for _, data := range objects {
		l := labObjects{}
		addObjects(t, l, string(data))
		out = append(out, slices.Collect(maps.Keys(l))...)
	}
	for _, data := range files {
		l := labObjects{}
		addObjects(t, l, string(data))
		out = append(out, slices.Collect(maps.Keys(l))...)
	}

	solved, _ := readCases(t, ex)
	if ex.Spec.Track == rotationsv1.TrackDocker {
		for _, d := range solved.Deployments {
			out = append(out, "Deployment/"+d.Name)
		}
		for _, p := range solved.Pushes {
			out = append(out, "Image/"+p.Ref)
		}
	} else {
		for key, obj := range buildLab(t, ex, solved, solved) {
			kind, name, _ := strings.Cut(key, "/")
			switch {
			case kind == kindTerraform:
				out = append(out, terraformObjects(obj)...)
			case kind == "ConfigMap" && name == "exercise-"+ex.Name, kind == "Secret" && name == lab.RegistrySecret,
				kind == "Secret" && strings.HasPrefix(name, "sh.helm.release.v1."):
				// The operator's own, or a Helm release's storage (HelmRelease/<name>).
			default:
				out = append(out, key)
			}
		}
	}

	p, err := grading.Compile(&ex.Spec)
	if err != nil {
		t.Fatalf("%s: %v", ex.Name, err)
	}
	return uniq(append(out, scopeObjects(p.AttemptScope())...))
}

// scopeObjects turns the named entries of an attempt scope into objects.
func scopeObjects(scope []string) []string {
	var out []string
	for _, entry := range scope {
		fact, path, named := strings.Cut(entry, "/")
		if !named {
			continue
		}
		keys := strings.Split(path, "/")
		name := strings.NewReplacer("~1", "/", "~0", "~").Replace(keys[0])
		variable, field, _ := strings.Cut(fact, ".")
		switch {
		case variable == "kube":
			kind := field
			if gvk, ok := kube.ListGVK(field); ok {
				kind = strings.TrimSuffix(gvk.Kind, "List")
			}
			out = append(out, kind+"/"+name)
		case fact == "docker.workloads":
			out = append(out, "Deployment/"+name)
		case fact == "docker.images":
			tag := "*"
			if len(keys) >= 3 && keys[1] == "tags" {
				tag = keys[2]
			}
			out = append(out, fmt.Sprintf("Image/%s:%s", name, tag))
		case fact == "helm.releases":
			out = append(out, kindHelmRelease+"/"+name)
		}
	}
	return out
}

// terraformKinds maps the kubernetes provider's resource types to kinds.
var terraformKinds = map[string]string{
	"kubernetes_deployment_v1": "Deployment", "kubernetes_deployment": "Deployment",
	"kubernetes_config_map_v1": "ConfigMap", "kubernetes_config_map": "ConfigMap",
	"kubernetes_service_v1": "Service", "kubernetes_service": "Service",
	"kubernetes_secret_v1": "Secret", "kubernetes_secret": "Secret",
}

// terraformObjects lists the objects recorded terraform facts manage, and
// the state Secret of their backend.
func terraformObjects(facts map[string]any) []string {
	var out []string
	if b, ok := facts["backend"].(map[string]any); ok {
		if suffix, _ := b["secretSuffix"].(string); suffix != "" {
			out = append(out, "Secret/tfstate-default-"+suffix)
		}
	}
	resources, _ := facts["resources"].(map[string]any)
	for addr, r := range resources {
		res, _ := r.(map[string]any)
		typ, _ := res["type"].(string)
		values, _ := res["values"].(map[string]any)
		meta, _ := values["metadata"].([]any)
		if len(meta) == 0 {
			continue
		}
		m, _ := meta[0].(map[string]any)
		name, _ := m["name"].(string)
		kind, ok := terraformKinds[typ]
		if !ok {
			kind = "terraform:" + typ
		}
		if name == "" {
			name = addr
		}
		out = append(out, kind+"/"+name)
	}
	return out
}

func uniq(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}
