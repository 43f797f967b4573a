package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// A rotation a program controls posts nothing through its own sink: the
// program posts its notifications, so none goes out twice.
func TestProgramRotationsUseTheProgramSink(t *testing.T) {
	sink := &rotationsv1.NotificationSink{URLSecretRef: rotationsv1.SecretKeyReference{Namespace: "ns", Name: "s", Key: "url"}}
	alone := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "alone"}, Spec: rotationsv1.LearningRotationSpec{Notification: sink}}
	if !ownSink(alone) {
		t.Error("a rotation of its own does not use its sink")
	}
	program := &rotationsv1.RotationProgram{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}}
	owned := alone.DeepCopy()
	owned.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(program, rotationsv1.GroupVersion.WithKind("RotationProgram"))}
	if ownSink(owned) {
		t.Error("a program's rotation posts through its own sink too: notifications would go out twice")
	}
	if ownSink(&rotationsv1.LearningRotation{}) {
		t.Error("a rotation without a sink posts")
	}
}
