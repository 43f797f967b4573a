package controllers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// The operator's clock is stepped past the renewal time; the next pass must
// replace the token with a fresh one that authenticates.
func TestTokenIsRenewedBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("renew").Obj())
	waitReady(t, "renew")
	key := client.ObjectKey{Namespace: "lab-renew", Name: lab.KubeconfigSecret}
	first := &corev1.Secret{}
	if err := admin.Get(ctx, key, first); err != nil {
		t.Fatal(err)
	}
	renewAt, err := time.Parse(time.RFC3339, first.Annotations[lab.AnnotationTokenRenewAt])
	if err != nil {
		t.Fatal(err)
	}
	expires, _ := time.Parse(time.RFC3339, first.Annotations[lab.AnnotationTokenExpiresAt])
	if !renewAt.Before(expires) {
		t.Fatalf("renewal %v is not before expiry %v", renewAt, expires)
	}

	// Before the renewal time, a pass leaves the token alone.
	poke(t, "renew")
	time.Sleep(time.Second)
	same := &corev1.Secret{}
	if err := admin.Get(ctx, key, same); err != nil {
		t.Fatal(err)
	}
	if string(same.Data[lab.KubeconfigKey]) != string(first.Data[lab.KubeconfigKey]) {
		t.Fatal("token replaced before its renewal time")
	}

	clock.SetTime(renewAt.Add(time.Second))
	poke(t, "renew")
	renewed := &corev1.Secret{}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, key, renewed); err != nil {
			return err
		}
		if string(renewed.Data[lab.KubeconfigKey]) == string(first.Data[lab.KubeconfigKey]) {
			return errors.New("token not renewed yet")
		}
		return nil
	})
	cfg, err := clientcmd.RESTConfigFromKubeConfig(renewed.Data[lab.KubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &authenticationv1.SelfSubjectReview{}); err != nil {
		t.Fatalf("renewed token does not authenticate: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "renew", corev1.EventTypeNormal, "TokenRenewed")
	})
}
