package badinput_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

func userClient(user string) (client.Client, error) {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	return client.New(cfg, client.Options{Scheme: operator.Scheme()})
}

func parseYAML(kind, s string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte("apiVersion: rotations.handson.dev/v1alpha1\nkind: "+kind+"\n"+s), &u.Object); err != nil {
		panic(fmt.Sprintf("bad test YAML: %v\n%s", err, s))
	}
	return u
}

func exerciseYAML(s string) *unstructured.Unstructured { return parseYAML("Exercise", s) }

// rejected creates obj and returns the apiserver's rejection; an accepted
// object is deleted again and fails the case.
func rejected(t *testing.T, c client.Client, obj client.Object) string {
	t.Helper()
	err := c.Create(context.Background(), obj)
	if err == nil {
		_ = c.Delete(context.Background(), obj)
		t.Fatalf("%s %s was accepted", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
	}
	if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) && !apierrors.IsRequestEntityTooLargeError(err) {
		t.Fatalf("rejected, but not as invalid input: %v", err)
	}
	return err.Error()
}

// exerciseNotReady creates an Exercise admission accepts and returns its
// Ready=False condition as "Reason: message", once the operator reported it
// with a Warning event of the same reason.
func exerciseNotReady(t *testing.T, s string) string {
	t.Helper()
	ex := exerciseYAML(s)
	if err := admin.Create(context.Background(), ex); err != nil {
		t.Fatalf("admission refused the exercise: %v", err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), ex) })
	var got string
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		e := &rotationsv1.Exercise{}
		if err := admin.Get(ctx, client.ObjectKey{Name: ex.GetName()}, e); err != nil {
			return err
		}
		c := meta.FindStatusCondition(e.Status.Conditions, rotationsv1.ConditionReady)
		if c == nil || c.ObservedGeneration != e.Generation {
			return errors.New("exercise not compiled yet")
		}
		if c.Status != metav1.ConditionFalse {
			return fmt.Errorf("exercise Ready=%s: %s", c.Status, c.Message)
		}
		if err := findEvent(ctx, "Exercise", ex.GetName(), c.Reason, ""); err != nil {
			return err
		}
		got = c.Reason + ": " + c.Message
		return nil
	})
	return got
}

// findEvent is nil when a Warning event with reason (and a note containing
// note) regards the named object.
func findEvent(ctx context.Context, kind, name, reason, note string) error {
	events := &eventsv1.EventList{}
	if err := admin.List(ctx, events); err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Type == corev1.EventTypeWarning && e.Reason == reason && strings.Contains(e.Note, note) {
			return nil
		}
	}
	return fmt.Errorf("no Warning event %s regarding %s %s (note containing %q)", reason, kind, name, note)
}

// grade asks for a grading pass of the rotation "bad" and returns the
// rotation once the pass answered.
func grade(t *testing.T) *rotationsv1.LearningRotation {
	t.Helper()
	v := fmt.Sprint(time.Now().UnixNano())
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, rotationsv1.AnnotationGradeRequested, v)
	lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: rotationName}}
	if err := admin.Patch(context.Background(), lr, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: rotationName}, lr); err != nil {
			return err
		}
		if lr.Status.GradeRequest != v {
			return fmt.Errorf("grade request %s not answered (status has %q)", v, lr.Status.GradeRequest)
		}
		return nil
	})
	return lr
}

// result is the rotation's result for an exercise.
func result(t *testing.T, lr *rotationsv1.LearningRotation, exercise string) rotationsv1.ExerciseResult {
	t.Helper()
	for _, r := range lr.Status.Exercises {
		if r.Name == exercise {
			return r
		}
	}
	t.Fatalf("rotation %s has no result for exercise %s", lr.Name, exercise)
	return rotationsv1.ExerciseResult{}
}

// stillReady fails the case when the rotation "bad" stopped being Ready.
func stillReady(t *testing.T, lr *rotationsv1.LearningRotation) {
	t.Helper()
	if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("rotation %s no longer Ready: %+v", lr.Name, c)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// gzZeros gzips n zero bytes without holding them: a gzip bomb.
func gzZeros(n int) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		_, _ = w.Write(chunk[:k])
		n -= k
	}
	_ = w.Close()
	return buf.Bytes()
}

func b64(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}
