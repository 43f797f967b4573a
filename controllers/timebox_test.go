package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// advance moves the operator's clock and makes it look at the rotation: a
// fake clock does not fire the real-time requeues. The clock is set back to
// the real time when the test ends: tokens expire by the apiserver's clock,
// and later tests expect the two to agree.
func advance(t testing.TB, d time.Duration, rotation string) {
	t.Helper()
	t.Cleanup(func() { clock.SetTime(time.Now()) })
	clock.Step(d)
	poke(t, rotation)
}

// assertQuietPass pokes the rotation and fails if the pass writes anything
// about it: outside the active window, as inside it, an unchanged rotation
// costs no writes.
func assertQuietPass(t testing.TB, rotation string) {
	t.Helper()
	time.Sleep(time.Second) // let the passes of earlier changes finish
	writes.Reset()
	before := reconcileCount(t)
	poke(t, rotation)
	testutil.Eventually(t, 10*time.Second, func(context.Context) error {
		if reconcileCount(t) < before+1 {
			return errors.New("the operator has not reconciled the poked rotation")
		}
		return nil
	})
	time.Sleep(time.Second)
	for _, w := range writes.Writes() {
		if strings.Contains(w, "/"+rotation) || strings.Contains(w, "lab-"+rotation) {
			t.Errorf("an unchanged %s rotation was written: %s", rotation, w)
		}
	}
}

// rotationWhere waits until cond holds for the rotation and returns it.
func rotationWhere(t testing.TB, name string, cond func(*rotationsv1.LearningRotation) error) *rotationsv1.LearningRotation {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		return cond(lr)
	})
	return lr
}

// condition checks a condition's status and reason.
func condition(lr *rotationsv1.LearningRotation, t string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(lr.Status.Conditions, t)
	if c == nil || c.Status != status || c.Reason != reason {
		return fmt.Errorf("condition %s = %+v, want %s/%s", t, c, status, reason)
	}
	return nil
}

// canWrite tells whether c may create a Deployment in ns (a dry run: nothing is created).
func canWrite(ctx context.Context, c client.Client, ns string) error {
	return c.Create(ctx, restrictedDeployment(ns, "probe"), client.DryRunAll)
}

// forbidden says what is wrong when err, of a write the learner may not
// do, is not Forbidden.
func forbidden(what string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return nil
	case err == nil:
		return fmt.Errorf("%s: allowed, want Forbidden", what)
	}
	return fmt.Errorf("%s: %w, want Forbidden", what, err)
}

func webService(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

func TestScheduledRotationWaitsForItsStart(t *testing.T) {
	ctx := context.Background()
	const rotation = "tb-sched"
	start := clock.Now().Add(5 * time.Minute)
	createRotation(t, testutil.Rotation(rotation).Start(start).Duration(time.Hour).Obj())

	lr := rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.Phase != rotationsv1.PhaseScheduled || lr.Status.Access != rotationsv1.AccessNone {
			return fmt.Errorf("phase %s access %s", lr.Status.Phase, lr.Status.Access)
		}
		return errors.Join(condition(lr, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonScheduled),
			condition(lr, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonScheduled))
	})
	if lr.Status.StartedAt == nil || !lr.Status.StartedAt.Time.Equal(start.UTC().Truncate(time.Second)) {
		t.Errorf("startedAt = %v, want %v", lr.Status.StartedAt, start)
	}
	if err := admin.Get(ctx, client.ObjectKey{Name: "lab-" + rotation}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Fatalf("lab namespace before the start: err = %v, want NotFound", err)
	}

	advance(t, 5*time.Minute, rotation)
	lr = waitReady(t, rotation)
	if lr.Status.Phase != rotationsv1.PhaseActive || lr.Status.Access != rotationsv1.AccessReadWrite {
		t.Errorf("after the start: phase %s access %s", lr.Status.Phase, lr.Status.Access)
	}
	if err := admin.Get(ctx, client.ObjectKey{Name: "lab-" + rotation}, &corev1.Namespace{}); err != nil {
		t.Errorf("lab namespace after the start: %v", err)
	}
}

