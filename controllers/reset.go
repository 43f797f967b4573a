package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// Terraform track conventions: the kubernetes backend with workspace
// "default" and secret_suffix = <exercise> keeps its state in this Secret
// and locks it with this Lease.
func terraformStateSecret(exercise string) string { return "tfstate-default-" + exercise }
func terraformLockLease(exercise string) string   { return "lock-tfstate-default-" + exercise }

// helmReleaseSecretPrefix is the name prefix of a Helm release's storage Secrets.
func helmReleaseSecretPrefix(release string) string { return "sh.helm.release.v1." + release + ".v" }

// resetWait is how long a pass waits for a reset's deletions to finish;
// resetPollInterval is how soon a reset still waiting looks again.
const (
	resetWait         = 10 * time.Second
	resetPollInterval = time.Second
)

// waitGone waits up to timeout until every object is gone, and returns the
// ones that are not.
func waitGone(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, timeout time.Duration) ([]string, error) {
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, u := range objs {
			err := c.Get(ctx, client.ObjectKeyFromObject(u), u.DeepCopy())
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, err
			default:
				left = append(left, u.GetKind()+" "+u.GetName())
			}
		}
		return len(left) == 0, nil
	})
	if wait.Interrupted(err) {
		return left, nil
	}
	return left, err
}

// serveReset returns an exercise to its start at the learner's request:
//
//  1. delete, as the learner, its starter objects, the objects of the Helm
//     releases its checks name (from the release's rendered manifest) and its
//     Terraform state and lock, in the foreground, and wait until they are gone;
//  2. delete the Helm releases' storage Secrets, so `helm install` starts over;
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
	targets, releases, err := r.resetTargets(ctx, learner, ns, sel)
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
	// The releases' objects are gone: now their history.
	for _, name := range releases {
		n, err := r.deleteHelmRelease(ctx, learner, ns, name)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("resetting %s: deleting Helm release %s: %w", req.exercise, name, err)
		}
		if n > 0 {
			deleted = append(deleted, fmt.Sprintf("Helm release %s (%d revisions)", name, n))
		}
	}

	res := s.result(sel.ex.Name)
	now := metav1.NewTime(r.Clock.Now().UTC().Truncate(time.Second))
	res.Resets++
	res.LastResetAt = &now
	res.StarterCreatedAt = nil
	// The next grading is a new baseline: the reset is not an attempt.
	res.FactsHash = ""
	if res.StartedAt != nil {
		res.State = rotationsv1.ExerciseInProgress
	} else {
		res.State = rotationsv1.ExerciseNotStarted
	}
	if err := r.createStarters(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	what := "nothing to delete"
	if len(deleted) > 0 {
		what = "deleted " + strings.Join(deleted, ", ")
	}
	if n := len(sel.ex.Spec.Starter.Objects); n > 0 {
		what += fmt.Sprintf("; %d starter objects recreated", n)
	}
	s.events.add(corev1.EventTypeNormal, "ExerciseReset", "ResetExercise",
		fmt.Sprintf("exercise %s reset at the learner's request (reset %d): %s; credit kept: %d/%d points", sel.ex.Name, res.Resets, what, res.BestPoints, res.MaxPoints))
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Delete(ctx, req.cm, client.Preconditions{UID: &req.cm.UID}))
}

// resetTargets lists the objects a reset deletes first, and the Helm
// releases whose storage goes after them. The objects are the starter's,
// those of the Helm releases the exercise grades, and those its Terraform
// state manages (read as the learner), with the state itself: after a
// reset, the learner's next apply starts from nothing instead of failing
// on objects that already exist.
func (r *LearningRotationReconciler) resetTargets(ctx context.Context, learner client.Client, ns string, sel *selectedExercise) ([]*unstructured.Unstructured, []string, error) {
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

	releases := helmReleasesOf(sel.program)
	if len(releases) > 0 {
		facts, err := r.HelmFacts.Collect(ctx, ns)
		if err != nil {
			return nil, nil, err
		}
		all, _ := facts["releases"].(map[string]any)
		for _, name := range releases {
			rel, _ := all[name].(map[string]any)
			objs, _ := rel["manifestObjects"].([]any)
			for _, o := range objs {
				if m, ok := o.(map[string]any); ok {
					add(&unstructured.Unstructured{Object: m})
				}
			}
		}
	}

	stateSecret := &corev1.Secret{}
	err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: terraformStateSecret(sel.ex.Name)}, stateSecret)
	switch {
	case err == nil:
		// A state the learner broke by hand manages nothing we can name;
		// the state itself still goes.
		objs, _ := tf.StateObjects(stateSecret.Data["tfstate"])
		for _, o := range objs {
			if o.Namespace != "" && o.Namespace != ns {
				continue
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(o.GroupVersionKind)
			err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.Name}, u)
			switch {
			case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
				continue
			case err != nil:
				return nil, nil, err
			case u.GetLabels()[rotationsv1.LabelManagedBy] == rotationsv1.ManagedByValue:
				// Lab plumbing the learner imported: not theirs to reset.
				continue
			}
			add(u)
		}
	case !apierrors.IsNotFound(err):
		return nil, nil, err
	}
	state := &unstructured.Unstructured{}
	state.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Secret"})
	state.SetName(terraformStateSecret(sel.ex.Name))
	add(state)
	lock := &unstructured.Unstructured{}
	lock.SetGroupVersionKind(schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"})
	lock.SetName(terraformLockLease(sel.ex.Name))
	add(lock)
	return out, releases, nil
}

// helmReleasesOf names the Helm releases an exercise's checks look at, from
// its scope entries such as "helm.releases/hello".
func helmReleasesOf(p *grading.Program) []string {
	if p == nil {
		return nil
	}
	set := map[string]bool{}
	for _, sc := range p.Scope {
		if name, ok := strings.CutPrefix(sc, grading.VarHelm+".releases/"); ok && name != "" {
			set[name] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// deleteHelmRelease deletes a release's storage Secrets, as the learner.
// They are listed by the operator (it reads Secrets around the cache) and
// matched by Helm's labels and name.
func (r *LearningRotationReconciler) deleteHelmRelease(ctx context.Context, learner client.Client, ns, release string) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "SecretList"})
	if err := r.APIReader.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"owner": "helm", "name": release}); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		item := &list.Items[i]
		if !strings.HasPrefix(item.Name, helmReleaseSecretPrefix(release)) {
			continue
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: item.Name, Namespace: ns}}
		if err := learner.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// startersMissing: the exercise has starter objects that are not created
// yet (the first pass failed to, or a reset is recreating them).
func startersMissing(sel selectedExercise, r rotationsv1.ExerciseResult) bool {
	return sel.compileErr == nil && len(sel.ex.Spec.Starter.Objects) > 0 && r.StarterCreatedAt == nil
}
