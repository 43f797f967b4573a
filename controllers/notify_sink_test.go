package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// jsonReceiver is a real HTTP receiver of plain JSON notifications.
type jsonReceiver struct {
	mu    sync.Mutex
	notes []notify.Notification
	raw   []string
}

func (rc *jsonReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var n notify.Notification
	if err == nil {
		err = json.Unmarshal(body, &n)
	}
	if err != nil || r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.notes, rc.raw = append(rc.notes, n), append(rc.raw, string(body))
	rc.mu.Unlock()
}

func (rc *jsonReceiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, n := range rc.notes {
		out = append(out, n.Type)
	}
	return out
}

// A rotation's own sink gets its transitions: help requested and
// acknowledged, exercise passed, rotation completed; as plain JSON, with
// no program and no help request text.
func TestRotationNotificationSinkRoundTrip(t *testing.T) {
	ctx := context.Background()
	rc := &jsonReceiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "sink-webhook"}, StringData: map[string]string{"url": srv.URL}}
	if err := admin.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), sec) })

	sink := &rotationsv1.NotificationSink{Format: rotationsv1.NotifyJSON,
		URLSecretRef: rotationsv1.SecretKeyReference{Namespace: "default", Name: "sink-webhook", Key: "url"}}
	// Admission: the reference must be whole.
	bad := testutil.Rotation("sink-bad").Obj()
	bad.Spec.Notification = &rotationsv1.NotificationSink{URLSecretRef: rotationsv1.SecretKeyReference{Namespace: "default", Name: "x"}}
	if err := admin.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "urlSecretRef needs a namespace, a name and a key") {
		t.Errorf("a sink without a key: err = %v, want refused", err)
		_ = admin.Delete(ctx, bad)
	}

	createExercise(t, scaleExercise("t-sink"))
	lr := testutil.Rotation("sinkrot").Mentors("mo@example.com").Exercises("t-sink").Obj()
	lr.Spec.Notification = sink
	createRotation(t, lr)
	waitReady(t, "sinkrot")
	const ns = "lab-sinkrot"
	learner := userClient(t, "sinkrot@example.com")

	asked := time.Now().UTC().Truncate(time.Second)
	if err := learner.Create(ctx, requestConfigMap(ns, rotationsv1.RequestHelpName, rotationsv1.RequestHelp, map[string]string{
		rotationsv1.RequestKeyMessage: "secret words of the learner", rotationsv1.RequestKeyRequestedAt: asked.Format(time.RFC3339),
	})); err != nil {
		t.Fatal(err)
	}
	waitTypes(t, rc, notify.HelpRequested)
	annotate(t, "sinkrot", rotationsv1.AnnotationHelpAcknowledged, asked.Format(time.RFC3339))
	waitTypes(t, rc, notify.HelpAcknowledged)

	scale(t, learner, ns, 3)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := learner.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitTypes(t, rc, notify.ExercisePassed, notify.RotationComplete)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, n := range rc.notes {
		if n.Rotation != "sinkrot" || n.Learner != "sinkrot@example.com" || n.Program != "" || n.Message == "" {
			t.Errorf("notification %d = %+v", i, n)
		}
		if strings.Contains(rc.raw[i], "secret words") || strings.Contains(rc.raw[i], `"program"`) {
			t.Errorf("notification %d carries the help text or a program: %s", i, rc.raw[i])
		}
		if n.Type == notify.ExercisePassed && n.Exercise != "t-sink" {
			t.Errorf("passed notification names exercise %q", n.Exercise)
		}
	}
	for _, typ := range []string{notify.HelpRequested, notify.HelpAcknowledged, notify.ExercisePassed, notify.RotationComplete} {
		if c := count(rc.notes, typ); c != 1 {
			t.Errorf("%d %s notifications, want 1: %v", c, typ, rc.notes)
		}
	}
}

func count(notes []notify.Notification, typ string) int {
	c := 0
	for _, n := range notes {
		if n.Type == typ {
			c++
		}
	}
	return c
}

func waitTypes(t *testing.T, rc *jsonReceiver, want ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func(context.Context) error {
		got := rc.types()
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Errorf("received %v, waiting for %s", got, w)
			}
		}
		return nil
	})
}
