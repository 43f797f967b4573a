package controllers

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// reconcileKubeconfig keeps the learner's kubeconfig Secret holding a valid
// token. Tokens come from the TokenRequest API with a bounded lifetime and
// are renewed once two thirds of it have passed; nothing is written between.
func (r *LearningRotationReconciler) reconcileKubeconfig(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	if !lab.IssuesKubeconfig(lr) {
		return ctrl.Result{}, nil
	}
	ns := lab.Namespace(lr.Name)
	ref := rotationsv1.SecretKeyReference{Namespace: ns, Name: lab.KubeconfigSecret, Key: lab.KubeconfigKey}
	now := r.Clock.Now()

	secret := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.KubeconfigSecret}, secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	if err == nil && len(secret.Data[lab.KubeconfigKey]) > 0 {
		expires, perr1 := time.Parse(time.RFC3339, secret.Annotations[lab.AnnotationTokenExpiresAt])
		renewAt, perr2 := time.Parse(time.RFC3339, secret.Annotations[lab.AnnotationTokenRenewAt])
		if perr1 == nil && perr2 == nil {
			if now.Before(renewAt) {
				if lr.Status.Kubeconfig == nil {
					// Issued by a pass whose status write failed, which
					// dropped its events: announce it now.
					s.events.add(corev1.EventTypeNormal, reasonKubeconfigIssued, "IssueKubeconfig",
						fmt.Sprintf("learner kubeconfig written to Secret %s/%s", ns, lab.KubeconfigSecret))
				}
				lr.Status.Kubeconfig = &rotationsv1.KubeconfigStatus{SecretRef: ref, ExpiresAt: &metav1.Time{Time: expires}}
				return ctrl.Result{RequeueAfter: renewAt.Sub(now)}, nil
			}
		}
	}

	renewing := err == nil
	token, expires, err := r.requestToken(ctx, ns)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("requesting a token for the learner: %w", err)
	}
	s.learnerToken = token
	renewAt := renewalTime(now, expires)
	kubeconfig, err := lab.Kubeconfig(r.LabServer, r.LabCAData, lr.Name, token)
	if err != nil {
		return ctrl.Result{}, err
	}
	desired := KubeconfigSecret(lr, kubeconfig, expires, renewAt)
	if _, err := r.applier.Apply(ctx, desired); err != nil {
		return ctrl.Result{}, err
	}
	lr.Status.Kubeconfig = &rotationsv1.KubeconfigStatus{SecretRef: ref, ExpiresAt: &metav1.Time{Time: expires}}
	if renewing {
		s.events.add(corev1.EventTypeNormal, "TokenRenewed", "IssueKubeconfig",
			fmt.Sprintf("learner token renewed in Secret %s/%s, valid until %s", ns, lab.KubeconfigSecret, expires.UTC().Format(time.RFC3339)))
	} else {
		s.events.add(corev1.EventTypeNormal, reasonKubeconfigIssued, "IssueKubeconfig",
			fmt.Sprintf("learner kubeconfig written to Secret %s/%s", ns, lab.KubeconfigSecret))
	}
	return ctrl.Result{RequeueAfter: renewAt.Sub(now)}, nil
}

// requestToken asks the TokenRequest API for a learner token.
func (r *LearningRotationReconciler) requestToken(ctx context.Context, namespace string) (string, time.Time, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: lab.LearnerServiceAccount, Namespace: namespace}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(r.TokenTTL / time.Second)),
	}}
	if err := r.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", time.Time{}, err
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}

// renewalTime is when a token issued at issued and expiring at expires should
// be replaced: after two thirds of the lifetime the apiserver granted (which
// may be shorter than asked), leaving a third as a margin for outages.
func renewalTime(issued, expires time.Time) time.Time {
	return issued.Add(expires.Sub(issued) * 2 / 3).Truncate(time.Second)
}
