package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

func annotate(t testing.TB, rotation, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: rotation}}
	if err := admin.Patch(context.Background(), lr, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func gone(ctx context.Context, obj client.Object) error {
	err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err == nil:
		return fmt.Errorf("%T %s still there", obj, obj.GetName())
	}
	return fmt.Errorf("%T %s still there? %w", obj, obj.GetName(), err)
}

func TestHelpRequestRoundTrip(t *testing.T) {
	ctx := context.Background()
	const rotation, ns = "tb-help", "lab-tb-help"
	createRotation(t, testutil.Rotation(rotation).Mentors("mo@example.com").Obj())
	lr := waitReady(t, rotation)
	if err := condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionFalse, rotationsv1.ReasonNoHelpRequested); err != nil {
		t.Error(err)
	}
	learner := userClient(t, "tb-help@example.com")

	// The learner asks; the ConfigMap watch picks it up, no poke.
	asked := time.Now().UTC().Truncate(time.Second)
	help := requestConfigMap(ns, rotationsv1.RequestHelpName, rotationsv1.RequestHelp, map[string]string{
		rotationsv1.RequestKeyMessage: "stuck on the Service selector", rotationsv1.RequestKeyRequestedAt: asked.Format(time.RFC3339),
	})
	if err := learner.Create(ctx, help); err != nil {
		t.Fatalf("learner creating a help request: %v", err)
	}
	requested := time.Now()
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		h := lr.Status.HelpRequest
		if h == nil || h.Message != "stuck on the Service selector" || !h.RequestedAt.Time.Equal(asked) || h.AcknowledgedAt != nil {
			return fmt.Errorf("helpRequest = %+v", h)
		}
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionTrue, rotationsv1.ReasonHelpRequested)
	})
	t.Logf("help request in status %s after the ConfigMap, through the ConfigMap watch", time.Since(requested).Round(time.Millisecond))
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeWarning, rotationsv1.ReasonHelpRequested)
	})

	// A mentor listed in the rotation acknowledges it, as kubectl rotation ack does.
	mentor := userClient(t, "mo@example.com")
	ackPatch := func(key, value string) client.Patch {
		return client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)))
	}
	self := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: rotation}}
	if err := learner.Patch(ctx, self.DeepCopy(), ackPatch(rotationsv1.AnnotationHelpAcknowledged, asked.Format(time.RFC3339))); !apierrors.IsForbidden(err) {
		t.Errorf("the learner acknowledging their own help request: err = %v, want Forbidden", err)
	}
	// Mentors may set the protocol's annotations, nothing else.
	for name, patch := range map[string]client.Patch{
		"suspend the rotation":   client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"suspend":true}}`)),
		"add another mentor":     client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"mentors":[{"kind":"User","name":"mo@example.com"},{"kind":"User","name":"eve@example.com"}]}}`)),
		"set another annotation": ackPatch("example.com/note", "x"),
		"label the rotation":     client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"team":"x"}}}`)),
	} {
		if err := mentor.Patch(ctx, self.DeepCopy(), patch); err == nil || !strings.Contains(err.Error(), "mentors may only") {
			t.Errorf("mentor trying to %s: err = %v, want refused by the mentor guard", name, err)
		}
	}
	if err := mentor.Patch(ctx, self.DeepCopy(), ackPatch(rotationsv1.AnnotationHelpAcknowledged, asked.Format(time.RFC3339))); err != nil {
		t.Fatalf("mentor acknowledging: %v", err)
	}
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if h := lr.Status.HelpRequest; h == nil || h.AcknowledgedAt == nil {
			return fmt.Errorf("helpRequest = %+v", h)
		}
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionFalse, rotationsv1.ReasonHelpAcknowledged)
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeNormal, rotationsv1.ReasonHelpAcknowledged)
	})

	// A new requestedAt is a new request, open again.
	again := asked.Add(time.Minute)
	help.Data = map[string]string{rotationsv1.RequestKeyMessage: "still stuck", rotationsv1.RequestKeyRequestedAt: again.Format(time.RFC3339)}
	if err := learner.Update(ctx, help); err != nil {
		t.Fatal(err)
	}
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		h := lr.Status.HelpRequest
		if h == nil || h.Message != "still stuck" || !h.RequestedAt.Time.Equal(again) || h.AcknowledgedAt != nil {
			return fmt.Errorf("helpRequest = %+v", h)
		}
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionTrue, rotationsv1.ReasonHelpRequested)
	})

	// A learner's grade request is answered in status.gradeRequest.
	gradeAt := asked.Add(2 * time.Minute).Format(time.RFC3339)
	if err := learner.Create(ctx, requestConfigMap(ns, rotationsv1.RequestGradeName, rotationsv1.RequestGrade,
		map[string]string{rotationsv1.RequestKeyRequestedAt: gradeAt})); err != nil {
		t.Fatal(err)
	}
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.GradeRequest != gradeAt {
			return fmt.Errorf("gradeRequest = %q, want %q", lr.Status.GradeRequest, gradeAt)
		}
		return nil
	})

	// Requests that make no sense are refused with a Warning and deleted.
	bad := []*corev1.ConfigMap{
		requestConfigMap(ns, "rotation-reset-nope", rotationsv1.RequestReset, map[string]string{
			rotationsv1.RequestKeyExercise: "nope", rotationsv1.RequestKeyRequestedAt: gradeAt}),
		requestConfigMap(ns, "rotation-fly", "fly", map[string]string{rotationsv1.RequestKeyRequestedAt: gradeAt}),
		requestConfigMap(ns, "rotation-help-2", rotationsv1.RequestHelp, map[string]string{rotationsv1.RequestKeyRequestedAt: "yesterday"}),
	}
	for _, cm := range bad {
		if err := learner.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		var errs []error
		for _, cm := range bad {
			errs = append(errs, gone(ctx, cm.DeepCopy()))
		}
		return errors.Join(errs...)
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeWarning, "InvalidRequest")
	})
	// The operator kept running: the open request is still there.
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionTrue, rotationsv1.ReasonHelpRequested)
	})
}

func TestResetRestoresTheStarterAndKeepsCredit(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-reset", "tb-reset-scale", "lab-tb-reset"
	createExercise(t, scaleExercise(exercise))
	createRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	waitReady(t, rotation)
	learner := learnerSA(t, rotation)
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.StarterCreatedAt == nil || r.FactsHash == "" {
			return fmt.Errorf("not graded yet: %+v", r)
		}
		return nil
	})
	web := &appsv1.Deployment{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil {
		t.Fatal(err)
	}
	oldUID := web.UID

	scale(t, learner, ns, 3)
	if err := learner.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	before := exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.BestPoints != 15 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	firstPassed := before.Status.Exercises[0].FirstPassedAt
	// Terraform state and its lock, as the kubernetes backend writes them.
	tfstate := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tfstate-default-" + exercise, Namespace: ns},
		StringData: map[string]string{"tfstate": "{}"}}
	lock := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lock-tfstate-default-" + exercise, Namespace: ns}}
	for _, obj := range []client.Object{tfstate, lock} {
		if err := learner.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	req := requestConfigMap(ns, rotationsv1.RequestResetPrefix+exercise, rotationsv1.RequestReset, map[string]string{
		rotationsv1.RequestKeyExercise: exercise, rotationsv1.RequestKeyRequestedAt: time.Now().UTC().Format(time.RFC3339),
	})
	requested := time.Now()
	if err := learner.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	lr := exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Resets != 1 || r.LastResetAt == nil {
			return fmt.Errorf("not reset yet: %+v", r)
		}
		// The Service is the learner's and stays; web is back to 1 replica.
		if r.State != rotationsv1.ExerciseInProgress || r.Points != 5 {
			return fmt.Errorf("after the reset: state %s points %d, want InProgress and 5", r.State, r.Points)
		}
		return nil
	})
	t.Logf("reset served %s after the request (foreground deletion of the starter Deployment included)", time.Since(requested).Round(time.Millisecond))
	res := lr.Status.Exercises[0]
	if res.BestPoints != 15 || !res.FirstPassedAt.Equal(firstPassed) || lr.Status.Score != 15 || lr.Status.Progress != "1/1" {
		t.Errorf("credit not kept: best %d firstPassedAt %v (was %v) score %d progress %s", res.BestPoints, res.FirstPassedAt, firstPassed, lr.Status.Score, lr.Status.Progress)
	}
	if len(lr.Status.Summary) != 1 || !strings.Contains(lr.Status.Summary[0], "reset 1 time") {
		t.Errorf("summary = %q", lr.Status.Summary)
	}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil {
		t.Fatalf("starter not recreated: %v", err)
	}
	if web.UID == oldUID || *web.Spec.Replicas != 1 || web.Labels[rotationsv1.LabelExercise] != exercise {
		t.Errorf("starter web: uid %s (old %s) replicas %d labels %v", web.UID, oldUID, *web.Spec.Replicas, web.Labels)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return errors.Join(gone(ctx, tfstate), gone(ctx, lock), gone(ctx, req))
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeNormal, "ExerciseReset")
	})
	if err := findEvent(ctx, rotation, corev1.EventTypeWarning, "ExerciseRegressed"); err == nil {
		t.Error("a reset was reported as a regression")
	}

	// Passing again after a reset is a pass; credit stays what it was.
	scale(t, learner, ns, 3)
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.BestPoints != 15 || r.Resets != 1 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
}

// helmResetExercise grades one Helm release by name, so its scope names it.
func helmResetExercise(name string) *rotationsv1.Exercise {
	return &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackHelm, Title: "Install web", Instructions: "# Install the chart as release web",
			EstimatedMinutes: 10,
			Checks: []rotationsv1.Check{{Name: "installed", Points: 10, Message: "install the chart as a release named web",
				Expression: "helm.releases[?'web'].status.orValue('') == 'deployed'"}},
		},
	}
}

func TestResetUninstallsTheHelmRelease(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-helmreset", "tb-helm-reset", "lab-tb-helmreset"
	chart := testutil.WriteChart(t)
	createExercise(t, helmResetExercise(exercise))
	createRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	waitReady(t, rotation)
	secret := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	helm := testutil.NewHelmCLI(t, secret.Data["kubeconfig"])
	helm.Must(t, "install", "web", chart)
	helm.Must(t, "upgrade", "web", chart, "--set", "replicaCount=2")
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	if err := learnerSA(t, rotation).Create(ctx, requestConfigMap(ns, rotationsv1.RequestResetPrefix+exercise, rotationsv1.RequestReset,
		map[string]string{rotationsv1.RequestKeyExercise: exercise, rotationsv1.RequestKeyRequestedAt: time.Now().UTC().Format(time.RFC3339)})); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Resets != 1 || r.State != rotationsv1.ExerciseInProgress || r.Points != 0 || r.BestPoints != 10 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	// The release and what it installed are gone, for helm too.
	if out := strings.TrimSpace(helm.Must(t, "list", "-q")); out != "" {
		t.Errorf("helm list after the reset: %q", out)
	}
	for _, obj := range []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
	} {
		if err := gone(ctx, obj); err != nil {
			t.Error(err)
		}
	}
	// The learner starts over with the same release name.
	helm.Must(t, "install", "web", chart)
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Resets != 1 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
}

// startFiveMinuteExercise creates a rotation with one scale exercise
// estimated at 5 minutes, makes the learner's first (wrong) attempt, which
// starts the exercise's clock, and returns the learner's client.
func startFiveMinuteExercise(t *testing.T, rotation, exercise string) client.Client {
	t.Helper()
	ex := scaleExercise(exercise)
	ex.Spec.EstimatedMinutes = 5
	createExercise(t, ex)
	createRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	waitReady(t, rotation)
	learner := learnerSA(t, rotation)
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.EstimatedMinutes != 5 || r.FactsHash == "" {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	scale(t, learner, "lab-"+rotation, 2) // a wrong first attempt starts the clock
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.StartedAt == nil {
			return fmt.Errorf("not started: %+v", r)
		}
		return nil
	})
	return learner
}

func TestTunnelEffectFields(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-tunnel", "tb-tunnel-scale", "lab-tb-tunnel"
	learner := startFiveMinuteExercise(t, rotation, exercise)
	advance(t, 9*time.Minute, rotation)
	time.Sleep(time.Second)
	if err := findEvent(ctx, rotation, corev1.EventTypeWarning, "ExerciseOverrun"); err == nil {
		t.Error("overrun reported before twice the estimate")
	}
	advance(t, 2*time.Minute, rotation)
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.OverranAt == nil {
			return fmt.Errorf("no overrun after 11 minutes on a 5-minute exercise: %+v", r)
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeWarning, "ExerciseOverrun")
	})
	scale(t, learner, ns, 3)
	if err := learner.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	lr := exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.MinutesToPass < 11 || r.MinutesToPass > 13 {
			return fmt.Errorf("state %s minutesToPass %d, want Passed in 11-13", r.State, r.MinutesToPass)
		}
		return nil
	})
	if err := condition(lr, rotationsv1.ConditionCompleted, metav1.ConditionTrue, rotationsv1.ReasonAllPassed); err != nil {
		t.Error(err)
	}
	// The event was sent once.
	events := 0
	list := &eventsv1.EventList{}
	if err := admin.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Name == rotation && e.Reason == "ExerciseOverrun" {
			events += max(1, int(e.DeprecatedCount))
			if e.Series != nil {
				events += int(e.Series.Count) - 1
			}
		}
	}
	if events != 1 {
		t.Errorf("%d ExerciseOverrun events, want 1", events)
	}
}
