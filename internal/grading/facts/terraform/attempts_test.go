package terraform_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Wrong attempts give facts that say what is wrong, with file and line.
func TestWrongAttemptsGiveDiagnostics(t *testing.T) {
	l := newLab(t, "wrong")
	e := executor(t)
	good := basicConfig(l.namespace, "tf-wrong")

	t.Run("syntax error", func(t *testing.T) {
		files := map[string]string{"main.tf": good["main.tf"] + "\nresource \"kubernetes_config_map_v1\" \"broken\" {\n  metadata {\n"}
		facts := l.grade(t, e, "tf-wrong", files)
		if get(facts, "valid") != false || get(facts, "init", "ok") != false {
			t.Errorf("valid %v, init.ok %v: want both false\n%s", get(facts, "valid"), get(facts, "init", "ok"), dump(facts))
		}
		if !strings.Contains(get(facts, "error").(string), "main.tf") {
			t.Errorf("error %q does not name main.tf", get(facts, "error"))
		}
		if get(facts, "diagnostics", 0, "file") != "main.tf" || get(facts, "diagnostics", 0, "severity") != "error" {
			t.Errorf("diagnostics %s: want an error in main.tf first", dump(get(facts, "diagnostics")))
		}
	})

	t.Run("unsupported argument", func(t *testing.T) {
		files := map[string]string{
			"variables.tf": good["variables.tf"],
			"main.tf":      strings.Replace(good["main.tf"], `greeting = "hello"`, "greeting = \"hello\"\n  }\n  colour = \"blue\"\n  dummy = {", 1),
		}
		facts := l.grade(t, e, "tf-wrong", files)
		if get(facts, "init", "ok") != true || get(facts, "valid") != false {
			t.Fatalf("init.ok %v valid %v: want true, false\n%s", get(facts, "init", "ok"), get(facts, "valid"), dump(facts))
		}
		var found bool
		for _, d := range get(facts, "diagnostics").([]any) {
			if get(d, "stage") == "validate" && get(d, "summary") == "Unsupported argument" && get(d, "file") == "main.tf" && get(d, "line").(int64) > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("no 'Unsupported argument' validate diagnostic in main.tf:\n%s", dump(get(facts, "diagnostics")))
		}
		if get(facts, "plan", "exitCode") != int64(-1) {
			t.Errorf("plan ran on an invalid configuration: %v", get(facts, "plan"))
		}
	})

	t.Run("unformatted and not applied", func(t *testing.T) {
		files := map[string]string{
			"main.tf":      strings.Replace(good["main.tf"], "    greeting = \"hello\"", "greeting=\"hello\"", 1),
			"variables.tf": good["variables.tf"],
		}
		facts := l.grade(t, e, "tf-wrong", files)
		if get(facts, "formatted") != false || fmt.Sprint(get(facts, "unformattedFiles")) != "[main.tf]" {
			t.Errorf("formatted %v unformattedFiles %v: want false, [main.tf]", get(facts, "formatted"), get(facts, "unformattedFiles"))
		}
		if get(facts, "valid") != true || get(facts, "plan", "exitCode") != int64(2) || get(facts, "inSync") != false {
			t.Errorf("valid %v, plan %v, inSync %v: want a valid plan with changes", get(facts, "valid"), get(facts, "plan"), get(facts, "inSync"))
		}
		creates := 0
		for _, c := range get(facts, "plan", "changes").([]any) {
			if fmt.Sprint(get(c, "actions")) == "[create]" {
				creates++
			}
		}
		if creates != 2 {
			t.Errorf("plan changes %s: want 2 creates", dump(get(facts, "plan", "changes")))
		}
		if n := len(get(facts, "resources").(map[string]any)); n != 0 {
			t.Errorf("%d resources in the state of an exercise never applied", n)
		}
	})

	t.Run("variable validation fails", func(t *testing.T) {
		files := map[string]string{
			"main.tf":      good["main.tf"],
			"variables.tf": strings.Replace(good["variables.tf"], "default = 2", "default = 9", 1),
		}
		facts := l.grade(t, e, "tf-wrong", files)
		if get(facts, "plan", "ok") != false || get(facts, "plan", "exitCode") != int64(1) {
			t.Errorf("plan %v: want a failed plan", get(facts, "plan"))
		}
		if !contains(get(facts, "diagnostics"), "replicas must be between 1 and 5.") {
			t.Errorf("diagnostics lack the validation's error message:\n%s", dump(get(facts, "diagnostics")))
		}
	})

	t.Run("provider that is not mirrored", func(t *testing.T) {
		files := map[string]string{"main.tf": `terraform {
  required_providers {
    random = { source = "hashicorp/random" }
  }
}

resource "random_pet" "name" {}
`}
		facts := l.grade(t, e, "tf-wrong", files)
		msg, _ := get(facts, "init", "message").(string)
		if get(facts, "init", "ok") != false || !strings.Contains(msg, "only hashicorp/kubernetes") || !strings.Contains(msg, "hashicorp/random") {
			t.Errorf("init %v: want a failure naming hashicorp/random and the only provider available", get(facts, "init"))
		}
	})
}

// A stale state lock (the learner's terraform killed while it held the
// Lease) is reported as the lock fact after -lock-timeout, not a hang; once
// the learner force-unlocks, grading goes on.
func TestStaleLockReported(t *testing.T) {
	l := newLab(t, "lock")
	files := basicConfig(l.namespace, "tf-lock")
	dir := l.apply(t, files)

	// terraform apply without -auto-approve takes the lock, plans, and
	// waits for "yes": kill it there.
	files["main.tf"] = strings.Replace(files["main.tf"], `greeting = "hello"`, `greeting = "hello again"`, 1)
	writeFiles(t, dir, files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, terraform, "apply", "-no-color")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TF_CLI_CONFIG_FILE=" + dir + "/.learner.terraformrc", "KUBE_CONFIG_PATH=" + l.kubeFile, "CHECKPOINT_DISABLE=1"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lease := &coordinationv1.Lease{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := admin.Get(context.Background(), client.ObjectKey{Namespace: l.namespace, Name: "lock-tfstate-default-tf-lock"}, lease)
		if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terraform apply never took the lock: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	start := time.Now()
	facts := l.grade(t, executor(t), "tf-lock", files)
	took := time.Since(start)
	if get(facts, "lock", "held") != true {
		t.Fatalf("lock %v: want held\n%s", get(facts, "lock"), dump(facts))
	}
	id, _ := get(facts, "lock", "id").(string)
	msg, _ := get(facts, "lock", "message").(string)
	if id == "" || !strings.Contains(msg, "terraform force-unlock "+id) || get(facts, "lock", "operation") != "OperationTypeApply" {
		t.Errorf("lock %v: want the lock ID, the operation and how to release it", get(facts, "lock"))
	}
	if get(facts, "error") != "terraform plan: "+msg || get(facts, "inSync") != false {
		t.Errorf("error %q inSync %v", get(facts, "error"), get(facts, "inSync"))
	}
	t.Logf("graded a locked state in %s (lock timeout 3s)", took)

	if out, err := l.learnerTerraform(t, dir, "force-unlock", "-force", id); err != nil {
		t.Fatalf("force-unlock: %v\n%s", err, out)
	}
	facts = l.grade(t, executor(t), "tf-lock", files)
	if get(facts, "lock", "held") != false || get(facts, "plan", "exitCode") != int64(2) {
		t.Errorf("after force-unlock: lock %v, plan %v: want free and the pending change", get(facts, "lock"), get(facts, "plan"))
	}
}
