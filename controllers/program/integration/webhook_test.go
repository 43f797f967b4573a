package integration_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers/program"
	"github.com/handson-dev/rotation-operator/internal/notify"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// receiver is a real HTTP receiver of CloudEvents.
type receiver struct {
	mu     sync.Mutex
	events []notify.Notification
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	var n notify.Notification
	if err == nil {
		err = ev.DataAs(&n)
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, n)
	rc.mu.Unlock()
}

func (rc *receiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, n := range rc.events {
		out = append(out, n.Type+" "+n.Participant+" "+n.Exercise)
	}
	return out
}

// The andon reaches the mentor's webhook: round started, help requested
// and acknowledged, exercise passed, overrun and rotation completed, each
// once, from the rotations' status as the program sees it change.
func TestWebhookRoundTrip(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: harness.OperatorNamespace, Name: "mentor-webhook"},
		StringData: map[string]string{"url": srv.URL}}
	if err := admin.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), secret) })

	clk := clocktesting.NewFakeClock(t0)
	startOperator(t, clk)
	prog := dailyProgram("andon", 2, []string{"ex-a"}, participant("alice", "alice@example.com"))
	prog.Spec.Notification = &rotationsv1.NotificationSink{
		URLSecretRef: rotationsv1.SecretKeyReference{Namespace: harness.OperatorNamespace, Name: "mentor-webhook", Key: "url"}}
	p := createProgram(t, prog)
	waitProgram(t, p.Name, "round 1", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 1 })

	expect := func(want ...string) {
		t.Helper()
		waitFor(t, want, rc.types)
	}
	expect("RoundStarted  ")

	setRotationStatus(t, "andon-alice-r1", func(st *rotationsv1.LearningRotationStatus) {
		st.HelpRequest = &rotationsv1.HelpRequestStatus{Message: "stuck", RequestedAt: metav1.NewTime(t0.Add(time.Hour))}
		over := inProgress("ex-a", 10)
		over.OverranAt = &metav1.Time{Time: t0.Add(time.Hour)}
		st.Exercises = []rotationsv1.ExerciseResult{over}
	})
	expect("RoundStarted  ", "HelpRequested alice ", "ExerciseOverrun alice ex-a")

	setRotationStatus(t, "andon-alice-r1", func(st *rotationsv1.LearningRotationStatus) {
		st.HelpRequest.AcknowledgedAt = &metav1.Time{Time: t0.Add(2 * time.Hour)}
		st.Exercises = []rotationsv1.ExerciseResult{passed("ex-a", 70, 10, t0.Add(3*time.Hour))}
		st.Exercises[0].OverranAt = &metav1.Time{Time: t0.Add(time.Hour)}
		completed(st)
	})
	expect("RoundStarted  ", "HelpRequested alice ", "ExerciseOverrun alice ex-a",
		"HelpAcknowledged alice ", "ExercisePassed alice ex-a", "RotationCompleted alice ")

	// Every program metric the dashboard queries is served (the manager's
	// /metrics is this registry).
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range program.Metrics {
		if !slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == name }) {
			t.Errorf("metric %s is not served", name)
		}
	}

	p2 := waitProgram(t, p.Name, "sink ready", func(*rotationsv1.RotationProgram) bool { return true })
	if c := findCondition(p2, "NotificationSinkReady"); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("NotificationSinkReady: %+v", c)
	}
}

// waitFor waits until got() holds want, in any order (two senders post
// in parallel), and stays so briefly: nothing is announced twice.
func waitFor(t *testing.T, want []string, got func() []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	sorted := func() []string { return slices.Sorted(slices.Values(got())) }
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Equal(sorted(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("received %q, want %q", got(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if !slices.Equal(sorted(), want) {
		t.Fatalf("then received %q, want only %q", got(), want)
	}
}

func findCondition(p *rotationsv1.RotationProgram, typ string) *metav1.Condition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
