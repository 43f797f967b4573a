package terraform

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
)

// Where user namespaces are unavailable, the executor warns once and runs
// the runner as a plain subprocess (still with a clean environment); with
// SandboxRequired it refuses. The submission declares no resources, so
// terraform never contacts a cluster.
func TestFallbackWithoutNamespaces(t *testing.T) {
	tfBin, err := FindTerraform("")
	if err != nil {
		t.Fatal(err)
	}
	// A user namespace whose root maps to a uid that does not exist in
	// ours cannot be made: the start fails as it does where user
	// namespaces are disabled.
	saved := sandboxAttr
	sandboxAttr = func() *syscall.SysProcAttr {
		a := sandboxSysProcAttr()
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1 << 31, Size: 1}}
		a.Credential = nil
		return a
	}
	t.Cleanup(func() { sandboxAttr = saved })

	var (
		mu       sync.Mutex
		warnings []string
	)
	log := funcr.New(func(_, args string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, args)
	}, funcr.Options{})
	files := map[string]string{"main.tf": "locals {\n  greeting = \"hello\"\n}\n\noutput \"greeting\" {\n  value = local.greeting\n}\n"}
	req := Request{Namespace: "lab-fallback", Exercise: "x", Files: files, Kubeconfig: []byte("apiVersion: v1\nkind: Config\n")}

	strict := &LocalExecutor{Binary: os.Args[0], Terraform: tfBin, Mirror: t.TempDir(), Sandbox: SandboxRequired, Log: log}
	if _, err := strict.Execute(context.Background(), req); err == nil {
		t.Error("SandboxRequired graded without a sandbox")
	}

	e := &LocalExecutor{Binary: os.Args[0], Terraform: tfBin, Mirror: t.TempDir(), Log: log}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		facts, err := e.Execute(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if get := facts[FactRunner].(map[string]any)["sandbox"]; get != SandboxNone {
			t.Errorf("runner.sandbox = %v, want %s", get, SandboxNone)
		}
		// The output is not in the (empty, local) state yet: a pending change.
		plan := facts[FactPlan].(map[string]any)
		if facts[FactError] != "" || plan["ok"] != true || plan["exitCode"] != int64(2) || len(plan["outputChanges"].([]any)) != 1 {
			t.Errorf("error %q, plan %v: want a plan adding the output", facts[FactError], plan)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, w := range warnings {
		if strings.Contains(w, "WITHOUT the namespace sandbox") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d fallback warnings over two runs, want 1: %v", n, warnings)
	}
}
