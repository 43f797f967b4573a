package plugin

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// requestTime formats a request's time. Nanoseconds keep two requests in the
// same second apart; it is still RFC 3339 (time.Parse with time.RFC3339 reads it).
func requestTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// applyConfigMap writes a ConfigMap with server-side apply under the
// plugin's field manager: created if missing, replaced (keys this manager
// wrote before and no longer sends are removed) if present.
func (o *Options) applyConfigMap(ctx context.Context, cm *corev1.ConfigMap) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ac := corev1ac.ConfigMap(cm.Name, cm.Namespace).
		WithLabels(cm.Labels).
		WithAnnotations(cm.Annotations).
		WithData(cm.Data)
	return c.Apply(ctx, ac, client.FieldOwner(FieldManager), client.ForceOwnership)
}

// requestConfigMap is a learner's request to the operator (LabelRequest).
func requestConfigMap(namespace, name, kind string, data map[string]string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{Data: data}
	cm.Name, cm.Namespace = name, namespace
	cm.Labels = map[string]string{rotationsv1.LabelRequest: kind}
	return cm
}
