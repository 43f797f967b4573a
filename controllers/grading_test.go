package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// scaleExercise is a small exercise written for these tests, so they do not
// depend on the built-in catalog's wording.
func scaleExercise(name string) *rotationsv1.Exercise {
	starter := restrictedDeployment("", "web")
	starter.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	raw, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(starter)
	delete(raw["metadata"].(map[string]any), "namespace")
	delete(raw["metadata"].(map[string]any), "creationTimestamp")
	delete(raw, "status")
	rawJSON, _ := json.Marshal(raw)
	return &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackKubernetes, Title: "Scale and expose web", Instructions: "# Scale web to 3 and expose it",
			EstimatedMinutes: 20,
			Starter:          rotationsv1.Starter{Objects: []rotationsv1.StarterObject{{RawExtension: runtime.RawExtension{Raw: rawJSON}}}},
			Checks: []rotationsv1.Check{
				{Name: "three-replicas", Points: 10, Message: "scale the Deployment web to 3 replicas",
					Expression: "'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3"},
				{Name: "service", Points: 5, Message: "expose web with a Service named web on port 80",
					Expression: "'web' in kube.services && kube.services['web'].spec.ports.exists(p, p.port == 80)"},
			},
			Hints: []rotationsv1.Hint{
				{Text: "kubectl scale deployment web --replicas=3", AfterFailedAttempts: ptr.To(int32(1))},
				{Text: "kubectl expose deployment web --port=80 --target-port=8080", AfterMinutes: ptr.To(int32(30))},
			},
		},
	}
}

func TestLearnerDoesAnExerciseStepByStep(t *testing.T) {
	ctx := context.Background()
	createExercise(t, scaleExercise("t-scale"))
	createRotation(t, testutil.Rotation("grader").Exercises("t-scale").Obj())
	waitReady(t, "grader")
	learner := userClient(t, "grader@example.com")
	ns := "lab-grader"

	// Provisioned: NotStarted, starter created as the learner, instructions readable.
	lr := exerciseResult(t, "grader", "t-scale", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseNotStarted || r.StarterCreatedAt == nil || r.MaxPoints != 15 || r.Points != 0 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	if lr.Status.Progress != "0/1" || lr.Status.MaxScore != 15 {
		t.Errorf("progress %q max %d", lr.Status.Progress, lr.Status.MaxScore)
	}
	web := &appsv1.Deployment{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil {
		t.Fatalf("starter Deployment: %v", err)
	}
	if web.Labels[rotationsv1.LabelExercise] != "t-scale" || web.Labels[rotationsv1.LabelManagedBy] != "" {
		t.Errorf("starter labels = %v: want the exercise label and no managed-by (it is the learner's)", web.Labels)
	}
	instructions := &corev1.ConfigMap{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: "exercise-t-scale"}, instructions); err != nil {
		t.Fatalf("learner cannot read the instructions: %v", err)
	}
	if !strings.Contains(instructions.Data["instructions.md"], "Scale web") {
		t.Errorf("instructions = %v", instructions.Data)
	}

	// A wrong attempt: InProgress, the failure messages, the first hint.
	scale(t, learner, ns, 2)
	exerciseResult(t, "grader", "t-scale", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseInProgress || r.Attempts < 1 || r.FailedAttempts < 1 {
			return fmt.Errorf("result = %+v", r)
		}
		if r.Checks[0].Passed || r.Checks[0].Message != "scale the Deployment web to 3 replicas" {
			return fmt.Errorf("check = %+v", r.Checks[0])
		}
		if r.HintsUnlocked != 1 || r.Hint != "kubectl scale deployment web --replicas=3" {
			return fmt.Errorf("hint %d %q", r.HintsUnlocked, r.Hint)
		}
		return nil
	})

	// Done right: Passed with every point, and an event.
	scale(t, learner, ns, 3)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := learner.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	lr = exerciseResult(t, "grader", "t-scale", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 15 || r.FirstPassedAt == nil {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	if lr.Status.Score != 15 || lr.Status.Progress != "1/1" {
		t.Errorf("score %d progress %q", lr.Status.Score, lr.Status.Progress)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "grader", corev1.EventTypeNormal, "ExercisePassed")
	})

	// Breaking it again: Failed, a Warning event, and the earned score kept.
	if err := learner.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	lr = exerciseResult(t, "grader", "t-scale", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseFailed || r.Points != 10 || r.BestPoints != 15 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	if lr.Status.Score != 15 {
		t.Errorf("score after regression = %d, want the earned 15 kept", lr.Status.Score)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "grader", corev1.EventTypeWarning, "ExerciseRegressed")
	})

	// The time-locked hint unlocks 30 minutes after the learner started.
	clock.Step(31 * time.Minute)
	poke(t, "grader")
	exerciseResult(t, "grader", "t-scale", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.HintsUnlocked != 2 || !strings.Contains(r.Hint, "kubectl expose") {
			return fmt.Errorf("hints %d %q", r.HintsUnlocked, r.Hint)
		}
		return nil
	})

	// On demand: a new value of the grade-requested annotation is answered in status.
	req := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "grader"}}
	patch := `{"metadata":{"annotations":{"rotations.handson.dev/grade-requested":"req-1"}}}`
	if err := admin.Patch(ctx, req, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	lr = exerciseResult(t, "grader", "t-scale", func(lr *rotationsv1.LearningRotation, _ *rotationsv1.ExerciseResult) error {
		if lr.Status.GradeRequest != "req-1" {
			return fmt.Errorf("gradeRequest = %q", lr.Status.GradeRequest)
		}
		return nil
	})

	// The learner can neither grade themselves nor change the exercise.
	lr.Status.Score = 1000
	if err := learner.Status().Update(ctx, lr); !apierrors.IsForbidden(err) {
		t.Errorf("learner writing status: err = %v, want Forbidden", err)
	}
	ex := &rotationsv1.Exercise{}
	if err := learner.Get(ctx, client.ObjectKey{Name: "t-scale"}, ex); err != nil {
		t.Fatalf("learner cannot read the exercise: %v", err)
	}
	ex.Spec.Checks[0].Expression = "true"
	if err := learner.Update(ctx, ex); !apierrors.IsForbidden(err) {
		t.Errorf("learner editing the exercise: err = %v, want Forbidden", err)
	}
}

