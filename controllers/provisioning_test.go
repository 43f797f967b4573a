package controllers_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

func TestProvisioningCreatesExactlyTheLab(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("prov").Learner("pat@example.com").Mentors("mia@example.com").Obj())
	lr := waitReady(t, "prov")
	ns := "lab-prov"

	if lr.Status.Namespace != ns || lr.Status.Phase != rotationsv1.PhaseActive {
		t.Errorf("status namespace/phase = %q/%q, want %q/Active", lr.Status.Namespace, lr.Status.Phase, ns)
	}
	if k := lr.Status.Kubeconfig; k == nil || k.SecretRef != (rotationsv1.SecretKeyReference{Namespace: ns, Name: "learner-kubeconfig", Key: "kubeconfig"}) {
		t.Errorf("status.kubeconfig = %+v", k)
	}
	if lr.Status.Deadline == nil || !lr.Status.Deadline.Time.Equal(lr.CreationTimestamp.Add(336*time.Hour)) {
		t.Errorf("deadline = %v, want creation + 336h", lr.Status.Deadline)
	}

	owned := func(t *testing.T, obj client.Object) {
		t.Helper()
		if obj.GetLabels()[rotationsv1.LabelRotation] != "prov" || obj.GetLabels()[rotationsv1.LabelManagedBy] != "rotation-operator" {
			t.Errorf("%T %s labels = %v", obj, obj.GetName(), obj.GetLabels())
		}
		ref := metav1.GetControllerOf(obj)
		if ref == nil || ref.UID != lr.UID || ref.Kind != "LearningRotation" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("%T %s controller reference = %+v, want the rotation", obj, obj.GetName(), ref)
		}
	}

	namespace := &corev1.Namespace{}
	if err := admin.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
		t.Fatal(err)
	}
	owned(t, namespace)
	for k, v := range map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	} {
		if namespace.Labels[k] != v {
			t.Errorf("namespace label %s = %q, want %q", k, namespace.Labels[k], v)
		}
	}
	if namespace.Annotations[lab.AnnotationLearnerUser] != "pat@example.com" {
		t.Errorf("namespace learner annotation = %v", namespace.Annotations)
	}

	// Exactly these objects carry the operator's label in the lab.
	managed := client.MatchingLabels{rotationsv1.LabelManagedBy: "rotation-operator"}
	expect := []struct {
		list  client.ObjectList
		names []string
	}{
		{&corev1.ServiceAccountList{}, []string{"learner"}},
		{&corev1.SecretList{}, []string{"lab-registry", "learner-kubeconfig"}},
		{&corev1.ResourceQuotaList{}, []string{"lab-quota"}},
		{&corev1.LimitRangeList{}, []string{"lab-limits"}},
		{&networkingv1.NetworkPolicyList{}, []string{"deny-cloud-metadata-egress", "deny-ingress-from-other-namespaces"}},
		{&rbacv1.RoleList{}, []string{"mentor-kubeconfig"}},
		{&rbacv1.RoleBindingList{}, []string{"learner", "mentor", "mentor-kubeconfig"}},
	}
	for _, e := range expect {
		if err := admin.List(ctx, e.list, client.InNamespace(ns), managed); err != nil {
			t.Fatal(err)
		}
		var names []string
		items, _ := metaItems(e.list)
		for _, o := range items {
			names = append(names, o.GetName())
			owned(t, o)
		}
		slices.Sort(names)
		if !slices.Equal(names, e.names) {
			t.Errorf("%T in %s = %v, want %v", e.list, ns, names, e.names)
		}
	}
	for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}} {
		if err := admin.List(ctx, list, client.MatchingLabels{rotationsv1.LabelRotation: "prov"}); err != nil {
			t.Fatal(err)
		}
		items, _ := metaItems(list)
		if len(items) != 2 || items[0].GetName() != "rotation-operator:mentor-requests:prov" || items[1].GetName() != "rotation-operator:reader:prov" {
			t.Errorf("%T for prov = %v", list, items)
		}
		for _, o := range items {
			owned(t, o)
		}
	}

	// RBAC: the learner (user and ServiceAccount) gets the learner role, mentors the mentor role.
	rb := &rbacv1.RoleBinding{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner"}, rb); err != nil {
		t.Fatal(err)
	}
	wantSubjects := []rbacv1.Subject{
		{APIGroup: rbacv1.GroupName, Kind: "User", Name: "pat@example.com"},
		{Kind: "ServiceAccount", Name: "learner", Namespace: ns},
	}
	if rb.RoleRef.Name != "rotation-operator:learner" || rb.RoleRef.Kind != "ClusterRole" || !slices.Equal(rb.Subjects, wantSubjects) {
		t.Errorf("learner binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mentor"}, rb); err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Name != "rotation-operator:mentor" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "mia@example.com" {
		t.Errorf("mentor binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}

	// Quota and limits come from the small profile.
	quota := &corev1.ResourceQuota{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "lab-quota"}, quota); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[corev1.ResourceName]string{"requests.cpu": "2", "limits.memory": "8Gi", "pods": "30", "secrets": "100", "services.loadbalancers": "0"} {
		if got := quota.Spec.Hard[name]; got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("quota %s = %s, want %s", name, got.String(), want)
		}
	}
	np := &networkingv1.NetworkPolicy{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "deny-cloud-metadata-egress"}, np); err != nil {
		t.Fatal(err)
	}
	if got := np.Spec.Egress[0].To[0].IPBlock.Except; !slices.Equal(got, []string{"169.254.169.254/32"}) {
		t.Errorf("metadata egress except = %v", got)
	}

	// A Normal event announces the lab.
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "prov", corev1.EventTypeNormal, rotationsv1.ReasonProvisioned)
	})
}

// metaItems returns the items of a typed list.
func metaItems(list client.ObjectList) ([]client.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(client.Object))
	}
	return out, nil
}

// findEvent looks for an event about a rotation with the given type and reason.
func findEvent(ctx context.Context, rotation, eventType, reason string) error {
	events := &eventsv1.EventList{}
	if err := admin.List(ctx, events); err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == "LearningRotation" && e.Regarding.Name == rotation && e.Type == eventType && e.Reason == reason {
			return nil
		}
	}
	return errNoEvent{rotation, eventType, reason}
}

type errNoEvent struct{ rotation, eventType, reason string }

func (e errNoEvent) Error() string {
	return "no " + e.eventType + " event " + e.reason + " for rotation " + e.rotation
}
