package terraform

import (
	"fmt"
	"strings"
	"testing"
)

func TestPrecheck(t *testing.T) {
	const ns = "lab-alice"
	for _, c := range []struct {
		name, src string
		want      string // part of the only problem; "" for none
	}{
		{"module-relative file", `locals { page = file("${path.module}/index.html") }`, ""},
		{"relative literal", `locals { page = file("index.html") }`, ""},
		{"templatefile relative", `locals { x = templatefile("${path.module}/t.tpl", { a = 1 }) }`, ""},
		{"fileset in module", `locals { x = fileset(path.module, "*.yaml") }`, ""},
		{"absolute file", `locals { x = file("/etc/passwd") }`, `the absolute path "/etc/passwd"`},
		{"home file", `locals { x = file("~/.kube/config") }`, `the absolute path "~/.kube/config"`},
		{"dot-dot", `locals { x = file("${path.module}/../secret") }`, `climbs out of the module`},
		{"dot-dot fileset pattern", `locals { x = fileset(path.module, "../**") }`, `climbs out of the module`},
		{"dynamic path", `locals { x = file(var.p) }`, `not a literal relative to path.module`},
		{"nested call", `output "x" { value = base64encode(filebase64("/proc/self/environ")) }`, `"/proc/self/environ"`},
		{"provider config_path", `provider "kubernetes" { config_path = "~/.kube/config" }`, `config_path is not allowed`},
		{"provider exec", "provider \"kubernetes\" {\n  exec {\n    command = \"sh\"\n  }\n}", `exec credential plugins are not allowed`},
		{"other provider config_path is not ours", `provider "helm" { kubernetes { config_path = "x" } }`, ""},
		{"backend s3", "terraform {\n  backend \"s3\" {}\n}", `backend "s3" is not available`},
		{"backend kubernetes", "terraform {\n  backend \"kubernetes\" { secret_suffix = \"x\" }\n}", ""},
		{"backend config_paths", "terraform {\n  backend \"kubernetes\" { config_paths = [\"/a\"] }\n}", `remove config_paths`},
		{"backend absolute config_path", "terraform {\n  backend \"kubernetes\" { config_path = \"/root/.kube/config\" }\n}", `outside the module`},
		{"cloud", "terraform {\n  cloud { organization = \"x\" }\n}", `cloud`},
		{"module", `module "m" { source = "./m" }`, `module calls are not graded`},
		{"remote state here", `data "terraform_remote_state" "s" {
  backend = "kubernetes"
  config = { secret_suffix = "a", namespace = "lab-alice" }
}`, ""},
		{"remote state elsewhere", `data "terraform_remote_state" "s" {
  backend = "kubernetes"
  config = { secret_suffix = "a", namespace = "lab-bob" }
}`, `namespace must be your lab namespace "lab-alice"`},
		{"remote state local", `data "terraform_remote_state" "s" {
  backend = "local"
  config = { path = "/etc/terraform.tfstate" }
}`, `only backend = "kubernetes"`},
		{"remote state own kubeconfig", `data "terraform_remote_state" "s" {
  backend = "kubernetes"
  config = { secret_suffix = "a", namespace = "lab-alice", config_path = "x" }
}`, `config_path is not allowed`},
		{"syntax error is terraform's to report", `resource "x" "y" {`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := analyze(map[string][]byte{"main.tf": []byte(c.src)}, ns)
			switch {
			case c.want == "" && len(a.problems) > 0:
				t.Errorf("problems %+v, want none", a.problems)
			case c.want != "" && (len(a.problems) != 1 || !strings.Contains(a.problems[0].Message, c.want)):
				t.Errorf("problems %+v, want one saying %q", a.problems, c.want)
			case c.want != "" && (a.problems[0].File != "main.tf" || a.problems[0].Line < 1):
				t.Errorf("problem %+v does not name file and line", a.problems[0])
			}
		})
	}
	a := analyze(map[string][]byte{"main.tf.json": []byte(`{}`)}, ns)
	if len(a.problems) != 1 || !strings.Contains(a.problems[0].Message, ".tf.json") {
		t.Errorf("JSON configuration: %+v", a.problems)
	}
}

func TestAnalyzeDeclarations(t *testing.T) {
	a := analyze(map[string][]byte{"variables.tf": []byte(`
variable "replicas" {
  type        = number
  description = "How many."
  default     = 3
  validation {
    condition     = var.replicas > 0
    error_message = "At least one."
  }
}
variable "labels" {
  type      = map(string)
  sensitive = true
  nullable  = false
}
`), "main.tf": []byte(`
terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes", version = "~> 3.2" }
  }
  backend "kubernetes" {
    secret_suffix = "tf-vars"
    namespace     = "lab-x"
  }
}
import {
  to = kubernetes_config_map_v1.legacy
  id = "lab-x/legacy"
}
`)}, "lab-x")
	got := fmt.Sprint(a.variables["replicas"], a.variables["labels"], a.requiredProviders, a.imports, a.backendType, a.secretSuffix)
	want := fmt.Sprint(
		map[string]any{"type": "number", "description": "How many.", "hasDefault": true, "default": int64(3), "sensitive": false, "nullable": true,
			"validations": []any{map[string]any{"condition": "var.replicas > 0", "errorMessage": "At least one."}}},
		map[string]any{"type": "map(string)", "description": "", "hasDefault": false, "default": nil, "sensitive": true, "nullable": false, "validations": []any{}},
		map[string]any{"kubernetes": map[string]any{"source": "hashicorp/kubernetes", "version": "~> 3.2"}},
		[]any{map[string]any{"to": "kubernetes_config_map_v1.legacy", "id": "lab-x/legacy"}},
		"kubernetes", "tf-vars")
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRedactAndNormalize(t *testing.T) {
	values := normalize(jsonValue(map[string]any{"data": map[string]any{"a": "x", "b": "y"}, "n": 2.0, "f": 1.5, "l": []any{"p", "q"}}))
	got := redact(values, map[string]any{"data": map[string]any{"b": true}, "l": []any{false, true}})
	want := map[string]any{"data": map[string]any{"a": "x", "b": sensitiveValue}, "n": int64(2), "f": 1.5, "l": []any{"p", sensitiveValue}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseLockInfo(t *testing.T) {
	detail := "Error message: the state is already locked by another terraform client\nLock Info:\n  ID:        4fed2a12-cc8c\n  Path:      \n  Operation: OperationTypeApply\n  Who:       alice@laptop\n  Version:   1.11.4\n  Created:   2026-11-22 22:54:27 +0000 UTC\n  Info:      \n"
	got := parseLockInfo(detail)
	want := map[string]any{"id": "4fed2a12-cc8c", "who": "alice@laptop", "operation": "OperationTypeApply", "created": "2026-11-22 22:54:27 +0000 UTC"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestFactsListed(t *testing.T) {
	empty := emptyFacts()
	if len(empty) != len(Facts()) {
		t.Errorf("emptyFacts has %d facts, Facts() %d", len(empty), len(Facts()))
	}
	for _, f := range Facts() {
		if _, ok := empty[f]; !ok {
			t.Errorf("fact %s has no empty value", f)
		}
	}
}