func scale(t testing.TB, c client.Client, ns string, replicas int32) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
	if err := c.Patch(context.Background(), d, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatalf("scaling web: %v", err)
	}
}

func TestBadExercisesAreReportedAndTheOperatorKeepsRunning(t *testing.T) {
	cases := []struct{ name, expr, want string }{
		{"bad-syntax", "kube.deployments['web'].spec.replicas ==", "Syntax error"},
		{"unknown-fact", "size(kube.widgets) > 0", "unknown fact kube.widgets"},
		{"unknown-variable", "size(vault.secrets) > 0", "undeclared reference to 'vault'"},
		{"too-costly", "kube.pods.all(a, kube.pods.all(b, kube.pods.all(c, kube.pods.all(d, a == d))))", "exceeds the limit"},
	}
	for _, c := range cases {
		ex := scaleExercise("t-bad-" + c.name)
		ex.Spec.Checks[1].Expression = c.expr
		createExercise(t, ex) // removed when the whole test ends: the rotation below selects one
		t.Run(c.name, func(t *testing.T) {
			testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
				if err := admin.Get(ctx, client.ObjectKeyFromObject(ex), ex); err != nil {
					return err
				}
				cond := meta.FindStatusCondition(ex.Status.Conditions, rotationsv1.ConditionReady)
				if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != rotationsv1.ReasonCheckCompileFailed {
					return fmt.Errorf("Ready = %+v", cond)
				}
				if !strings.Contains(cond.Message, `check "service"`) || !strings.Contains(cond.Message, c.want) {
					return fmt.Errorf("message %q does not name the check and %q", cond.Message, c.want)
				}
				return nil
			})
		})
	}

	// A rotation selecting a broken and a missing exercise says so and still provisions the lab.
	createRotation(t, testutil.Rotation("badsel").Exercises("t-bad-unknown-fact", "no-such-exercise").Obj())
	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: "badsel"}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExercisesResolved)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != rotationsv1.ReasonExerciseNotFound || !strings.Contains(c.Message, "no-such-exercise") {
			return fmt.Errorf("ExercisesResolved = %+v", c)
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionLabProvisioned) {
			return fmt.Errorf("lab not provisioned: %+v", lr.Status.Conditions)
		}
		return nil
	})
	if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
		t.Error("Ready is True with a missing exercise")
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "badsel", corev1.EventTypeWarning, rotationsv1.ReasonExerciseNotFound)
	})

	// Creating the missing exercise resolves it without touching the rotation.
	createExercise(t, scaleExercise("no-such-exercise"))
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: "badsel"}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExercisesResolved)
		if c == nil || c.Reason != rotationsv1.ReasonExerciseInvalid {
			return fmt.Errorf("ExercisesResolved = %+v, want only the invalid exercise left", c)
		}
		return nil
	})
}

