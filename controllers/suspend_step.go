package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// workload is a learner's Deployment or StatefulSet, as far as suspending goes.
type workload struct {
	obj      client.Object
	kind     string
	replicas int32
}

// reconcileSuspend, while the rotation is suspended, scales the learner's
// Deployments and StatefulSets to zero and remembers each one's replicas in
// an annotation. It acts as the learner: the operator holds no write rights
// on workloads, and it never needs more than the learner has in their own
// lab. It runs before reconcileAccess turns the learner read-only, so that
// the learner cannot scale back up while suspended.
func (r *LearningRotationReconciler) reconcileSuspend(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	if s.stage != stageSuspended {
		return ctrl.Result{}, nil
	}
	all, err := r.listWorkloads(ctx, s.lr.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	var scaled, errs []string
	var learner client.Client
	for _, w := range all {
		_, remembered := w.obj.GetAnnotations()[rotationsv1.AnnotationSuspendedReplicas]
		if w.replicas == 0 && remembered {
			continue
		}
		patch := map[string]any{"spec": map[string]any{"replicas": 0}}
		if !remembered {
			// A workload already at zero is remembered too, so resume leaves it at zero.
			patch["metadata"] = map[string]any{"annotations": map[string]any{
				rotationsv1.AnnotationSuspendedReplicas: strconv.Itoa(int(w.replicas)),
			}}
		}
		if learner == nil {
			if learner, err = r.Learners.For(ctx, s.lr.Name); err != nil {
				return ctrl.Result{}, fmt.Errorf("getting learner credentials to suspend workloads: %w", err)
			}
		}
		if err := patchAs(ctx, learner, w.obj, patch); err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", w.kind, w.obj.GetName(), err))
			continue
		}
		if w.replicas > 0 {
			scaled = append(scaled, fmt.Sprintf("%s %s (%d)", w.kind, w.obj.GetName(), w.replicas))
		}
	}
	if len(errs) > 0 {
		err := errors.New("suspending: could not scale to zero: " + strings.Join(errs, "; "))
		s.found.suspend = &suspendFinding{err: err}
		return ctrl.Result{}, err
	}
	s.found.suspend = &suspendFinding{workloads: len(all), scaled: scaled}
	return ctrl.Result{}, nil
}

// reconcileResume, once the rotation is active again and the learner's
// read-write role is back (it runs after the lab step), restores the
// replicas remembered at suspension and removes the annotation.
func (r *LearningRotationReconciler) reconcileResume(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	cond := meta.FindStatusCondition(s.lr.Status.Conditions, rotationsv1.ConditionSuspended)
	if cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == rotationsv1.ReasonNotSuspended {
		return ctrl.Result{}, nil
	}
	if cond == nil {
		// A new rotation: nothing was ever suspended, so nothing to list.
		s.found.resume = &resumeFinding{never: true}
		return ctrl.Result{}, nil
	}
	all, err := r.listWorkloads(ctx, s.lr.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	var restored, errs []string
	var learner client.Client
	for _, w := range all {
		v, ok := w.obj.GetAnnotations()[rotationsv1.AnnotationSuspendedReplicas]
		if !ok {
			continue
		}
		patch := map[string]any{"metadata": map[string]any{"annotations": map[string]any{rotationsv1.AnnotationSuspendedReplicas: nil}}}
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
			patch["spec"] = map[string]any{"replicas": n}
			if n > 0 {
				restored = append(restored, fmt.Sprintf("%s %s (%d)", w.kind, w.obj.GetName(), n))
			}
		}
		if learner == nil {
			if learner, err = r.Learners.For(ctx, s.lr.Name); err != nil {
				return ctrl.Result{}, fmt.Errorf("getting learner credentials to resume workloads: %w", err)
			}
		}
		if err := patchAs(ctx, learner, w.obj, patch); err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", w.kind, w.obj.GetName(), err))
		}
	}
	if len(errs) > 0 {
		// RBAC may take a moment to see the learner's read-write binding again.
		return ctrl.Result{}, errors.New("resuming: could not restore replicas: " + strings.Join(errs, "; "))
	}
	if cond.Status == metav1.ConditionTrue {
		// Written with the condition's flip, so counted once.
		pauseExercisesInProgress(s.lr, r.Clock.Now().Sub(cond.LastTransitionTime.Time))
	}
	// The condition turns NotSuspended (status.go); notify.go says Resumed.
	s.found.resume = &resumeFinding{restored: restored}
	return ctrl.Result{}, nil
}

// pauseExercisesInProgress adds a suspension of d to the paused time of
// every exercise started and not yet passed: the clock the estimate is
// measured against stops while the rotation is suspended.
func pauseExercisesInProgress(lr *rotationsv1.LearningRotation, d time.Duration) {
	if d <= 0 {
		return
	}
	for i := range lr.Status.Exercises {
		e := &lr.Status.Exercises[i]
		if e.StartedAt != nil && e.FirstPassedAt == nil {
			e.PausedSeconds += int64(d.Round(time.Second) / time.Second)
		}
	}
}

// listWorkloads reads the lab's Deployments and StatefulSets around the
// cache (the cache holds them metadata-only), sorted for stable messages.
func (r *LearningRotationReconciler) listWorkloads(ctx context.Context, rotation string) ([]workload, error) {
	ns := client.InNamespace(lab.Namespace(rotation))
	deps := &appsv1.DeploymentList{}
	if err := r.APIReader.List(ctx, deps, ns); err != nil {
		return nil, err
	}
	sts := &appsv1.StatefulSetList{}
	if err := r.APIReader.List(ctx, sts, ns); err != nil {
		return nil, err
	}
	var out []workload
	for i := range deps.Items {
		d := &deps.Items[i]
		out = append(out, workload{obj: d, kind: "Deployment", replicas: replicasOf(d.Spec.Replicas)})
	}
	for i := range sts.Items {
		st := &sts.Items[i]
		out = append(out, workload{obj: st, kind: "StatefulSet", replicas: replicasOf(st.Spec.Replicas)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].kind+"/"+out[i].obj.GetName() < out[j].kind+"/"+out[j].obj.GetName()
	})
	return out, nil
}

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// patchAs merge-patches obj through c (the learner's client).
func patchAs(ctx context.Context, c client.Client, obj client.Object, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	target := obj.DeepCopyObject().(client.Object)
	return c.Patch(ctx, target, client.RawPatch(types.MergePatchType, raw))
}
