package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// DesiredObjects returns every object the operator creates for a rotation's
// lab, given the exercise catalog, in the order it creates them: the lab
// objects, one instructions ConfigMap per selected exercise, then the
// starter objects. The kubeconfig Secret is left out: it needs a token (see
// KubeconfigSecret). The scale benchmark creates exactly these objects with
// a plain client to measure the ceiling the operator is compared with.
func DesiredObjects(lr *rotationsv1.LearningRotation, catalog []rotationsv1.Exercise) ([]client.Object, error) {
	objs := lab.Objects(lr)
	selected, _ := selectExercises(lr.Spec.Exercises, catalog)
	for _, ex := range selected {
		objs = append(objs, instructionsConfigMap(lr, ex))
	}
	for _, ex := range selected {
		for _, raw := range ex.Spec.Starter.Objects {
			u, err := starterObject(lr, ex, raw)
			if err != nil {
				return nil, err
			}
			objs = append(objs, u)
		}
	}
	return objs, nil
}

// starterObject is a starter object of an exercise as created in the lab.
func starterObject(lr *rotationsv1.LearningRotation, ex *rotationsv1.Exercise, raw rotationsv1.StarterObject) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw.Raw); err != nil {
		return nil, err
	}
	u.SetNamespace(lab.Namespace(lr.Name))
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[rotationsv1.LabelExercise] = ex.Name
	labels[rotationsv1.LabelRotation] = lr.Name
	u.SetLabels(labels)
	return u, nil
}

// KubeconfigSecret is the learner's kubeconfig Secret holding a token that
// expires at expires and is renewed at renewAt.
func KubeconfigSecret(lr *rotationsv1.LearningRotation, kubeconfig []byte, expires, renewAt time.Time) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: lab.KubeconfigSecret, Namespace: lab.Namespace(lr.Name), Labels: lab.Labels(lr.Name),
			Annotations: map[string]string{
				lab.AnnotationTokenExpiresAt: expires.UTC().Format(time.RFC3339),
				lab.AnnotationTokenRenewAt:   renewAt.UTC().Format(time.RFC3339),
			},
			OwnerReferences: lab.OwnerReferences(lr),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{lab.KubeconfigKey: kubeconfig},
	}
}
