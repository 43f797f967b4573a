package lab

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func rotation() *rotationsv1.LearningRotation {
	return &rotationsv1.LearningRotation{
		ObjectMeta: metav1.ObjectMeta{Name: "alice", UID: "uid-1"},
		Spec: rotationsv1.LearningRotationSpec{
			Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.GroupKind, Name: "team-a"}},
			Size:    rotationsv1.SizeMedium,
		},
	}
}

func TestObjectsAreTypedLabelledAndOwned(t *testing.T) {
	objs := Objects(rotation())
	if objs[0].GetObjectKind().GroupVersionKind().Kind != "Namespace" {
		t.Fatalf("the namespace must come first, got %v", objs[0].GetObjectKind().GroupVersionKind())
	}
	seen := map[string]bool{}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		key := gvk.Kind + "/" + o.GetName()
		if gvk.Kind == "" || seen[key] {
			t.Errorf("object %s: missing TypeMeta or duplicate", key)
		}
		seen[key] = true
		if o.GetLabels()[rotationsv1.LabelManagedBy] != rotationsv1.ManagedByValue || o.GetLabels()[rotationsv1.LabelRotation] != "alice" {
			t.Errorf("%s labels = %v", key, o.GetLabels())
		}
		if ref := metav1.GetControllerOf(o); ref == nil || ref.UID != "uid-1" {
			t.Errorf("%s has no controller reference to the rotation", key)
		}
		if gvk.Kind != "Namespace" && gvk.Kind != "ClusterRole" && gvk.Kind != "ClusterRoleBinding" && o.GetNamespace() != "lab-alice" {
			t.Errorf("%s is in namespace %q", key, o.GetNamespace())
		}
	}
	ns := objs[0].(*corev1.Namespace)
	if ns.Annotations[AnnotationLearnerGroup] != "team-a" || ns.Annotations[AnnotationLearnerUser] != "" {
		t.Errorf("a group learner must be recorded as a group: %v", ns.Annotations)
	}
}

func TestProfiles(t *testing.T) {
	pods := func(s rotationsv1.SizeProfile) resource.Quantity { return ProfileFor(s).Quota[corev1.ResourcePods] }
	small, large, unset := pods(rotationsv1.SizeSmall), pods(rotationsv1.SizeLarge), pods("")
	if unset.Cmp(small) != 0 {
		t.Error("an unset size must be small")
	}
	if large.Cmp(small) <= 0 {
		t.Error("large must allow more pods than small")
	}
	for _, size := range []rotationsv1.SizeProfile{rotationsv1.SizeSmall, rotationsv1.SizeMedium, rotationsv1.SizeLarge} {
		lb := ProfileFor(size).Quota[corev1.ResourceServicesLoadBalancers]
		if lb.Cmp(resource.MustParse("0")) != 0 {
			t.Errorf("%s allows LoadBalancers", size)
		}
	}
}

func TestKubeconfigDefaultsToTheLab(t *testing.T) {
	b, err := Kubeconfig("https://127.0.0.1:6443", []byte("ca"), "alice", "tok")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || ctx.Namespace != "lab-alice" || cfg.AuthInfos[ctx.AuthInfo].Token != "tok" || cfg.Clusters[ctx.Cluster].Server != "https://127.0.0.1:6443" {
		t.Errorf("kubeconfig = %+v", cfg)
	}
}
