package realnode_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// tknBinary is Tekton's CLI, built once from the Go proxy (cached after).
var tknBinary struct {
	once sync.Once
	path string
	err  error
}

// ensureTkn builds (or finds in the cache) the tkn the learner uses.
func ensureTkn(t *testing.T) {
	t.Helper()
	tknBinary.once.Do(func() {
		var p toolchain.Paths
		p, tknBinary.err = toolchain.Ensure(context.Background(), os.Stderr, toolchain.Tkn)
		tknBinary.path = p.Tkn
	})
	if tknBinary.err != nil {
		t.Fatalf("tkn: %v", tknBinary.err)
	}
}

// tkn runs tkn as the learner: only the lab kubeconfig, whose context
// names the lab namespace.
func (l *learner) tkn(args ...string) (string, error) {
	l.t.Helper()
	if tknBinary.path == "" {
		l.t.Fatal("tkn used before ensureTkn")
	}
	cmd := exec.Command(tknBinary.path, append(args, "--kubeconfig", l.kubeconfig)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tkn %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (l *learner) mustTkn(args ...string) string {
	l.t.Helper()
	out, err := l.tkn(args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// tknRow is the row of a `tkn ... list` or describe table that starts
// with name, as fields; nil when there is none.
func tknRow(table, name string) []string {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// tknStatus is the STATUS column (the last) of a run's row.
func tknStatus(table, name string) string {
	f := tknRow(table, name)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// tknDescribedStatus is the run's own status in `tkn pipelinerun
// describe`: the row under the Status section's STARTED header.
func tknDescribedStatus(describe string) string {
	lines := strings.Split(describe, "\n")
	for i, line := range lines {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "STARTED" && i+1 < len(lines) {
			if row := strings.Fields(lines[i+1]); len(row) > 0 {
				return row[len(row)-1]
			}
		}
	}
	return ""
}
