package terraform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/grading"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/submission"
	"github.com/handson-dev/rotation-operator/labs"
)

// configMapOnly manages one ConfigMap, state under suffix.
func configMapOnly(ns, suffix string) map[string]string {
	return map[string]string{"main.tf": fmt.Sprintf(`terraform {
  backend "kubernetes" {
    secret_suffix = %q
    namespace     = %q
  }
}

provider "kubernetes" {}

resource "kubernetes_config_map_v1" "app" {
  metadata {
    name      = "app-config"
    namespace = %q
  }
  data = { greeting = "hello" }
}
`, suffix, ns, ns)}
}

// TestForgedState: a state applied by terraform reads as in the lab and
// not hand-written; the same state copied into another Secret with a
// kubectl field manager, its ConfigMap deleted, reads as neither.
func TestForgedState(t *testing.T) {
	if grading.HandWrittenKey != tf.FactHandWritten {
		t.Fatalf("the mentor's warning reads %q, the facts set %q", grading.HandWrittenKey, tf.FactHandWritten)
	}
	l := newLab(t, "forged")
	ctx := context.Background()
	collector, err := tf.NewCollector(tf.Options{Executor: executor(t), CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	source := tf.NewSource(collector, admin)
	grade := func(suffix string) map[string]any {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		facts, err := source.Collect(cctx, factsource.Request{
			Namespace: l.namespace, Exercise: suffix,
			Submission: &submission.Submission{Files: configMapOnly(l.namespace, suffix)},
			Kubeconfig: func(context.Context) ([]byte, error) { return l.kubeconfig, nil },
		})
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		return facts
	}
	const addr = "kubernetes_config_map_v1.app"

	l.apply(t, configMapOnly(l.namespace, "genuine"))
	facts := grade("genuine")
	if get(facts, "resources", addr, "inLab") != true || get(facts, "resources", addr, "handWritten") != nil ||
		get(facts, "resources", addr, "values", "data", "greeting") != "hello" {
		t.Fatalf("state applied by terraform:\n%s", dump(get(facts, "resources")))
	}

	genuine := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: tf.StateSecret("genuine")}, genuine); err != nil {
		t.Fatal(err)
	}
	forged := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: tf.StateSecret("forged"), Namespace: l.namespace, Labels: map[string]string{
			"app.kubernetes.io/managed-by": "terraform", "tfstate": "true", "tfstateSecretSuffix": "forged", "tfstateWorkspace": "default",
		}},
		Data: genuine.Data,
	}
	// As `kubectl create secret generic tfstate-default-forged --from-file=tfstate=...` would.
	if err := admin.Create(ctx, forged, client.FieldOwner("kubectl-create")); err != nil {
		t.Fatal(err)
	}
	if err := admin.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config", Namespace: l.namespace}}); err != nil {
		t.Fatal(err)
	}
	facts = grade("forged")
	why, _ := get(facts, "resources", addr, "handWritten").(string)
	if get(facts, "resources", addr, "inLab") != false || !strings.Contains(why, "kubectl-create") ||
		get(facts, "resources", addr, "values") != nil {
		t.Errorf("forged state:\n%s\nerror %v, drift %s", dump(get(facts, "resources")), get(facts, "error"), dump(get(facts, "drift")))
	}
	// The mentor is warned (ToolStorageHandWritten) from what the
	// exercise's checks read.
	catalog, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for i := range catalog {
		if catalog[i].Name != "terraform-basics" {
			continue
		}
		program, err := grading.Compile(&catalog[i].Spec)
		if err != nil {
			t.Fatal(err)
		}
		warning := program.HandWritten(map[string]any{grading.VarTerraform: facts})
		if !strings.Contains(warning, "resource "+addr+": state secret tfstate-default-forged was written by kubectl-create") {
			t.Errorf("mentor's warning %q", warning)
		}
	}
	// Without the writer check the refresh alone tells: the genuine state,
	// its ConfigMap gone, is no longer in the lab.
	facts = grade("genuine")
	if get(facts, "resources", addr, "inLab") != false || get(facts, "resources", addr, "handWritten") != nil {
		t.Errorf("state whose object was deleted:\n%s", dump(get(facts, "resources")))
	}
	if get(facts, "inSync") != false {
		t.Errorf("inSync with the ConfigMap gone")
	}
}
