package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestParseRequest(t *testing.T) {
	cm := func(name, kind string, data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{rotationsv1.LabelRequest: kind}}, Data: data}
	}
	at := "2026-05-04T09:00:00Z"
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		ok   bool
	}{
		{"help", cm("rotation-help", "help", map[string]string{"requestedAt": at, "message": "hi"}), true},
		{"grade", cm("rotation-grade", "grade", map[string]string{"requestedAt": at}), true},
		{"reset", cm("rotation-reset-web", "reset", map[string]string{"requestedAt": at, "exercise": "web"}), true},
		{"reset naming another exercise", cm("rotation-reset-web", "reset", map[string]string{"requestedAt": at, "exercise": "db"}), false},
		{"reset without exercise", cm("rotation-reset-", "reset", map[string]string{"requestedAt": at}), false},
		{"help under another name", cm("help-me", "help", map[string]string{"requestedAt": at}), false},
		{"no requestedAt", cm("rotation-help", "help", nil), false},
		{"garbage requestedAt", cm("rotation-grade", "grade", map[string]string{"requestedAt": "\x00yesterday"}), false},
		{"unknown kind", cm("rotation-fly", "fly", map[string]string{"requestedAt": at}), false},
	}
	for _, tt := range tests {
		if _, err := parseRequest(tt.cm); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%t", tt.name, err, tt.ok)
		}
	}
}
