package controllers_test

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/labs"
)

func TestBuiltinCatalogIsInstalled(t *testing.T) {
	want, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	list := &rotationsv1.ExerciseList{}
	if err := admin.List(context.Background(), list, client.MatchingLabels{rotationsv1.LabelBuiltin: "true"}); err != nil {
		t.Fatal(err)
	}
	installed := map[string]bool{}
	for _, ex := range list.Items {
		installed[ex.Name] = true
	}
	for _, ex := range want {
		if !installed[ex.Name] {
			t.Errorf("built-in exercise %s is not installed", ex.Name)
		}
	}
}

func TestCatalogInstallerNeverOverwritesUserExercises(t *testing.T) {
	ctx := context.Background()
	mine := scaleExercise("t-mine")
	mine.Spec.Title = "written by a mentor"
	createExercise(t, mine)

	builtin := scaleExercise("t-mine")
	builtin.Spec.Title = "from the catalog"
	fresh := scaleExercise("t-fresh-builtin")
	for _, ex := range []*rotationsv1.Exercise{builtin, fresh} {
		ex.Labels = map[string]string{rotationsv1.LabelBuiltin: "true"}
	}
	t.Cleanup(func() { _ = admin.Delete(ctx, fresh) })
	installer := &controllers.CatalogInstaller{Client: admin, APIReader: admin, Catalog: func() ([]rotationsv1.Exercise, error) {
		return []rotationsv1.Exercise{*builtin, *fresh}, nil
	}}
	if err := installer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := &rotationsv1.Exercise{}
	if err := admin.Get(ctx, client.ObjectKey{Name: "t-mine"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Title != "written by a mentor" || got.Labels[rotationsv1.LabelBuiltin] != "" {
		t.Errorf("user-written exercise was overwritten: %q %v", got.Spec.Title, got.Labels)
	}
	if err := admin.Get(ctx, client.ObjectKey{Name: "t-fresh-builtin"}, got); err != nil {
		t.Fatalf("new built-in not installed: %v", err)
	}
	// A second run writes nothing new and keeps the result.
	before := got.ResourceVersion
	if err := installer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.Get(ctx, client.ObjectKey{Name: "t-fresh-builtin"}, got); err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != before {
		t.Errorf("re-installing an unchanged built-in wrote it again (%s -> %s)", before, got.ResourceVersion)
	}
}
