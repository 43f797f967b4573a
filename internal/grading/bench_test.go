package grading

import (
	"context"
	"fmt"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// benchExercises are 10 exercises of 5 realistic checks each over
// deployments, services and configmaps.
func benchExercises() []*rotationsv1.ExerciseSpec {
	var out []*rotationsv1.ExerciseSpec
	for i := range 10 {
		app := fmt.Sprintf("app-%d", i)
		checks := []rotationsv1.Check{
			{Name: "exists", Points: 2, Message: "create the deployment",
				Expression: fmt.Sprintf("'%s' in kube.deployments && kube.deployments['%s'].spec.replicas == 3", app, app)},
			{Name: "image", Points: 2, Message: "use nginx",
				Expression: fmt.Sprintf("kube.deployments['%s'].spec.template.spec.containers.exists(c, c.image.startsWith('nginx:'))", app)},
			{Name: "limits", Points: 3, Message: "set memory limits under 1Gi",
				Expression: fmt.Sprintf("kube.deployments['%s'].spec.template.spec.containers.all(c, has(c.resources.limits.memory) && quantity(c.resources.limits.memory).isLessThan(quantity('1Gi')))", app)},
			{Name: "service", Points: 3, Message: "expose it on port 80",
				Expression: "kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))"},
			{Name: "config", Points: 2, Message: "configure it",
				Expression: fmt.Sprintf("kube.configmaps.exists(n, n.startsWith('%s') && kube.configmaps[n].data.?mode.orValue('') == 'prod')", app)},
		}
		out = append(out, &rotationsv1.ExerciseSpec{Title: app, Instructions: "i", Checks: checks})
	}
	return out
}

// benchLab is a lab of 30 objects: 10 deployments, 10 services, 10 configmaps.
func benchLab() map[string]any {
	deps, svcs, cms := map[string]any{}, map[string]any{}, map[string]any{}
	for i := range 10 {
		app := fmt.Sprintf("app-%d", i)
		deps[app] = deployment(app, 3, "nginx:1.27")
		svcs[app] = service(app, 80)
		cms[app+"-config"] = configMap(app+"-config", map[string]any{"mode": "prod", "greeting": "hello"})
	}
	return map[string]any{
		VarKube: map[string]any{"deployments": deps, "services": svcs, "configmaps": cms},
		VarLab:  map[string]any{"namespace": "lab-a", "rotation": "r1"},
	}
}

// BenchmarkGradeLab10Exercises grades a lab as a grading pass does, with
// one FactHasher shared by the exercises.
func BenchmarkGradeLab10Exercises(b *testing.B) { benchGradeLab(b, true) }

// BenchmarkGradeLab10ExercisesUnsharedHash hashes each exercise's facts
// from scratch, for comparison with the shared hasher.
func BenchmarkGradeLab10ExercisesUnsharedHash(b *testing.B) { benchGradeLab(b, false) }

func benchGradeLab(b *testing.B, shared bool) {
	var programs []*Program
	for _, spec := range benchExercises() {
		p, err := Compile(spec)
		if err != nil {
			b.Fatal(err)
		}
		programs = append(programs, p)
	}
	vars := benchLab()
	ctx := context.Background()
	// Every check passes on this lab: the benchmark measures real work.
	for _, p := range programs {
		if r := p.Evaluate(ctx, vars); !r.Passed {
			b.Fatalf("%+v", r.Checks)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		hasher := NewFactHasher(vars)
		for _, p := range programs {
			r := p.Evaluate(ctx, vars)
			if !r.Passed {
				b.Fatal("a check failed")
			}
			var err error
			if shared {
				_, err = hasher.Hash(p.Scope)
			} else {
				_, err = HashFacts(vars, p.Scope)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCompileExercise(b *testing.B) {
	spec := benchExercises()[0]
	if _, err := Compile(spec); err != nil { // also builds the shared env
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(spec); err != nil {
			b.Fatal(err)
		}
	}
}
