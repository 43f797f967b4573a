package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	// On a lab provisioned before, what was written had been changed or
	// deleted by someone: notify.go reports it repaired.
	s.found.lab = &labFinding{namespace: lr.Status.Namespace, objects: len(objs), repaired: written}
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
			// Finalizers nobody removes keep the namespace forever:
			// notify.go tells the mentor which, once per change.
			s.found.lab = &labFinding{err: errors.New(msg), reason: ReasonNamespaceTerminating, stuck: stuck}
			s.halt = true
			return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
		}
		err := fmt.Errorf("namespace %s already exists and does not belong to this rotation; delete it or rename the rotation", ns.Name)
		s.found.lab = &labFinding{err: err, reason: "NamespaceConflict"}
		// Sent on every pass that meets it: not a change of status.
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
	s.found.lab = &labFinding{err: err, reason: rotationsv1.ReasonProvisioningFailed}
}

func describe(obj client.Object) string {
	return obj.GetObjectKind().GroupVersionKind().Kind + " " + obj.GetName()
}

// ReasonNamespaceTerminating says the lab namespace of an earlier rotation of
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
