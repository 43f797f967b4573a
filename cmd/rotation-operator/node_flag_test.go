package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeFlag: a wrong --node is refused at start-up with exit code 2 and
// a line naming the flag and the accepted values, before anything starts.
func TestNodeFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rotation-operator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, v := range []string{"kwok", "", "REAL"} {
		out, err := exec.Command(bin, "--node="+v, "--embedded=always").CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("--node=%q: %v, want exit code 2\n%s", v, err, out)
		}
		if !strings.Contains(string(out), "--node") || !strings.Contains(string(out), "want auto, real or fake") {
			t.Errorf("--node=%q: output does not explain: %s", v, out)
		}
	}
}
