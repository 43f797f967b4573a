package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/plugin"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestRefusedTerraformSubmissionShowsWhy hands in a configuration that
// reads /etc/passwd and another lab's state. The operator's grader refuses
// it before terraform runs, and `kubectl rotation status terraform-basics`,
// run as the learner with the issued kubeconfig, says what was refused and
// why, and shows nothing the learner may not read: no file contents, no
// other lab's state, no credentials or paths of the operator.
func TestRefusedTerraformSubmissionShowsWhy(t *testing.T) {
	ctx := context.Background()
	const name, exercise = "tfref", "terraform-basics"
	ns := "lab-" + name

	// Another lab's state, with a marker that must never reach this learner.
	const victimNS, marker = "lab-tfref-victim", "victim-state-marker-8f3a"
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: victimNS}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tfstate-default-app", Namespace: victimNS},
			StringData: map[string]string{"tfstate": `{"version":4,"outputs":{"secret":{"value":"` + marker + `"}}}`}},
	} {
		if err := env.Admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = env.Admin.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: victimNS}})
	})

	env.CreateRotation(t, testutil.Rotation(name).Exercises(exercise).Obj())
	env.WaitReady(t, name)
	files := testutil.TerraformSolution(t, exercise, ns)
	files["steal.tf"] = fmt.Sprintf(`data "terraform_remote_state" "other" {
  backend = "kubernetes"
  config = {
    secret_suffix = "app"
    namespace     = %q
  }
}

output "passwd" {
  value = file("/etc/passwd")
}
`, victimNS)
	testutil.Submit(t, env.LearnerSA(t, name), ns, exercise, files)
	env.ExerciseResult(t, name, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		for _, c := range r.Checks {
			if c.Name == "valid-and-formatted" && !c.Passed && strings.Contains(c.Message, "refused") {
				return nil
			}
		}
		return fmt.Errorf("not refused yet: %+v", r.Checks)
	})

	// The learner's own kubeconfig, as the operator issued it.
	kc := &corev1.Secret{}
	if err := env.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.KubeconfigSecret}, kc); err != nil {
		t.Fatal(err)
	}
	kubeFile := filepath.Join(t.TempDir(), "lab.kubeconfig")
	if err := os.WriteFile(kubeFile, kc.Data[lab.KubeconfigKey], 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := plugin.Main(ctx, []string{"status", exercise, "--kubeconfig", kubeFile},
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != plugin.ExitOK {
		t.Fatalf("kubectl rotation status %s: exit %d\n%s%s", exercise, code, out.String(), errOut.String())
	}
	status := out.String()
	t.Logf("kubectl rotation status %s:\n%s", exercise, status)
	for _, want := range []string{
		"refused before terraform ran",
		`steal.tf:10: file(): the absolute path "/etc/passwd" is outside the module`,
		`steal.tf:5: data "terraform_remote_state" "other": namespace must be your lab namespace "` + ns + `"`,
		"Change that and submit again",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	token := string(kc.Data[lab.KubeconfigKey])
	if i := strings.Index(token, "token: "); i >= 0 {
		token = strings.TrimSpace(strings.SplitN(token[i+len("token: "):], "\n", 2)[0])
	}
	for _, leak := range []string{"root:x:0:0", marker, token, "/tmp/", "/etc/passwd\n"} {
		if leak != "" && strings.Contains(status, leak) {
			t.Errorf("status shows %q, which the learner may not read", leak)
		}
	}
}