func TestExpiryMakesTheLabReadOnlyAndRetentionDeletesIt(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-expire", "tb-expire-scale", "lab-tb-expire"
	createExercise(t, scaleExercise(exercise))
	createRotation(t, testutil.Rotation(rotation).Mentors("mia@example.com").Exercises(exercise).
		Start(clock.Now()).Duration(10*time.Minute).Retention(10*time.Minute).Obj())
	waitReady(t, rotation)
	learner := learnerSA(t, rotation)
	mentor := userClient(t, "mia@example.com")

	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.StarterCreatedAt == nil {
			return errors.New("starter not created yet")
		}
		return nil
	})
	scale(t, learner, ns, 3)
	if err := learner.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.BestPoints != 15 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// The deadline.
	advance(t, 10*time.Minute+time.Second, rotation)
	expired := rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.Phase != rotationsv1.PhaseExpired || lr.Status.Access != rotationsv1.AccessReadOnly {
			return fmt.Errorf("phase %s access %s", lr.Status.Phase, lr.Status.Access)
		}
		return errors.Join(condition(lr, rotationsv1.ConditionExpired, metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed),
			condition(lr, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonDeadlinePassed))
	})
	rb := &rbacv1.RoleBinding{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner"}, rb); err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Name != "rotation-operator:learner-readonly" || len(rb.Subjects) != 2 {
		t.Errorf("learner RoleBinding = %+v %+v, want the read-only role for the user and the ServiceAccount", rb.RoleRef, rb.Subjects)
	}
	// The learner's writes fail; RBAC may take a moment to see the new binding.
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return forbidden("learner creating a Deployment after the deadline", canWrite(ctx, learner, ns))
	})
	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":1}}`))
	if err := learner.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}, patch); !apierrors.IsForbidden(err) {
		t.Errorf("learner scaling after the deadline: err = %v, want Forbidden", err)
	}
	// Reading still works, for the learner and the mentor.
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &appsv1.Deployment{}); err != nil {
		t.Errorf("learner reading their work after the deadline: %v", err)
	}
	if err := learner.Get(ctx, client.ObjectKey{Name: rotation}, &rotationsv1.LearningRotation{}); err != nil {
		t.Errorf("learner reading their rotation after the deadline: %v", err)
	}
	if err := mentor.List(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns)); err != nil {
		t.Errorf("mentor reading the lab after the deadline: %v", err)
	}
	if err := mentor.Get(ctx, client.ObjectKey{Name: rotation}, &rotationsv1.LearningRotation{}); err != nil {
		t.Errorf("mentor reading the rotation after the deadline: %v", err)
	}

	// Grades are frozen: a change after the deadline is not graded.
	if err := admin.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}, patch); err != nil {
		t.Fatal(err)
	}
	poke(t, rotation)
	time.Sleep(2 * time.Second)
	lr := &rotationsv1.LearningRotation{}
	if err := admin.Get(ctx, client.ObjectKey{Name: rotation}, lr); err != nil {
		t.Fatal(err)
	}
	if got := lr.Status.Exercises[0]; got.State != rotationsv1.ExercisePassed || got.Points != 15 || !got.LastGradedAt.Equal(expired.Status.Exercises[0].LastGradedAt) {
		t.Errorf("result changed after the deadline: %+v", got)
	}
	assertQuietPass(t, rotation)
	for _, reason := range []string{rotationsv1.ReasonDeadlinePassed, "AccessChanged"} {
		testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
			return findEvent(ctx, rotation, corev1.EventTypeNormal, reason)
		})
	}

	// The end of retention: the lab goes, the rotation and its grades stay.
	advance(t, 10*time.Minute, rotation)
	lr = rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.LabDeletedAt == nil || lr.Status.Access != rotationsv1.AccessNone || lr.Status.Kubeconfig != nil {
			return fmt.Errorf("labDeletedAt %v access %s kubeconfig %v", lr.Status.LabDeletedAt, lr.Status.Access, lr.Status.Kubeconfig)
		}
		return errors.Join(condition(lr, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonLabDeleted),
			condition(lr, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonLabDeleted))
	})
	if lr.Status.Phase != rotationsv1.PhaseExpired || lr.Status.Score != 15 || lr.Status.Progress != "1/1" ||
		lr.Status.Exercises[0].BestPoints != 15 || lr.Status.Exercises[0].FirstPassedAt == nil {
		t.Errorf("grades not kept: phase %s score %d progress %s %+v", lr.Status.Phase, lr.Status.Score, lr.Status.Progress, lr.Status.Exercises)
	}
	// kube-controller-manager's namespace controller empties and removes it.
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		return gone(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeNormal, rotationsv1.ReasonLabDeleted)
	})
	assertQuietPass(t, rotation)
	// It is not recreated.
	poke(t, rotation)
	time.Sleep(2 * time.Second)
	if err := admin.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("lab namespace recreated after retention: err = %v", err)
	}
}

