package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/labs"
)

func TestBuiltinCatalogIsInstalled(t *testing.T) {
	want, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		list := &rotationsv1.ExerciseList{}
		if err := admin.List(ctx, list, client.MatchingLabels{rotationsv1.LabelBuiltin: "true"}); err != nil {
			return err
		}
		installed := map[string]bool{}
		for _, ex := range list.Items {
			installed[ex.Name] = meta.IsStatusConditionTrue(ex.Status.Conditions, rotationsv1.ConditionReady)
		}
		for _, ex := range want {
			if !installed[ex.Name] {
				return fmt.Errorf("built-in exercise %s is not installed and Ready", ex.Name)
			}
		}
		return nil
	})
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
	// The installer's client counts its writes.
	var installerWrites testutil.WriteCounter
	cfg := rest.CopyConfig(cluster.Config)
	installerWrites.Wrap(cfg)
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	installer := &controllers.CatalogInstaller{Client: c, APIReader: c, Catalog: func() ([]rotationsv1.Exercise, error) {
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
	if w := installerWrites.Writes(); len(w) != 1 {
		t.Errorf("first install made writes %v, want exactly one (the new built-in)", w)
	}
	// A second run writes nothing.
	installerWrites.Reset()
	if err := installer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if w := installerWrites.Writes(); len(w) != 0 {
		t.Errorf("re-installing unchanged built-ins wrote %v", w)
	}
}
