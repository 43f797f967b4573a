package lab

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// RegistrySecret is the lab's image registry pull/push Secret.
const RegistrySecret = "lab-registry"

// AnnotationRepositoryPrefix on the registry Secret is where the lab may
// push: <host>/<prefix>/lab-<rotation>.
const AnnotationRepositoryPrefix = "rotations.handson.dev/repository-prefix"

// RegistrySecretFor is the lab's registry credentials as a
// kubernetes.io/dockerconfigjson Secret: docker, buildah and crane read it
// as a config file, and Pods name it in imagePullSecrets.
func RegistrySecretFor(lr *rotationsv1.LearningRotation, repositoryPrefix string, dockerConfigJSON []byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: RegistrySecret, Namespace: Namespace(lr.Name), Labels: Labels(lr.Name),
			Annotations:     map[string]string{AnnotationRepositoryPrefix: repositoryPrefix},
			OwnerReferences: OwnerReferences(lr),
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: dockerConfigJSON},
	}
}
