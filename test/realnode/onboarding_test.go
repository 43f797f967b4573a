package realnode_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/solution"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
	"github.com/handson-dev/rotation-operator/labs"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// TestWholeOnboardingInOneLab: the "3-week onboarding", one rotation that
// selects every track, solved exercise by exercise in catalog order with
// the reference solutions (labs/<track>/<exercise>/solution/), the real
// kubectl, helm and terraform and only the lab kubeconfig. Every exercise
// passes with every point, none regresses on the way (one exercise's
// objects are not another's), and solving one counts no attempt on the
// exercises it does not touch.
func TestWholeOnboardingInOneLab(t *testing.T) {
	ctx := context.Background()
	catalog, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	// The tracks the rotation selects: the cicd track's runs need Tekton,
	// and TestCICDDeliveryJourney plays all of it.
	catalog = slices.DeleteFunc(catalog, func(ex rotationsv1.Exercise) bool { return ex.Spec.Track == rotationsv1.TrackCICD })
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.Helm)
	if err != nil {
		t.Fatalf("helm CLI: %v", err)
	}
	terraformBin, err := tf.FindTerraform("")
	if err != nil {
		t.Fatal(err)
	}

	const name = "onboarding"
	lr := testutil.Rotation(name).Learner(name+"@example.com").
		Tracks(rotationsv1.TrackKubernetes, rotationsv1.TrackHelm, rotationsv1.TrackTerraform, rotationsv1.TrackDocker).Obj()
	l := provisionRotation(t, lr)

	home := t.TempDir()
	rc := filepath.Join(home, ".terraformrc")
	if err := os.WriteFile(rc, []byte(tf.CLIConfig(terraformMirror)), 0o600); err != nil {
		t.Fatal(err)
	}
	b64 := l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}")
	user, pass := dockerConfigAuth(t, b64, regCfg.Host)

	start := time.Now()
	var timings []string
	for i, ex := range catalog {
		sol, err := solution.Load(filepath.Join(harness.RepoRoot(), "labs", string(ex.Spec.Track), ex.Name, labs.SolutionDir), nil)
		if err != nil {
			t.Fatal(err)
		}
		others := attemptsOf(t, l, catalog[:i], ex.Name)
		var log bytes.Buffer
		began := time.Now()
		err = sol.Run(ctx, solution.Lab{
			Exercise: ex.Name, Namespace: l.ns, Kubeconfig: l.kubeconfig, StarterFiles: ex.Spec.Starter.Files,
			Registry: regCfg.Host, Username: user, Password: pass, Insecure: true,
			Kubectl: "kubectl", Helm: paths.Helm, Terraform: terraformBin,
			Env: []string{"HOME=" + home, "TF_CLI_CONFIG_FILE=" + rc, "HELM_CACHE_HOME=" + filepath.Join(home, "helm-cache"),
				"HELM_CONFIG_HOME=" + filepath.Join(home, "helm-config"), "HELM_DATA_HOME=" + filepath.Join(home, "helm-data")},
			Log: &log,
		})
		if err != nil {
			t.Fatalf("%s: the solution failed: %v\n%s", ex.Name, err, log.String())
		}
		solved := time.Since(began)
		testutil.Eventually(t, 4*time.Minute, func(ctx context.Context) error {
			e, err := l.exercise(ctx, ex.Name)
			if err != nil {
				return err
			}
			if e.State != rotationsv1.ExercisePassed || e.Points != e.MaxPoints {
				return fmt.Errorf("%s is %s with %d/%d points: %+v", ex.Name, e.State, e.Points, e.MaxPoints, e.Checks)
			}
			return nil
		})
		timings = append(timings, fmt.Sprintf("%s %s (solved in %s)", ex.Name, time.Since(began).Round(100*time.Millisecond), solved.Round(100*time.Millisecond)))
		// Exercises solved before: still passed, and this one's work was
		// no attempt on them.
		if after := attemptsOf(t, l, catalog[:i], ex.Name); !mapsEqual(after, others) {
			t.Errorf("solving %s counted attempts on other exercises: before %v, after %v", ex.Name, others, after)
		}
	}

	got := &rotationsv1.LearningRotation{}
	if err := admin.Get(ctx, client.ObjectKey{Name: name}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Completed != int32(len(catalog)) || got.Status.Score != got.Status.MaxScore || got.Status.Total != int32(len(catalog)) {
		t.Errorf("completed %d/%d, score %d/%d; want all %d passed with the maximum score",
			got.Status.Completed, got.Status.Total, got.Status.Score, got.Status.MaxScore, len(catalog))
	}
	for _, e := range got.Status.Exercises {
		if e.State != rotationsv1.ExercisePassed {
			t.Errorf("%s is %s at the end", e.Name, e.State)
		}
	}
	events := &corev1.EventList{}
	if err := admin.List(ctx, events); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if ev.InvolvedObject.Name == name && ev.Reason == "ExerciseRegressed" {
			t.Errorf("ExerciseRegressed: %s", ev.Message)
		}
	}
	t.Logf("%d exercises passed in %s, score %d/%d:\n  %s", len(catalog), time.Since(start).Round(time.Second),
		got.Status.Score, got.Status.MaxScore, strings.Join(timings, "\n  "))
}

// provisionRotation is provision for a rotation built by the caller.
func provisionRotation(t *testing.T, lr *rotationsv1.LearningRotation) *learner {
	t.Helper()
	ctx := context.Background()
	if err := admin.Create(ctx, lr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), lr) })
	var l *learner
	testutil.Eventually(t, 3*time.Minute, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(lr), lr); err != nil {
			return err
		}
		if lr.Status.Kubeconfig == nil || len(lr.Status.Exercises) == 0 {
			return fmt.Errorf("no kubeconfig or results yet: %+v", lr.Status.Conditions)
		}
		return nil
	})
	var s corev1.Secret
	ref := lr.Status.Kubeconfig.SecretRef
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, s.Data[lab.KubeconfigKey], 0o600); err != nil {
		t.Fatal(err)
	}
	l = &learner{t: t, rotation: lr.Name, ns: lab.Namespace(lr.Name), kubeconfig: path}
	return l
}

// attemptsOf returns the attempts recorded on the given exercises but one.
func attemptsOf(t *testing.T, l *learner, exs []rotationsv1.Exercise, but string) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	for _, ex := range exs {
		if ex.Name == but {
			continue
		}
		e, err := l.exercise(context.Background(), ex.Name)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != rotationsv1.ExercisePassed {
			t.Errorf("%s, passed before, is now %s: %+v", ex.Name, e.State, e.Checks)
		}
		out[ex.Name] = e.Attempts
	}
	return out
}

func mapsEqual(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
