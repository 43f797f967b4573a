package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
)

// reconcileAccess sets status.access for the stage and makes the learner's
// RoleBinding refer to the matching ClusterRole. A roleRef cannot change, so
// a binding to the other role is deleted here and the lab step recreates it
// (lab.Objects reads status.access). It runs after reconcileSuspend: the
// operator scales the learner's workloads down as the learner, which needs
// the read-write role still in place.
func (r *LearningRotationReconciler) reconcileAccess(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	want := desiredAccess(s.stage)
	lr.Status.Access = want
	role := lab.LearnerRole(want)

	rb := &rbacv1.RoleBinding{}
	key := client.ObjectKey{Namespace: lab.Namespace(lr.Name), Name: lab.LearnerBinding}
	err := r.Client.Get(ctx, key, rb)
	switch {
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, err
	case rb.RoleRef.Name == role:
		return ctrl.Result{}, nil
	}
	// The cache may lag behind a swap made by the previous pass: confirm.
	if err := r.APIReader.Get(ctx, key, rb); apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if rb.RoleRef.Name == role {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Delete(ctx, rb, client.Preconditions{UID: &rb.UID}); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("replacing the learner's RoleBinding: %w", err)
	}
	s.replaced["RoleBinding "+lab.LearnerBinding] = true
	s.events.add(corev1.EventTypeNormal, "AccessChanged", "SetAccess",
		fmt.Sprintf("learner access is now %s: RoleBinding %s/%s binds ClusterRole %s", want, key.Namespace, key.Name, role))
	return ctrl.Result{}, nil
}
