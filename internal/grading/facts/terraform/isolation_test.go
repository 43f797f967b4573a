package terraform_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// TestIsolation: a malicious submission tries to read the runner's
// environment and the operator's files, another lab's state, to use the
// operator's kubeconfig, to undo the sandbox and poison the mirror, and to
// use a provider that is not mirrored. Each attempt runs twice: with the
// static pre-check, which refuses it and says why, and without it, where
// the sandbox alone must hold and the facts say what failed.
func TestIsolation(t *testing.T) {
	needCluster(t)
	// Secrets of the operator's process and files: none may reach the facts.
	canary := fmt.Sprintf("operator-canary-%d", time.Now().UnixNano())
	t.Setenv("ROTATION_ISOLATION_CANARY", canary)
	root, err := toolchain.CacheRoot() // in the operator's HOME here
	if err != nil {
		t.Fatal(err)
	}
	homeSecret := filepath.Join(root, fmt.Sprintf("isolation-canary-%d", os.Getpid()))
	if err := os.WriteFile(homeSecret, []byte(canary), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(homeSecret) })
	adminKey := string(cluster.Config.KeyData)
	shadow, _ := os.ReadFile("/etc/shadow")
	poison := fmt.Sprintf("/usr/local/bin/poison-%d", time.Now().UnixNano())

	victim := newLab(t, "victim")
	victim.apply(t, basicConfig(victim.namespace, "tf-victim"))
	l := newLab(t, "attacker")

	attacks := []struct {
		name string
		file string
		// precheck is a part of the pre-check's message.
		precheck string
		// sandboxed checks the facts of a run without the pre-check.
		sandboxed func(t *testing.T, facts map[string]any)
	}{{
		name:     "environment",
		file:     `output "env" { value = tonumber(file("/proc/self/environ")) }` + "\n" + `output "pid1" { value = tonumber(file("/proc/1/environ")) }`,
		precheck: `the absolute path "/proc/self/environ" is outside the module`,
		sandboxed: func(t *testing.T, facts map[string]any) {
			// The read works, but sees terraform's clean environment only.
			if !contains(get(facts, "diagnostics"), "TF_CLI_CONFIG_FILE=/tmp/sandbox/work/home/.terraformrc") {
				t.Errorf("diagnostics do not show terraform's own (clean) environment:\n%s", dump(get(facts, "diagnostics")))
			}
		},
	}, {
		name:     "operator files",
		file:     fmt.Sprintf(`output "kubeconfig" { value = file(%q) }`+"\n"+`output "home" { value = file(%q) }`+"\n"+`output "shadow" { value = file("/etc/shadow") }`, cluster.KubeconfigPath, homeSecret),
		precheck: fmt.Sprintf("the absolute path %q is outside the module", cluster.KubeconfigPath),
		sandboxed: func(t *testing.T, facts map[string]any) {
			for _, want := range []string{"no file exists at \"" + cluster.KubeconfigPath + "\"", "no file exists at \"" + homeSecret + "\""} {
				if !contains(get(facts, "diagnostics"), want) {
					t.Errorf("diagnostics lack %q:\n%s", want, dump(get(facts, "diagnostics")))
				}
			}
			if !contains(get(facts, "diagnostics"), "/etc/shadow") || !contains(get(facts, "diagnostics"), "permission denied") {
				t.Errorf("reading /etc/shadow did not fail with permission denied:\n%s", dump(get(facts, "diagnostics")))
			}
		},
	}, {
		name: "another lab's state",
		file: fmt.Sprintf(`data "terraform_remote_state" "other" {
  backend = "kubernetes"
  config = {
    secret_suffix = "tf-victim"
    namespace     = %q
  }
}

output "stolen" { value = data.terraform_remote_state.other.outputs }
`, victim.namespace),
		precheck: fmt.Sprintf("namespace must be your lab namespace %q", l.namespace),
		sandboxed: func(t *testing.T, facts map[string]any) {
			if !contains(get(facts, "diagnostics"), "forbidden") || !contains(get(facts, "diagnostics"), "system:serviceaccount:"+l.namespace+":learner") {
				t.Errorf("reading %s's state was not forbidden to the learner:\n%s", victim.namespace, dump(get(facts, "diagnostics")))
			}
		},
	}, {
		name: "operator kubeconfig for the provider",
		file: fmt.Sprintf(`provider "kubernetes" {
  config_path = %q
}

data "kubernetes_namespace_v1" "system" {
  metadata {
    name = "kube-system"
  }
}
`, cluster.KubeconfigPath),
		precheck: `provider "kubernetes": config_path is not allowed`,
		sandboxed: func(t *testing.T, facts map[string]any) {
			if get(facts, "plan", "ok") != false || !contains(get(facts, "diagnostics"), cluster.KubeconfigPath) {
				t.Errorf("the provider used the operator's kubeconfig: plan %v\n%s", get(facts, "plan"), dump(get(facts, "diagnostics")))
			}
		},
	}, {
		name: "undo the sandbox from a provider exec plugin",
		file: fmt.Sprintf(`provider "kubernetes" {
  config_path = "/dev/null"
  host        = %q
  insecure    = true
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "/bin/sh"
    args        = ["-c", "umount /tmp; mount -o remount,rw /; touch /tmp/sandbox/mirror/poison %s; echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"not-a-token\"}}'"]
  }
}

data "kubernetes_namespace_v1" "system" {
  metadata {
    name = "kube-system"
  }
}
`, cluster.Config.Host, poison),
		precheck: `provider "kubernetes": exec credential plugins are not allowed`,
		sandboxed: func(t *testing.T, facts map[string]any) {
			// The plugin ran (its made-up token was refused), and changed nothing.
			if !contains(get(facts, "diagnostics"), "Unauthorized") {
				t.Errorf("the exec plugin's credential was not used:\n%s", dump(get(facts, "diagnostics")))
			}
			if _, err := os.Stat(poison); err == nil {
				t.Errorf("the sandbox wrote %s on the host", poison)
				_ = os.Remove(poison)
			}
			if _, err := os.Stat(filepath.Join(mirror, "poison")); err == nil {
				t.Error("the sandbox wrote into the provider mirror")
			}
			staged, _ := filepath.Glob(filepath.Join(os.TempDir(), "rotation-operator-mirror-*", "poison"))
			if len(staged) > 0 {
				t.Errorf("the sandbox wrote into the staged mirror: %v", staged)
			}
		},
	}, {
		name:     "a provider that is not mirrored",
		file:     "terraform {\n  required_providers {\n    external = { source = \"hashicorp/external\" }\n  }\n}\n\ndata \"external\" \"cmd\" {\n  program = [\"sh\", \"-c\", \"env\"]\n}\n",
		precheck: "", // not the pre-check's business: init refuses it
		sandboxed: func(t *testing.T, facts map[string]any) {
			if get(facts, "init", "ok") != false || !contains(get(facts, "init", "message"), "hashicorp/external") {
				t.Errorf("init %v: want a refusal of hashicorp/external", get(facts, "init"))
			}
		},
	}}

	leaked := func(t *testing.T, facts map[string]any) {
		t.Helper()
		js := dump(facts)
		for what, secret := range map[string]string{
			"the operator's environment":  canary,
			"the admin key":               strings.TrimSpace(adminKey),
			"the admin key (base64)":      base64.StdEncoding.EncodeToString(cluster.Config.KeyData),
			"the victim's sensitive value": "s3cr3t",
		} {
			if secret != "" && (strings.Contains(js, secret) || contains(facts, secret)) {
				t.Errorf("facts leak %s", what)
			}
		}
		if line, _, _ := bytes.Cut(shadow, []byte("\n")); len(line) > 0 && contains(facts, string(line)) {
			t.Error("facts leak /etc/shadow")
		}
		if get(facts, "runner", "sandbox") != tf.SandboxNamespaces {
			t.Errorf("runner.sandbox = %v, want namespaces", get(facts, "runner", "sandbox"))
		}
	}

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			files := map[string]string{"main.tf": a.file}
			if a.precheck != "" {
				facts := l.grade(t, executor(t), "tf-isolation", files)
				leaked(t, facts)
				if get(facts, "precheck", "ok") != false || !contains(get(facts, "precheck", "problems"), a.precheck) {
					t.Errorf("precheck %s: want a problem saying %q", dump(get(facts, "precheck")), a.precheck)
				}
				if e, _ := get(facts, "error").(string); !strings.HasPrefix(e, "precheck: main.tf:") {
					t.Errorf("error %q: want the pre-check's first problem", e)
				}
				if get(facts, "init", "ok") != false || get(facts, "plan", "exitCode") != int64(-1) {
					t.Errorf("terraform ran on a submission the pre-check refused: init %v plan %v", get(facts, "init"), get(facts, "plan"))
				}
			}
			e := executor(t)
			e.SkipPrecheck = true
			facts := l.grade(t, e, "tf-isolation", files)
			leaked(t, facts)
			if e, _ := get(facts, "error").(string); e == "" || get(facts, "inSync") != false {
				t.Errorf("error %q, inSync %v: the attack must fail grading", e, get(facts, "inSync"))
			}
			a.sandboxed(t, facts)
			if t.Failed() {
				t.Log(dump(facts))
			}
		})
	}
}
