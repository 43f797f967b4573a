package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// reconcileLab applies every lab object, writing only what differs.
func (r *LearningRotationReconciler) reconcileLab(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	lr.Status.Namespace = lab.Namespace(lr.Name)
	wasProvisioned := meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionLabProvisioned)

	if res, err := r.claimNamespace(ctx, s); err != nil || res.RequeueAfter > 0 {
		return res, err
	}

	objs := lab.Objects(lr)
	if r.Registry != nil {
		ns := lab.Namespace(lr.Name)
		objs = append(objs, lab.RegistrySecretFor(lr, r.Registry.Host+"/"+r.Registry.LabPrefix(ns), r.Registry.LabDockerConfigJSON(ns)))
	}
	var written []string
	for _, obj := range objs {
		wrote, err := r.applier.Apply(ctx, obj)
		if err != nil {
			r.provisioningFailed(s, err)
			return ctrl.Result{}, err
		}
		if wrote && !s.replaced[describe(obj)] {
			written = append(written, describe(obj))
		}
	}
	if err := r.pruneKubeconfigObjects(ctx, s, &written); err != nil {
		r.provisioningFailed(s, err)
		return ctrl.Result{}, err
	}

	r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionTrue, rotationsv1.ReasonProvisioned,
		fmt.Sprintf("%d objects in place in namespace %s", len(objs), lr.Status.Namespace))
	switch {
	case !wasProvisioned:
		s.events.add(corev1.EventTypeNormal, rotationsv1.ReasonProvisioned, "Provision",
			fmt.Sprintf("lab namespace %s provisioned with %d objects", lr.Status.Namespace, len(objs)))
	case len(written) > 0:
		s.events.add(corev1.EventTypeNormal, "Repaired", "Provision",
			"restored lab objects that were changed or deleted: "+strings.Join(written, ", "))
	}
	return ctrl.Result{}, nil
}

// claimNamespace refuses to take over a namespace this rotation does not own,
// and waits for a previous rotation's lab of the same name to finish terminating.
func (r *LearningRotationReconciler) claimNamespace(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	ns := &corev1.Namespace{}
	key := client.ObjectKey{Name: lab.Namespace(s.lr.Name)}
	err := r.Client.Get(ctx, key, ns)
	if apierrors.IsNotFound(err) {
		// The cache only holds labelled namespaces; look for an unlabelled one.
		err = r.APIReader.Get(ctx, key, ns)
	}
	switch {
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, err
	}
	if owner := metav1.GetControllerOf(ns); owner == nil || owner.UID != s.lr.UID {
		if !ns.DeletionTimestamp.IsZero() {
			msg := fmt.Sprintf("waiting for namespace %s, left by an earlier rotation, to finish terminating", ns.Name)
			blockers, stuck := terminationBlockers(ns)
			if blockers != "" {
				msg += ": " + blockers
			}
			prev := meta.FindStatusCondition(s.lr.Status.Conditions, rotationsv1.ConditionLabProvisioned)
			r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, ReasonNamespaceTerminating, msg)
			// Finalizers nobody removes keep the namespace forever: tell
			// the mentor which, once per change.
			if stuck && (prev == nil || prev.Message != msg) {
				s.events.add(corev1.EventTypeWarning, ReasonNamespaceTerminating, "Provision", msg)
			}
			s.halt = true
			return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
		}
		err := fmt.Errorf("namespace %s already exists and does not belong to this rotation; delete it or rename the rotation", ns.Name)
		r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, "NamespaceConflict", err.Error())
		s.events.add(corev1.EventTypeWarning, "NamespaceConflict", "Provision", err.Error())
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	return ctrl.Result{}, nil
}

// pruneKubeconfigObjects removes the learner kubeconfig when the rotation
// stops asking for one.
func (r *LearningRotationReconciler) pruneKubeconfigObjects(ctx context.Context, s *rotationScope, written *[]string) error {
	if lab.IssuesKubeconfig(s.lr) {
		return nil
	}
	ns := lab.Namespace(s.lr.Name)
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: lab.KubeconfigSecret, Namespace: ns}},
	} {
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return err
		}
		*written = append(*written, "deleted "+obj.GetName())
	}
	s.lr.Status.Kubeconfig = nil
	return nil
}

func (r *LearningRotationReconciler) provisioningFailed(s *rotationScope, err error) {
	wasFailing := meta.IsStatusConditionFalse(s.lr.Status.Conditions, rotationsv1.ConditionLabProvisioned)
	r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonProvisioningFailed, err.Error())
	if !wasFailing {
		s.events.add(corev1.EventTypeWarning, rotationsv1.ReasonProvisioningFailed, "Provision", err.Error())
	}
}

func describe(obj client.Object) string {
	return obj.GetObjectKind().GroupVersionKind().Kind + " " + obj.GetName()
}

// ReasonNamespaceTerminating: the lab namespace of an earlier rotation of
// the same name is still being deleted.
const ReasonNamespaceTerminating = "NamespaceTerminating"

// terminationBlockers says what keeps a terminating namespace, from the
// conditions the namespace controller sets, and whether finalizers remain
// (which only whoever set them can lift).
func terminationBlockers(ns *corev1.Namespace) (string, bool) {
	var why []string
	stuck := false
	for _, c := range ns.Status.Conditions {
		if c.Status != corev1.ConditionTrue || c.Message == "" {
			continue
		}
		switch c.Type {
		case corev1.NamespaceFinalizersRemaining:
			stuck = true
			why = append(why, c.Message)
		case corev1.NamespaceContentRemaining, corev1.NamespaceDeletionContentFailure,
			corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionGVParsingFailure:
			why = append(why, c.Message)
		}
	}
	return strings.Join(why, "; "), stuck
}
