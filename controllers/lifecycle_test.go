package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// reconcileCount reads controller-runtime's own reconcile counter.
func reconcileCount(t testing.TB) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "learningrotation" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// poke makes the operator reconcile a rotation without changing its spec.
func poke(t testing.TB, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test/poke":"%d"}}}`, time.Now().UnixNano())
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := admin.Patch(context.Background(), lr, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func TestSecondPassMakesNoWrites(t *testing.T) {
	// With the built-in kubernetes track: starters, instructions and grading included.
	createRotation(t, testutil.Rotation("idle").Mentors("m@example.com").Tracks(rotationsv1.TrackKubernetes).Obj())
	lr := waitReady(t, "idle")
	if lr.Status.Total < 3 {
		t.Fatalf("the kubernetes track selected %d exercises, want the 3 built-ins", lr.Status.Total)
	}
	time.Sleep(3 * time.Second) // let the starters' Deployments settle and their follow-up passes run

	writes.Reset()
	before := reconcileCount(t)
	for range 3 {
		poke(t, "idle")
	}
	testutil.Eventually(t, 10*time.Second, func(context.Context) error {
		if reconcileCount(t) < before+1 {
			return errors.New("the operator has not reconciled the poked rotation")
		}
		return nil
	})
	time.Sleep(time.Second)
	// Only this rotation's writes count: the operator may still be
	// aggregating an event of an earlier test's rotation (seen: a PATCH of
	// an event of "prune"), which says nothing about this pass.
	var w []string
	for _, s := range writes.Writes() {
		if strings.Contains(s, "/idle") || strings.Contains(s, "lab-idle") {
			w = append(w, s)
		}
	}
	if len(w) != 0 {
		t.Fatalf("reconciling an unchanged rotation wrote %d times: %v", len(w), w)
	}
	t.Logf("%v reconciles, 0 writes", reconcileCount(t)-before)
}

func TestDeletedOrEditedLabObjectsAreRestored(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("heal").Obj())
	waitReady(t, "heal")
	ns := "lab-heal"

	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lab-quota"}}
	if err := admin.Delete(ctx, quota); err != nil {
		t.Fatal(err)
	}
	np := &networkingv1.NetworkPolicy{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "deny-cloud-metadata-egress"}, np); err != nil {
		t.Fatal(err)
	}
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}} // allow all egress
	if err := admin.Update(ctx, np); err != nil {
		t.Fatal(err)
	}

	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(quota), quota); err != nil {
			return err
		}
		if err := admin.Get(ctx, client.ObjectKeyFromObject(np), np); err != nil {
			return err
		}
		if len(np.Spec.Egress) != 1 || len(np.Spec.Egress[0].To) != 2 {
			return fmt.Errorf("egress not restored: %+v", np.Spec.Egress)
		}
		return nil
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "heal", corev1.EventTypeNormal, "Repaired")
	})
}

func TestDeletingTheRotationRemovesTheLab(t *testing.T) {
	ctx := context.Background()
	lr := createRotation(t, testutil.Rotation("gone").Obj())
	waitReady(t, "gone")
	if err := admin.Create(ctx, restrictedDeployment("lab-gone", "work")); err != nil {
		t.Fatal(err)
	}
	if err := admin.Delete(ctx, lr); err != nil {
		t.Fatal(err)
	}
	// The namespace controller and garbage collector of kube-controller-manager do the work.
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		if err := gone(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lab-gone"}}); err != nil {
			return err
		}
		crs := &metav1.PartialObjectMetadataList{}
		crs.SetGroupVersionKind(rbacGVK("ClusterRoleList"))
		if err := admin.List(ctx, crs, client.MatchingLabels{rotationsv1.LabelRotation: "gone"}); err != nil {
			return err
		}
		if len(crs.Items) > 0 {
			return fmt.Errorf("ClusterRole %s still there", crs.Items[0].Name)
		}
		return nil
	})
}

func TestNamespaceConflictIsReported(t *testing.T) {
	ctx := context.Background()
	taken := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lab-taken"}}
	if err := admin.Create(ctx, taken); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(ctx, taken) })
	createRotation(t, testutil.Rotation("taken").Obj())

	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: "taken"}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionLabProvisioned)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "NamespaceConflict" {
			return fmt.Errorf("LabProvisioned = %+v", c)
		}
		return nil
	})
	if lr.Status.Phase != rotationsv1.PhaseFailed || meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
		t.Errorf("phase %s, Ready %v; want Failed and not Ready", lr.Status.Phase, lr.Status.Conditions)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "taken", corev1.EventTypeWarning, "NamespaceConflict")
	})
	// The foreign namespace was not taken over.
	if err := admin.Get(ctx, client.ObjectKeyFromObject(taken), taken); err != nil {
		t.Fatal(err)
	}
	if len(taken.OwnerReferences) != 0 || taken.Labels[rotationsv1.LabelManagedBy] != "" {
		t.Errorf("foreign namespace was modified: %+v", taken.ObjectMeta)
	}
}

func rbacGVK(kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: kind}
}
