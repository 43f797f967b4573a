package terraform_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// basicConfig is a correct submission: a ConfigMap and a Deployment, state
// in the lab's kubernetes backend.
func basicConfig(ns, suffix string) map[string]string {
	return map[string]string{
		"main.tf": fmt.Sprintf(`terraform {
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
  }
  backend "kubernetes" {
    secret_suffix = %q
    namespace     = %q
  }
}

provider "kubernetes" {}

resource "kubernetes_config_map_v1" "app" {
  metadata {
    name      = "app-config"
    namespace = var.namespace
  }
  data = {
    greeting = "hello"
  }
}

resource "kubernetes_deployment_v1" "web" {
  metadata {
    name      = "web"
    namespace = var.namespace
  }
  spec {
    replicas = var.replicas
    selector {
      match_labels = { app = "web" }
    }
    template {
      metadata {
        labels = { app = "web" }
      }
      spec {
        container {
          name  = "web"
          image = "nginx:1.27"
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.app.metadata[0].name
            }
          }
        }
      }
    }
  }
}
`, suffix, ns),
		"variables.tf": fmt.Sprintf(`variable "namespace" {
  type        = string
  description = "The lab namespace."
  default     = %q
}

variable "replicas" {
  type    = number
  default = 2

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5."
  }
}
`, ns),
		"outputs.tf": `output "deployment" {
  value = kubernetes_deployment_v1.web.metadata[0].name
}

output "secret_thing" {
  value     = "s3cr3t"
  sensitive = true
}
`,
	}
}

func TestCorrectConfigPasses(t *testing.T) {
	l := newLab(t, "ok")
	files := basicConfig(l.namespace, "tf-basics")
	l.apply(t, files)
	files[".terraform.lock.hcl"] = "# a learner's lock file\n"

	start := time.Now()
	facts := l.grade(t, executor(t), "tf-basics", files)
	t.Logf("graded in %s", time.Since(start))
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"error"}, ""},
		{[]any{"runner", "sandbox"}, "namespaces"},
		{[]any{"precheck", "ok"}, true},
		{[]any{"init", "ok"}, true},
		{[]any{"valid"}, true},
		{[]any{"formatted"}, true},
		{[]any{"plan", "ok"}, true},
		{[]any{"plan", "exitCode"}, int64(0)},
		{[]any{"inSync"}, true},
		{[]any{"backend", "type"}, "kubernetes"},
		{[]any{"backend", "secretSuffix"}, "tf-basics"},
		{[]any{"backend", "namespace"}, l.namespace},
		{[]any{"resources", "kubernetes_config_map_v1.app", "values", "data", "greeting"}, "hello"},
		{[]any{"resources", "kubernetes_deployment_v1.web", "type"}, "kubernetes_deployment_v1"},
		{[]any{"resources", "kubernetes_deployment_v1.web", "values", "spec", 0, "replicas"}, "2"},
		{[]any{"outputs", "deployment", "value"}, "web"},
		{[]any{"outputs", "secret_thing", "value"}, "(sensitive)"},
		{[]any{"outputs", "secret_thing", "sensitive"}, true},
		{[]any{"variables", "replicas", "type"}, "number"},
		{[]any{"variables", "replicas", "default"}, int64(2)},
		{[]any{"variables", "replicas", "validations", 0, "condition"}, "var.replicas >= 1 && var.replicas <= 5"},
		{[]any{"variables", "namespace", "description"}, "The lab namespace."},
		{[]any{"requiredProviders", "kubernetes", "source"}, "hashicorp/kubernetes"},
		{[]any{"ignoredFiles", 0}, ".terraform.lock.hcl"},
		{[]any{"lock", "held"}, false},
	} {
		if got := get(facts, c.path...); got != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if t.Failed() {
		t.Log(dump(facts))
	}
	if n := len(get(facts, "plan", "changes").([]any)); n != 0 {
		t.Errorf("plan changes %v, want none", get(facts, "plan", "changes"))
	}
}

// Drift: something changes a managed object behind Terraform's back; the
// refresh in plan sees it, and the facts say which object drifted.
func TestDriftDetected(t *testing.T) {
	l := newLab(t, "drift")
	files := basicConfig(l.namespace, "tf-drift")
	l.apply(t, files)
	ctx := context.Background()

	cm := &corev1.ConfigMap{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: "app-config"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = "changed by hand"
	if err := admin.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: "web"}, dep); err != nil {
		t.Fatal(err)
	}
	dep.Spec.Replicas = ptrInt32(4)
	if err := admin.Update(ctx, dep); err != nil {
		t.Fatal(err)
	}

	facts := l.grade(t, executor(t), "tf-drift", files)
	if get(facts, "inSync") != false || get(facts, "plan", "exitCode") != int64(2) {
		t.Errorf("inSync %v, exitCode %v: want false, 2\n%s", get(facts, "inSync"), get(facts, "plan", "exitCode"), dump(facts))
	}
	drifted := map[string]bool{}
	for _, d := range get(facts, "drift").([]any) {
		drifted[get(d, "address").(string)] = true
	}
	if !drifted["kubernetes_config_map_v1.app"] || !drifted["kubernetes_deployment_v1.web"] {
		t.Errorf("drift %v, want the ConfigMap and the Deployment", get(facts, "drift"))
	}
	changed := map[string]string{}
	for _, c := range get(facts, "plan", "changes").([]any) {
		changed[get(c, "address").(string)] = fmt.Sprint(get(c, "actions"))
	}
	if changed["kubernetes_config_map_v1.app"] != "[update]" {
		t.Errorf("plan changes %v: want an update of the ConfigMap back to the configuration", changed)
	}
	// The state still says what was applied: the resources fact is what
	// Terraform manages, not the drifted object.
	if got := get(facts, "resources", "kubernetes_config_map_v1.app", "values", "data", "greeting"); got != "hello" {
		t.Errorf("state greeting %v, want hello", got)
	}
}

func ptrInt32(i int32) *int32 { return &i }