func TestInvalidStarterIsReported(t *testing.T) {
	ex := scaleExercise("t-bad-starter")
	ex.Spec.Starter.Objects = []rotationsv1.StarterObject{{RawExtension: runtime.RawExtension{
		Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"kube-system"}}`)}}}
	createExercise(t, ex)
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(ex), ex); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(ex.Status.Conditions, rotationsv1.ConditionReady)
		if cond == nil || cond.Reason != rotationsv1.ReasonInvalidStarter || !strings.Contains(cond.Message, "sets metadata.namespace") {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
}

func TestExerciseAdmissionValidation(t *testing.T) {
	ex := scaleExercise("t-dup-checks")
	ex.Spec.Checks[1].Name = ex.Spec.Checks[0].Name
	err := admin.Create(context.Background(), ex)
	if err == nil || !strings.Contains(err.Error(), "check names must be unique") {
		t.Fatalf("duplicate check names: err = %v", err)
	}
	ex = scaleExercise("t-no-checks")
	ex.Spec.Checks = nil
	if err := admin.Create(context.Background(), ex); err == nil || !strings.Contains(err.Error(), "spec.checks") {
		t.Fatalf("no checks: err = %v", err)
	}
	ex = scaleExercise("t-bad-track")
	ex.Spec.Track = "cooking"
	if err := admin.Create(context.Background(), ex); err == nil || !strings.Contains(err.Error(), `Unsupported value: "cooking"`) {
		t.Fatalf("bad track: err = %v", err)
	}
}

func TestDeselectedExerciseInstructionsArePruned(t *testing.T) {
	ctx := context.Background()
	createExercise(t, scaleExercise("t-keep"))
	createExercise(t, scaleExercise("t-drop"))
	lr := createRotation(t, testutil.Rotation("prune").Exercises("t-keep", "t-drop").Obj())
	waitReady(t, "prune")
	cm := &corev1.ConfigMap{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "lab-prune", Name: "exercise-t-drop"}, cm); err != nil {
		t.Fatal(err)
	}
	if err := admin.Get(ctx, client.ObjectKey{Name: "prune"}, lr); err != nil {
		t.Fatal(err)
	}
	lr.Spec.Exercises.Names = []rotationsv1.ExerciseName{"t-keep"}
	if err := admin.Update(ctx, lr); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		dropped := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "lab-prune", Name: "exercise-t-drop"}}
		if err := gone(ctx, dropped); err != nil {
			return fmt.Errorf("instructions of the dropped exercise: %w", err)
		}
		if err := admin.Get(ctx, client.ObjectKey{Name: "prune"}, lr); err != nil {
			return err
		}
		if len(lr.Status.Exercises) != 1 || lr.Status.Exercises[0].Name != "t-keep" {
			return fmt.Errorf("results = %+v", lr.Status.Exercises)
		}
		return nil
	})
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "lab-prune", Name: "exercise-t-keep"}, cm); err != nil {
		t.Errorf("instructions of the kept exercise: %v", err)
	}
}
