package terraform_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// The operator binary itself dispatches `rotation-operator runner
// terraform` to the runner: built from cmd/rotation-operator and used as
// the LocalExecutor's binary, it grades a submission in the sandbox.
func TestOperatorBinaryRunsTheRunner(t *testing.T) {
	l := newLab(t, "binary")
	bin := filepath.Join(t.TempDir(), "rotation-operator")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rotation-operator")
	build.Dir = repoRoot
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the operator in %s", time.Since(start).Round(time.Second))

	// Bad usage is exit code 2, from the runner, not the operator's flags.
	usage := exec.Command(bin, "runner", "terraform", "--no-such-flag")
	if out, err := usage.CombinedOutput(); err == nil || usage.ProcessState.ExitCode() != 2 || !contains(string(out), "rotation-operator runner terraform") {
		t.Errorf("bad usage: exit %d, %v\n%s", usage.ProcessState.ExitCode(), err, out)
	}

	files := benchConfig(l.namespace, "tf-binary")
	if err := l.applyAs(t, files); err != nil {
		t.Fatal(err)
	}
	e := executor(t)
	e.Binary = bin
	facts := l.grade(t, e, "tf-binary", files)
	if facts["inSync"] != true || get(facts, "runner", "sandbox") != tf.SandboxNamespaces || facts["error"] != "" {
		t.Errorf("inSync %v, sandbox %v, error %v: want an in-sync, sandboxed grading\n%s", facts["inSync"], get(facts, "runner", "sandbox"), facts["error"], dump(facts))
	}
	_ = os.Remove(bin)
}
