package faults_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// A ConfigMap with a finalizer nobody removes keeps the lab namespace
// Terminating after its rotation is deleted. The rotation itself goes at
// once (it has no finalizer; garbage collection removes the lab); the
// namespace reports the finalizer. A rotation of the same name created
// meanwhile waits, and says which finalizer it waits for, in its
// LabProvisioned condition and a Warning event. Once the finalizer is
// removed the namespace goes and the new rotation's lab is provisioned.
func TestFaultNamespaceStuckTerminating(t *testing.T) {
	const name, finalizer = "stuck", "faults.handson.dev/hold"
	ctx := context.Background()
	ns := lab.Namespace(name)
	startOperator(t, "stuck", operator.Options{})
	createRotation(t, rotation(name))
	waitReady(t, name, 90*time.Second)

	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: ns, Finalizers: []string{finalizer}}}
	if err := admin.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	release := func() error {
		return client.IgnoreNotFound(admin.Patch(ctx, held, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))))
	}
	t.Cleanup(func() { _ = release() })

	if err := admin.Delete(ctx, &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKey{Name: name}, &rotationsv1.LearningRotation{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("rotation still there (err=%w)", err)
	})
	// kube-controller-manager's namespace controller reports the finalizer.
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue && strings.Contains(c.Message, finalizer) {
				return nil
			}
		}
		return fmt.Errorf("namespace %s: phase %s, conditions %+v", ns, n.Status.Phase, n.Status.Conditions)
	})

	// A new rotation of the same name waits, naming the finalizer.
	createRotation(t, rotation(name))
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionLabProvisioned)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "NamespaceTerminating" || !strings.Contains(c.Message, finalizer) {
			return fmt.Errorf("LabProvisioned = %+v, want False/NamespaceTerminating naming %s", c, finalizer)
		}
		if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
			return errors.New("Ready while the old namespace terminates")
		}
		t.Logf("while stuck: %s", c.Message)
		return nil
	})
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		events := &eventsv1.EventList{}
		if err := admin.List(ctx, events); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == name && e.Type == corev1.EventTypeWarning && e.Reason == "NamespaceTerminating" && strings.Contains(e.Note, finalizer) {
				return nil
			}
		}
		return errors.New("no Warning event NamespaceTerminating naming the finalizer")
	})

	released := time.Now()
	if err := release(); err != nil {
		t.Fatal(err)
	}
	lr, _ := waitReady(t, name, 120*time.Second)
	converged(t, "namespace-stuck-terminating", time.Since(released))
	inventory(t, lr)
}
