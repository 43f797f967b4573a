package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// resetWait is how long a pass waits for a reset's deletions to finish;
// resetPollInterval is how soon a reset still waiting looks again.
const (
	resetWait         = 10 * time.Second
	resetPollInterval = time.Second
)

// serveReset returns an exercise to its start at the learner's request:
//
//  1. delete, as the learner, its starter objects and what the fact sources
//     name (the objects of the Helm releases its checks name, those its
//     Terraform state manages, the state and its lock), in the foreground,
//     and wait until they are gone;
//  2. run the sources' cleanups (the Helm releases' storage Secrets, so
//     `helm install` starts over);
//  3. recreate the starter objects (as the learner), clear the result's facts
//     baseline, bump resets and lastResetAt, and delete the request.
//
// Credit earned (bestPoints, firstPassedAt) stays. Resets are served only
// while the rotation is active: a suspended rotation keeps the request for
// its resume; after the deadline it is refused.
func (r *LearningRotationReconciler) serveReset(ctx context.Context, s *rotationScope, req *request) (ctrl.Result, error) {
	switch s.stage {
	case stageSuspended:
		return ctrl.Result{}, nil
	case stageActive:
	default:
		return ctrl.Result{}, r.refuseRequest(ctx, s, req.cm, "the rotation has ended; exercises cannot be reset")
	}
	var sel *selectedExercise
	for i := range s.exercises {
		if s.exercises[i].ex.Name == req.exercise {
			sel = &s.exercises[i]
		}
	}
	switch {
	case sel == nil:
		return ctrl.Result{}, r.refuseRequest(ctx, s, req.cm, fmt.Sprintf("exercise %q is not part of this rotation", req.exercise))
	case sel.compileErr != nil:
		return ctrl.Result{}, r.refuseRequest(ctx, s, req.cm, fmt.Sprintf("exercise %q cannot be graded now: %v", req.exercise, sel.compileErr))
	}

	ns := lab.Namespace(s.lr.Name)
	learner, err := r.Learners.For(ctx, s.lr.Name)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("getting learner credentials to reset %s: %w", req.exercise, err)
	}
	targets, cleanups, err := r.resetTargets(ctx, learner, ns, sel)
	if err != nil {
		return ctrl.Result{}, err
	}
	var deleted []string
	var pending []*unstructured.Unstructured
	var errs []error
	for _, u := range targets {
		err := learner.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationForeground))
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil && (apierrors.IsForbidden(err) || meta.IsNoMatchError(err) || apierrors.IsMethodNotSupported(err)):
			errs = append(errs, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err))
			continue
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("resetting %s: deleting %s %s: %w", req.exercise, u.GetKind(), u.GetName(), err)
		}
		deleted = append(deleted, u.GetKind()+" "+u.GetName())
		pending = append(pending, u)
	}
	if err := errors.Join(errs...); err != nil {
		msg := fmt.Sprintf("exercise %s could not be reset: %v; ask your mentor", req.exercise, err)
		s.events.add(corev1.EventTypeWarning, "ResetFailed", "ResetExercise", msg)
		return ctrl.Result{}, client.IgnoreNotFound(r.Client.Delete(ctx, req.cm, client.Preconditions{UID: &req.cm.UID}))
	}
	// Foreground deletion keeps an object until its dependents are gone (a
	// Deployment's ReplicaSets and Pods): usually a second or two, so the
	// pass waits that long rather than grade a half-deleted exercise. Past
	// that it requeues, and grading leaves the exercise alone meanwhile.
	if left, err := waitGone(ctx, learner, pending, resetWait); err != nil {
		return ctrl.Result{}, err
	} else if len(left) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("reset waits for deletions", "exercise", req.exercise, "pending", left)
		s.resetPending[req.exercise] = true
		return ctrl.Result{RequeueAfter: resetPollInterval}, nil
	}
	// The objects are gone: now what recorded them (a Helm release's history).
	for _, c := range cleanups {
		what, err := c.Run(ctx, learner)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("resetting %s: deleting %s: %w", req.exercise, c.What, err)
		}
		if what != "" {
			deleted = append(deleted, what)
		}
	}

	res := s.result(sel.ex.Name)
	markReset(res, r.Clock.Now())
	if err := r.createStarters(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	what := resetSummary(deleted, len(sel.ex.Spec.Starter.Objects))
	s.events.add(corev1.EventTypeNormal, "ExerciseReset", "ResetExercise",
		fmt.Sprintf("exercise %s reset at the learner's request (reset %d): %s; credit kept: %d/%d points", sel.ex.Name, res.Resets, what, res.BestPoints, res.MaxPoints))
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Delete(ctx, req.cm, client.Preconditions{UID: &req.cm.UID}))
}

// markReset records a reset on an exercise's result. Credit earned stays;
// the next grading is a new baseline: the reset is not an attempt.
func markReset(res *rotationsv1.ExerciseResult, now time.Time) {
	at := metav1.NewTime(now.UTC().Truncate(time.Second))
	res.Resets++
	res.LastResetAt = &at
	res.StarterCreatedAt = nil
	res.FactsHash = ""
	if res.StartedAt != nil {
		res.State = rotationsv1.ExerciseInProgress
	} else {
		res.State = rotationsv1.ExerciseNotStarted
	}
}

// resetSummary says what a reset did, for its event.
func resetSummary(deleted []string, starters int) string {
	what := "nothing to delete"
	if len(deleted) > 0 {
		what = "deleted " + strings.Join(deleted, ", ")
	}
	if starters > 0 {
		what += fmt.Sprintf("; %d starter objects recreated", starters)
	}
	return what
}

// resetTargets lists the objects a reset deletes first, and the cleanups
// that run after them: the starter's objects, then each fact source's
// targets (read as the learner), once each.
func (r *LearningRotationReconciler) resetTargets(ctx context.Context, learner client.Client, ns string, sel *selectedExercise) ([]*unstructured.Unstructured, []factsource.Cleanup, error) {
	var out []*unstructured.Unstructured
	seen := map[string]bool{}
	add := func(u *unstructured.Unstructured) {
		u.SetNamespace(ns)
		key := u.GroupVersionKind().GroupKind().String() + "/" + u.GetName()
		if u.GetName() == "" || u.GetKind() == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, u)
	}
	for _, raw := range sel.ex.Spec.Starter.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			continue // refused when the Exercise was admitted; nothing of it was created
		}
		add(u)
	}
	var scope []string
	if sel.program != nil {
		scope = sel.program.Scope
	}
	var cleanups []factsource.Cleanup
	for _, src := range r.Sources {
		t, err := src.ResetTargets(ctx, factsource.ResetRequest{Namespace: ns, Exercise: sel.ex.Name, Scope: scope, Learner: learner})
		if err != nil {
			return nil, nil, err
		}
		for _, u := range t.Objects {
			add(u)
		}
		cleanups = append(cleanups, t.Then...)
	}
	return out, cleanups, nil
}

// startersMissing: the exercise has starter objects that are not created
// yet (the first pass failed to, or a reset is recreating them).
func startersMissing(sel selectedExercise, r rotationsv1.ExerciseResult) bool {
	return sel.compileErr == nil && len(sel.ex.Spec.Starter.Objects) > 0 && r.StarterCreatedAt == nil
}
