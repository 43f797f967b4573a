package badinput_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// requestCases are the learner's request ConfigMaps (help, grade, reset),
// malformed: each is refused with a Warning event InvalidRequest naming the
// problem and deleted, and the rotation stays Ready.
func requestCases() []badInput {
	refused := func(name, kind string, data map[string]string) func(t *testing.T) string {
		return func(t *testing.T) string {
			ctx := context.Background()
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: labNamespace, Labels: map[string]string{rotationsv1.LabelRequest: kind}},
				Data:       data,
			}
			_ = learner.Delete(ctx, cm)
			if err := learner.Create(ctx, cm); err != nil {
				t.Fatalf("the learner could not write the request: %v", err)
			}
			var got string
			testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
				if err := findEvent(ctx, "LearningRotation", rotationName, "InvalidRequest", name); err != nil {
					return err
				}
				if err := admin.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("the refused request is still there: %w", err)
				}
				got = "refused and deleted: " + name
				return nil
			})
			stillReady(t, grade(t))
			return got
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	// A help message far over the status limit is cut to fit, not a failed status write.
	hugeHelp := func(t *testing.T) string {
		ctx := context.Background()
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: rotationsv1.RequestHelpName, Namespace: labNamespace,
				Labels: map[string]string{rotationsv1.LabelRequest: rotationsv1.RequestHelp}},
			Data: map[string]string{rotationsv1.RequestKeyMessage: strings.Repeat("é", 200_000), rotationsv1.RequestKeyRequestedAt: now},
		}
		_ = learner.Delete(ctx, cm)
		if err := learner.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		var got string
		testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
			lr := &rotationsv1.LearningRotation{}
			if err := admin.Get(ctx, client.ObjectKey{Name: rotationName}, lr); err != nil {
				return err
			}
			h := lr.Status.HelpRequest
			if h == nil || h.Message == "" {
				return fmt.Errorf("help request not recorded yet")
			}
			if len(h.Message) > 1024 {
				return fmt.Errorf("message of %d bytes stored", len(h.Message))
			}
			got = fmt.Sprintf("help message of 400000 bytes recorded as %d bytes", len(h.Message))
			return nil
		})
		stillReady(t, grade(t))
		_ = learner.Delete(ctx, cm)
		return got
	}
	return []badInput{
		{"request", "garbage-time", refused(rotationsv1.RequestGradeName, rotationsv1.RequestGrade,
			map[string]string{rotationsv1.RequestKeyRequestedAt: "yesterday\x00"}), "refused and deleted"},
		{"request", "unknown-kind", refused("rotation-launch", "launch",
			map[string]string{rotationsv1.RequestKeyRequestedAt: now}), "refused and deleted"},
		{"request", "reset-unknown-exercise", refused(rotationsv1.RequestResetPrefix+"nope", rotationsv1.RequestReset,
			map[string]string{rotationsv1.RequestKeyExercise: "nope", rotationsv1.RequestKeyRequestedAt: now}), "refused and deleted"},
		{"request", "reset-name-mismatch", refused(rotationsv1.RequestResetPrefix+"x", rotationsv1.RequestReset,
			map[string]string{rotationsv1.RequestKeyExercise: "../../etc", rotationsv1.RequestKeyRequestedAt: now}), "refused and deleted"},
		{"request", "help-wrong-name", refused("help-me", rotationsv1.RequestHelp,
			map[string]string{rotationsv1.RequestKeyMessage: "hi", rotationsv1.RequestKeyRequestedAt: now}), "refused and deleted"},
		{"request", "help-huge-message", hugeHelp, "recorded as"},
	}
}
