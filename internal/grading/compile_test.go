package grading

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// check builds a check worth one point whose message is "<name> fails".
func check(name, expr string) rotationsv1.Check {
	return rotationsv1.Check{Name: name, Expression: expr, Points: 1, Message: name + " fails"}
}

func specOf(checks ...rotationsv1.Check) *rotationsv1.ExerciseSpec {
	return &rotationsv1.ExerciseSpec{Title: "t", Instructions: "i", Checks: checks}
}

func mustCompile(t testing.TB, checks ...rotationsv1.Check) *Program {
	t.Helper()
	p, err := Compile(specOf(checks...))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func allKubeFacts() []string {
	var out []string
	for _, f := range KnownFacts() {
		if strings.HasPrefix(f, VarKube+".") {
			out = append(out, f)
		}
	}
	return out
}

func TestCompileFacts(t *testing.T) {
	all := allKubeFacts()
	if len(all) < 10 || !contains(all, "kube.deployments") || contains(all, "kube.secrets") {
		t.Fatalf("unexpected kube facts %v", all)
	}
	tests := []struct {
		name  string
		exprs []string
		want  []string
	}{
		{"select", []string{"kube.deployments['web'].spec.replicas == 3"}, []string{"kube.deployments"}},
		{"index form", []string{"kube['services'].size() > 0"}, []string{"kube.services"}},
		{"optional index", []string{"kube[?'services'].hasValue()"}, []string{"kube.services"}},
		{"optional select", []string{"kube.?deployments.hasValue()"}, []string{"kube.deployments"}},
		{"has", []string{"has(kube.configmaps)"}, []string{"kube.configmaps"}},
		{"in", []string{"'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3"}, []string{"kube.deployments"}},
		{"macro over a fact", []string{"kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))"}, []string{"kube.services"}},
		{"two facts, deduplicated and sorted", []string{
			"kube.services.size() == 1 && kube.deployments.size() == 1",
			"kube['deployments'].all(d, d != '')",
		}, []string{"kube.deployments", "kube.services"}},
		{"lab is not a kube fact", []string{"lab.namespace != '' && kube.pods.size() == 0"}, []string{"kube.pods"}},
		{"no facts", []string{"true", "lab.namespace.startsWith('lab-')"}, nil},
		{"bare kube in size", []string{"size(kube) > 0"}, all},
		{"bare kube in membership", []string{"'deployments' in kube"}, all},
		{"bare kube as macro range", []string{"kube.exists(r, r == 'pods')"}, all},
		{"dynamic index", []string{"['pods'].exists(r, size(kube[r]) > 0)"}, all},
		{"bare kube in a list", []string{"[kube][0].size() > 0"}, all},
		{"bare kube next to a select", []string{"kube.pods.size() == 0 || size(kube) == 0"}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []rotationsv1.Check
			for i, e := range tt.exprs {
				checks = append(checks, check("c"+string(rune('a'+i)), e))
			}
			p := mustCompile(t, checks...)
			if !reflect.DeepEqual(p.Facts, tt.want) {
				t.Errorf("Facts = %v, want %v", p.Facts, tt.want)
			}
			// Every fact read is in the attempt scope, whole or by object.
			var scoped []string
			for _, sc := range p.Scope {
				f, _, _ := strings.Cut(sc, "/")
				if !contains(scoped, f) {
					scoped = append(scoped, f)
				}
			}
			if !reflect.DeepEqual(scoped, tt.want) {
				t.Errorf("Scope = %v does not cover Facts %v", p.Scope, tt.want)
			}
			if len(p.Checks) != len(tt.exprs) {
				t.Errorf("%d compiled checks, want %d", len(p.Checks), len(tt.exprs))
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string
		// every fragment must appear in the error
		want []string
	}{
		{"syntax", "kube.deployments[", []string{`check "bad"`, "Syntax error"}},
		{"syntax, unbalanced", "(true", []string{`check "bad"`, "Syntax error"}},
		{"unknown fact", "kube.widgets.size() > 0", []string{`check "bad"`, "unknown fact kube.widgets", "deployments"}},
		{"unknown fact, index form", "kube['widgets'].size() > 0", []string{"unknown fact kube.widgets"}},
		{"unknown fact, optional", "kube.?widgets.hasValue()", []string{"unknown fact kube.widgets"}},
		{"secrets are not a fact", "kube.secrets.size() == 0", []string{"unknown fact kube.secrets"}},
		{"undeclared variable", "cooking.recipes.size() > 0", []string{`check "bad"`, "undeclared reference", "cooking"}},
		{"unknown terraform fact", "terraform.state.size() > 0", []string{"unknown fact terraform.state", "inSync"}},
		{"not a bool", "1 + 1", []string{`check "bad"`, "must evaluate to a bool", "int"}},
		{"a string", "lab.namespace", []string{"must evaluate to a bool", "string"}},
		{"a list", "kube.pods.map(p, p)", []string{"must evaluate to a bool"}},
		{"type error", "kube.pods.size() == 'x'", []string{`check "bad"`, "no matching overload"}},
		{"cost, triple nested loop", "kube.pods.all(a, kube.pods.all(b, kube.pods.all(c, a != b || b != c)))", []string{`check "bad"`, "exceeds the limit 1000000"}},
		{"cost, string ops three loops deep", "kube.configmaps.exists(n, kube.configmaps[n].data.exists(k, kube.services.exists(s, k.contains(s))))", []string{"estimated cost", "exceeds the limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(specOf(check("good", "true"), check("bad", tt.expr)))
			if err == nil {
				t.Fatalf("compiled %q (facts %v), want an error", tt.expr, p.Facts)
			}
			if p != nil {
				t.Errorf("got a program with the error")
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *CompileError", err, err)
			}
			if ce.Check != "bad" || ce.Err == nil || !errors.Is(err, ce.Err) {
				t.Errorf("CompileError = %+v, want the check \"bad\" and its cause", ce)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// The estimate must leave room for the checks exercises actually use.
func TestCompileAcceptsRealisticChecks(t *testing.T) {
	for _, e := range []string{
		"kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))",
		"kube.deployments.all(n, kube.deployments[n].spec.template.spec.containers.all(c, has(c.resources.limits)))",
		"kube.deployments.exists(n, kube.deployments[n].spec.template.spec.containers.exists(c, c.image.startsWith('nginx:')))",
		"kube.pods.filter(p, kube.pods[p].status.phase == 'Running').size() >= 2",
		"kube.pods.all(p, p.matches('^web-'))",
		"'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3",
		"quantity(kube.deployments['web'].spec.template.spec.containers[0].resources.limits.memory).isLessThan(quantity('1Gi'))",
		"kube.configmaps['app'].data.?mode.orValue('') == 'prod'",
	} {
		if _, err := Compile(specOf(check("c", e))); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}

func TestCompileNoChecks(t *testing.T) {
	if _, err := Compile(specOf()); err == nil {
		t.Fatal("an exercise without checks compiled")
	}
}

func TestCompileMaxPoints(t *testing.T) {
	a, b, c := check("a", "true"), check("b", "true"), check("c", "false")
	a.Points, b.Points, c.Points = 10, 0, 25
	p := mustCompile(t, a, b, c)
	if p.MaxPoints != 35 {
		t.Errorf("MaxPoints = %d, want 35", p.MaxPoints)
	}
	for i, want := range []string{"a", "b", "c"} {
		if p.Checks[i].Name != want || p.Checks[i].Message != want+" fails" {
			t.Errorf("check %d = %+v, want %s in order", i, p.Checks[i].Check, want)
		}
	}
}

func TestKnownFactsSorted(t *testing.T) {
	f := KnownFacts()
	for i := 1; i < len(f); i++ {
		if f[i-1] >= f[i] {
			t.Fatalf("KnownFacts not sorted and unique: %v", f)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
