package testutil

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/submission"
)

// UserClient returns a client that impersonates user (with groups), as RBAC sees them.
func (e Env) UserClient(t testing.TB, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	c, err := client.New(cfg, client.Options{Scheme: e.Admin.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// LearnerSA is a client acting as the lab's learner ServiceAccount, as the
// issued kubeconfig does.
func (e Env) LearnerSA(t testing.TB, rotation string) client.Client {
	t.Helper()
	ns := "lab-" + rotation
	return e.UserClient(t, "system:serviceaccount:"+ns+":learner", "system:serviceaccounts", "system:serviceaccounts:"+ns)
}

// Submit hands in files for an exercise through c, as `kubectl rotation
// submit` does: a new submission, or a resubmission over the last one.
func Submit(t testing.TB, c client.Client, ns, exercise string, files map[string]string) {
	t.Helper()
	ctx := context.Background()
	cm := submission.ConfigMap(ns, exercise, files, time.Now())
	existing := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), existing); err == nil {
		existing.Data, existing.BinaryData, existing.Annotations = cm.Data, cm.BinaryData, cm.Annotations
		if err := c.Update(ctx, existing); err != nil {
			t.Fatalf("resubmitting: %v", err)
		}
		return
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatalf("submitting: %v", err)
	}
}

// RequestConfigMap is a learner's request, as kubectl rotation writes it.
func RequestConfigMap(ns, name, kind string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{rotationsv1.LabelRequest: kind}},
		Data:       data,
	}
}
