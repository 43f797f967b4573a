package faults_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// A learner token about to expire (the operator's clock stepped past two
// thirds of its lifetime) is replaced by a fresh one that authenticates;
// once the rotation is deleted and its namespace gone, both the old and
// the new token are rejected with 401.
func TestFaultTokenRefreshAndRevocation(t *testing.T) {
	const name = "token"
	clock := clocktesting.NewFakeClock(time.Now())
	startOperator(t, "token", operator.Options{Clock: clock, TokenTTL: time.Hour})
	createRotation(t, rotation(name))
	waitReady(t, name, 90*time.Second)

	key := client.ObjectKey{Namespace: lab.Namespace(name), Name: lab.KubeconfigSecret}
	first := &corev1.Secret{}
	if err := admin.Get(context.Background(), key, first); err != nil {
		t.Fatal(err)
	}
	expires, err := time.Parse(time.RFC3339, first.Annotations[lab.AnnotationTokenExpiresAt])
	if err != nil {
		t.Fatal(err)
	}
	renewAt, err := time.Parse(time.RFC3339, first.Annotations[lab.AnnotationTokenRenewAt])
	if err != nil {
		t.Fatal(err)
	}
	if issued := clock.Now(); renewAt.Sub(issued) < 35*time.Minute || renewAt.After(expires) {
		t.Fatalf("token issued about %s renews at %s, expires %s: want renewal after two thirds of the hour", issued, renewAt, expires)
	}
	oldToken := learnerClient(t, first.Data[lab.KubeconfigKey])
	if err := whoAmI(oldToken); err != nil {
		t.Fatalf("the first token does not authenticate: %v", err)
	}

	// Just past two thirds of the lifetime: the token has a third left.
	clock.SetTime(renewAt.Add(time.Second))
	stepped := time.Now()
	poke(t, name)
	renewed := &corev1.Secret{}
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, key, renewed); err != nil {
			return err
		}
		if string(renewed.Data[lab.KubeconfigKey]) == string(first.Data[lab.KubeconfigKey]) {
			return errors.New("token not renewed yet")
		}
		return nil
	})
	converged(t, "token-near-expiry-renewed", time.Since(stepped))
	newToken := learnerClient(t, renewed.Data[lab.KubeconfigKey])
	if err := whoAmI(newToken); err != nil {
		t.Fatalf("the renewed token does not authenticate: %v", err)
	}
	if next, _ := time.Parse(time.RFC3339, renewed.Annotations[lab.AnnotationTokenRenewAt]); !next.After(renewAt) {
		t.Errorf("renewed token renews at %s, not after the previous renewal %s", next, renewAt)
	}

	deleted := time.Now()
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := admin.Delete(context.Background(), lr); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 120*time.Second, func(ctx context.Context) error { return namespaceGone(ctx, lab.Namespace(name)) })
	gone := time.Now()
	// kube-apiserver caches successful token authentications for 10s
	// (TokenSuccessCacheTTL): a token used just before may pass that long.
	testutil.Eventually(t, 30*time.Second, func(context.Context) error {
		for what, c := range map[string]client.Client{"old": oldToken, "renewed": newToken} {
			if err := whoAmI(c); !apierrors.IsUnauthorized(err) {
				return fmt.Errorf("the %s token after teardown: err = %w, want 401 Unauthorized", what, err)
			}
		}
		return nil
	})
	t.Logf("tokens rejected %s after the namespace was gone", time.Since(gone).Round(time.Millisecond))
	converged(t, "token-revoked-on-teardown", time.Since(deleted))
}

func learnerClient(t *testing.T, kubeconfig []byte) client.Client {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func whoAmI(c client.Client) error {
	return c.Create(context.Background(), &authenticationv1.SelfSubjectReview{})
}

// poke makes the operator reconcile a rotation without changing its spec.
func poke(t *testing.T, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test/poke":"%d"}}}`, time.Now().UnixNano())
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := admin.Patch(context.Background(), lr, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}
