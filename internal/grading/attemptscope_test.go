package grading

import (
	"slices"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestAttemptScopeNarrowsToTheKeysChecksName(t *testing.T) {
	compile := func(exprs ...string) *Program {
		t.Helper()
		spec := &rotationsv1.ExerciseSpec{}
		for i, e := range exprs {
			spec.Checks = append(spec.Checks, rotationsv1.Check{Name: string(rune('a' + i)), Points: 1, Message: "m", Expression: e})
		}
		p, err := Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name  string
		exprs []string
		want  []string
	}{
		{"one tag", []string{
			"docker.images[?'hello'].tags[?'v1'].digest.orValue('') != ''",
			"!docker.images[?'hello'].tags[?'v1'].runsAsRoot.orValue(true)",
		}, []string{"docker.images/hello/tags/v1"}},
		{"two tags", []string{
			"docker.images[?'hello'].tags[?'v1'].digest.orValue('') != ''",
			"docker.images[?'hello'].tags[?'v2'].size.orValue(0) > 0",
		}, []string{"docker.images/hello/tags/v1", "docker.images/hello/tags/v2"}},
		{"every tag of the repository", []string{
			"docker.images[?'hello'].tags[?'v1'].digest.orValue('') != ''",
			"docker.images[?'hello'].tags.orValue({}).exists(t, t.startsWith('1.'))",
		}, []string{"docker.images/hello"}},
		{"an object read by fields only stays whole", []string{
			"kube.deployments[?'web'].spec.replicas.orValue(0) == 2",
		}, []string{"kube.deployments/web"}},
		{"'name' in fact is the whole object", []string{
			"'web' in kube.deployments && kube.deployments['web'].metadata.labels['app'] == 'web'",
		}, []string{"kube.deployments/web"}},
		{"an annotation, through fields", []string{
			"kube.configmaps[?'c'].metadata.annotations['meta.helm.sh/release-name'].orValue('') == 'x'",
		}, []string{"kube.configmaps/c/metadata/annotations/meta.helm.sh~1release-name"}},
		{"whole facts stay whole", []string{
			"kube.services.exists(s, s == 'web')",
			"docker.images[?'hello'].tags[?'v1'].digest.orValue('') != ''",
		}, []string{"docker.images/hello/tags/v1", "kube.services"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Sorted(slices.Values(compile(tt.exprs...).AttemptScope()))
			if !slices.Equal(got, tt.want) {
				t.Errorf("AttemptScope = %v, want %v", got, tt.want)
			}
		})
	}
}

// Pushing hello:v1 is an attempt on the exercise that reads hello:v1, and
// no attempt on the one that reads hello:v2 of the same repository.
func TestPushingOneTagChangesOnlyItsReadersHash(t *testing.T) {
	p, err := Compile(&rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{{Name: "v2", Points: 1, Message: "m",
		Expression: "docker.images[?'hello'].tags[?'v2'].size.orValue(0) > 0"}}})
	if err != nil {
		t.Fatal(err)
	}
	lab := func(tags map[string]any) map[string]any {
		return map[string]any{"docker": map[string]any{"images": map[string]any{"hello": map[string]any{"tags": tags}}}}
	}
	v2 := map[string]any{"digest": "sha256:2", "size": int64(10)}
	before, _ := HashFacts(lab(map[string]any{"v2": v2}), p.AttemptScope())
	after, _ := HashFacts(lab(map[string]any{"v2": v2, "v1": map[string]any{"digest": "sha256:1"}}), p.AttemptScope())
	if before != after {
		t.Error("pushing hello:v1 changed the hash of an exercise that reads only hello:v2")
	}
	rebuilt, _ := HashFacts(lab(map[string]any{"v2": map[string]any{"digest": "sha256:3", "size": int64(11)}}), p.AttemptScope())
	if rebuilt == before {
		t.Error("pushing hello:v2 again did not change its reader's hash")
	}
	// The compile-time scope (the whole repository) would have counted it.
	whole1, _ := HashFacts(lab(map[string]any{"v2": v2}), p.Scope)
	whole2, _ := HashFacts(lab(map[string]any{"v2": v2, "v1": map[string]any{"digest": "sha256:1"}}), p.Scope)
	if whole1 == whole2 {
		t.Error("the repository-wide scope should see the new tag")
	}
}
