package realnode_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/plugin"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
	"github.com/handson-dev/rotation-operator/labs"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// TestSelfTestEveryBuiltin is CI's run of `kubectl rotation test` for each
// built-in exercise with its shipped solution: each fails at its start and
// passes after its solution, in a scratch lab of its own.
func TestSelfTestEveryBuiltin(t *testing.T) {
	catalog, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.Helm)
	if err != nil {
		t.Fatal(err)
	}
	terraformBin, err := tf.FindTerraform("")
	if err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(t.TempDir(), ".terraformrc")
	if err := os.WriteFile(rc, []byte(tf.CLIConfig(terraformMirror)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ex := range catalog {
		t.Run(ex.Name, func(t *testing.T) {
			if ex.Spec.Track == rotationsv1.TrackCICD {
				ensureTekton(t) // pipelines need the engine, whichever test ran first
			}
			dir := filepath.Join(harness.RepoRoot(), "labs", string(ex.Spec.Track), ex.Name, labs.SolutionDir)
			var out, errOut bytes.Buffer
			start := time.Now()
			code := plugin.Main(context.Background(), []string{"test", ex.Name, "--solution", dir,
				"--kubeconfig", cluster.KubeconfigPath, "--insecure-registry", "--helm", paths.Helm,
				"--terraform", terraformBin, "--terraform-rc", rc, "--timeout", "4m"},
				genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != plugin.ExitOK {
				t.Fatalf("kubectl rotation test %s: exit %d\n%s%s", ex.Name, code, out.String(), errOut.String())
			}
			t.Logf("%s self-tested in %s", ex.Name, time.Since(start).Round(100*time.Millisecond))
		})
	}
}
