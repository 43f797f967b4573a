package controllers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// An exercise with after: stays Locked, its instructions in the lab,
// until the exercise it comes after passes.
func TestExerciseAfterIsLockedUntilItsPrerequisitePasses(t *testing.T) {
	ctx := context.Background()
	createExercise(t, scaleExercise("t-first"))
	second := &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: "t-second"},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackKubernetes, Title: "Then a ConfigMap", Instructions: "# Create the ConfigMap settings",
			After: []string{"t-first"},
			Checks: []rotationsv1.Check{{Name: "settings", Points: 5, Message: "create the ConfigMap settings",
				Expression: "'settings' in kube.configmaps"}},
		},
	}
	createExercise(t, second)
	createRotation(t, testutil.Rotation("ordered").Exercises("t-first", "t-second").Obj())
	waitReady(t, "ordered")
	learner := userClient(t, "ordered@example.com")
	ns := "lab-ordered"

	exerciseResult(t, "ordered", "t-second", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseLocked || len(r.LockedBy) != 1 || r.LockedBy[0] != "t-first" || r.MaxPoints != 5 {
			return fmt.Errorf("result = %+v, want Locked by t-first", r)
		}
		return nil
	})
	cm := &corev1.ConfigMap{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: "exercise-t-second"}, cm); err != nil {
		t.Fatalf("the locked exercise's instructions: %v", err)
	}
	// Work on the locked exercise counts for nothing yet.
	if err := learner.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}

	scale(t, learner, ns, 3)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if err := learner.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, "ordered", "t-second", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State == rotationsv1.ExerciseLocked || len(r.LockedBy) != 0 {
			return fmt.Errorf("still locked: %+v", r)
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "ordered", corev1.EventTypeNormal, "ExerciseUnlocked")
	})
}

func TestExerciseAfterMistakes(t *testing.T) {
	self := scaleExercise("t-self")
	self.Spec.After = []string{"t-self"}
	if err := admin.Create(context.Background(), self); err == nil || !strings.Contains(err.Error(), "cannot come after itself") {
		t.Fatalf("self-reference: err = %v", err)
	}
	ping, pong := scaleExercise("t-ping"), scaleExercise("t-pong")
	ping.Spec.After, pong.Spec.After = []string{"t-pong", "t-nowhere"}, []string{"t-ping"}
	createExercise(t, ping)
	createExercise(t, pong)
	createRotation(t, testutil.Rotation("cyclic").Exercises("t-ping", "t-pong").Obj())
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "cyclic"}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExercisesResolved)
		if c == nil || c.Reason != rotationsv1.ReasonExerciseOrderInvalid ||
			!strings.Contains(c.Message, "cycle") || !strings.Contains(c.Message, "t-nowhere, which is no Exercise") {
			return fmt.Errorf("ExercisesResolved = %+v", c)
		}
		return nil
	})
}

// helmReleaseSecret is a release Secret as someone writes it by hand:
// Helm's encoding, without helm.
func helmReleaseSecret(t *testing.T, ns string, version int, status, description string, rollback int) *corev1.Secret {
	t.Helper()
	rel, _ := json.Marshal(map[string]any{
		"name": "web", "namespace": ns, "version": version,
		"info":   map[string]any{"status": status, "description": description, "rollback_revision": rollback},
		"chart":  map[string]any{"metadata": map[string]any{"name": "web", "version": "0.1.0"}},
		"config": map[string]any{"replicaCount": 2}, "manifest": "",
	})
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(rel)
	_ = w.Close()
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sh.helm.release.v1.web.v%d", version), Namespace: ns,
			Labels: map[string]string{"owner": "helm", "name": "web", "version": fmt.Sprint(version), "status": status}},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))},
	}
}

// The forged case: three release Secrets written without helm earn none
// of the history's points, and the mentor gets a Warning.
func TestForgedHelmHistoryEarnsNothing(t *testing.T) {
	ctx := context.Background()
	createExercise(t, testutil.HelmExercise("t-forged"))
	createRotation(t, testutil.Rotation("forger").Exercises("t-forged").Obj())
	waitReady(t, "forger")
	learner := userClient(t, "forger@example.com")
	ns := "lab-forger"
	for _, s := range []*corev1.Secret{
		helmReleaseSecret(t, ns, 1, "superseded", "Install complete", 0),
		helmReleaseSecret(t, ns, 2, "superseded", "Upgrade complete", 0),
		helmReleaseSecret(t, ns, 3, "deployed", "Rollback to 1", 1),
	} {
		if err := learner.Create(ctx, s); err != nil {
			t.Fatalf("writing %s: %v", s.Name, err)
		}
	}
	lr := exerciseResult(t, "forger", "t-forged", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if !strings.Contains(r.HandWritten, "release web: release secret sh.helm.release.v1.web.v") || !strings.Contains(r.HandWritten, "not by helm") {
			return fmt.Errorf("handWritten = %q, checks %+v", r.HandWritten, r.Checks)
		}
		if r.Points != 0 || r.BestPoints != 0 {
			return fmt.Errorf("forged history earns %d points (best %d): %+v", r.Points, r.BestPoints, r.Checks)
		}
		return nil
	})
	t.Logf("forged history: %d/%d points; %s", lr.Status.Score, lr.Status.MaxScore, lr.Status.Exercises[0].HandWritten)
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "forger", corev1.EventTypeWarning, "ToolStorageHandWritten")
	})
}