// statefulSet is a restricted StatefulSet of one replica.
func statefulSet(ns, name string) *appsv1.StatefulSet {
	d := restrictedDeployment(ns, name)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(int32(1)), ServiceName: name, Selector: d.Spec.Selector, Template: d.Spec.Template,
		},
	}
}

func setSuspend(t testing.TB, rotation string, suspend bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"suspend":%t}}`, suspend)
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: rotation}}
	if err := admin.Patch(context.Background(), lr, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func TestSuspendAndResume(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-pause", "tb-pause-scale", "lab-tb-pause"
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
	api := restrictedDeployment(ns, "api")
	api.Spec.Replicas = ptr.To(int32(2))
	if err := learner.Create(ctx, api); err != nil {
		t.Fatal(err)
	}
	if err := learner.Create(ctx, statefulSet(ns, "db")); err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"Deployment/web": 1, "Deployment/api": 2, "StatefulSet/db": 1}
	replicas := func(ctx context.Context) (map[string]int32, map[string]string, error) {
		got, ann := map[string]int32{}, map[string]string{}
		for _, name := range []string{"web", "api"} {
			d := &appsv1.Deployment{}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
				return nil, nil, err
			}
			got["Deployment/"+name], ann["Deployment/"+name] = *d.Spec.Replicas, d.Annotations[rotationsv1.AnnotationSuspendedReplicas]
		}
		st := &appsv1.StatefulSet{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, st); err != nil {
			return nil, nil, err
		}
		got["StatefulSet/db"], ann["StatefulSet/db"] = *st.Spec.Replicas, st.Annotations[rotationsv1.AnnotationSuspendedReplicas]
		return got, ann, nil
	}

	setSuspend(t, rotation, true)
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.Phase != rotationsv1.PhaseSuspended || lr.Status.Access != rotationsv1.AccessReadOnly {
			return fmt.Errorf("phase %s access %s", lr.Status.Phase, lr.Status.Access)
		}
		return condition(lr, rotationsv1.ConditionSuspended, metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec)
	})
	got, ann, err := replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if got[k] != 0 || ann[k] != fmt.Sprint(n) {
			t.Errorf("%s while suspended: %d replicas, annotation %q; want 0 and %q", k, got[k], ann[k], fmt.Sprint(n))
		}
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return forbidden("learner writing while suspended", canWrite(ctx, learner, ns))
	})
	// Grading is paused: a change that passes a check is not graded yet.
	if err := admin.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	poke(t, rotation)
	time.Sleep(2 * time.Second)
	lr := &rotationsv1.LearningRotation{}
	if err := admin.Get(ctx, client.ObjectKey{Name: rotation}, lr); err != nil {
		t.Fatal(err)
	}
	if p := lr.Status.Exercises[0].Points; p != 0 {
		t.Errorf("graded while suspended: %d points", p)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeNormal, "Suspended")
	})
	assertQuietPass(t, rotation)

	setSuspend(t, rotation, false)
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.Phase != rotationsv1.PhaseActive || lr.Status.Access != rotationsv1.AccessReadWrite {
			return fmt.Errorf("phase %s access %s", lr.Status.Phase, lr.Status.Access)
		}
		if p := lr.Status.Exercises[0].Points; p != 5 {
			return fmt.Errorf("grading has not resumed: %d points, want 5 for the Service", p)
		}
		return condition(lr, rotationsv1.ConditionSuspended, metav1.ConditionFalse, rotationsv1.ReasonNotSuspended)
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		got, ann, err := replicas(ctx)
		if err != nil {
			return err
		}
		for k, n := range want {
			if got[k] != n || ann[k] != "" {
				return fmt.Errorf("%s after resume: %d replicas, annotation %q; want %d and none", k, got[k], ann[k], n)
			}
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error { return canWrite(ctx, learner, ns) })
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, rotation, corev1.EventTypeNormal, "Resumed")
	})
	// Swapping the learner's RoleBinding is not reported as a repair.
	if err := findEvent(ctx, rotation, corev1.EventTypeNormal, "Repaired"); err == nil {
		t.Error("the access change was reported as a Repaired event")
	}
}

// The operator may delete namespaces (labs after retention), but the
// namespace guard policy limits that to the lab namespaces it manages.
func TestOperatorDeletesOnlyItsLabNamespaces(t *testing.T) {
	ctx := context.Background()
	operator := userClient(t, operatorUser, "system:serviceaccounts", "system:serviceaccounts:rotation-system")
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "tb-team"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lab-tb-impostor"}}, // a lab's name, not managed by the operator
		{ObjectMeta: metav1.ObjectMeta{Name: "tb-managed", Labels: map[string]string{rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue}}},
	} {
		if err := admin.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.Delete(ctx, ns) })
		err := operator.Delete(ctx, ns.DeepCopy())
		if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("operator deleting namespace %s: err = %v, want refused by the namespace guard", ns.Name, err)
		} else if !strings.Contains(err.Error(), "rotation-operator may only delete the lab namespaces it manages") {
			t.Errorf("operator deleting namespace %s: refused, but not by the namespace guard: %v", ns.Name, err)
		}
	}
}

// TestSuspendedTimeIsNotTheLearners: time the rotation spends suspended
// counts neither against the estimate (no overrun on resume) nor in the
// minutes the learner took to pass.
func TestSuspendedTimeIsNotTheLearners(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-paused", "tb-paused-scale", "lab-tb-paused"
	learner := startFiveMinuteExercise(t, rotation, exercise)
	setSuspend(t, rotation, true)
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		return condition(lr, rotationsv1.ConditionSuspended, metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec)
	})
	advance(t, 30*time.Minute, rotation)
	setSuspend(t, rotation, false)
	exerciseResult(t, rotation, exercise, func(lr *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if err := condition(lr, rotationsv1.ConditionSuspended, metav1.ConditionFalse, rotationsv1.ReasonNotSuspended); err != nil {
			return err
		}
		if r.PausedSeconds < 30*60 || r.PausedSeconds > 32*60 {
			return fmt.Errorf("pausedSeconds %d after a 30-minute suspension", r.PausedSeconds)
		}
		return nil
	})
	time.Sleep(time.Second)
	if err := findEvent(ctx, rotation, corev1.EventTypeWarning, "ExerciseOverrun"); err == nil {
		t.Error("an overrun reported for time spent suspended")
	}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		d := &appsv1.Deployment{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d); err != nil {
			return err
		}
		if *d.Spec.Replicas != 2 {
			return fmt.Errorf("web at %d replicas, want the 2 restored", *d.Spec.Replicas)
		}
		return canWrite(ctx, learner, ns)
	})
	scale(t, learner, ns, 3)
	if err := learner.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.MinutesToPass > 2 || r.OverranAt != nil {
			return fmt.Errorf("state %s minutesToPass %d overranAt %v, want Passed within 2 minutes, no overrun", r.State, r.MinutesToPass, r.OverranAt)
		}
		return nil
	})
}
