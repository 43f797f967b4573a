package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// TestHelpAction walks one help request through its life: none, asked (a
// Warning event telling mentors how to acknowledge), asked again unchanged
// (nothing new), acknowledged by the wrong then the right time, and asked anew.
// The condition is status.go's helpCondition over the resulting status.
func TestHelpAction(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	r := &LearningRotationReconciler{Clock: clocktesting.NewFakePassiveClock(now)}
	s := &rotationScope{lr: &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "r1", Generation: 2}}}
	ask := func(at, msg string) *request {
		t.Helper()
		req, err := parseRequest(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: rotationsv1.RequestHelpName, Labels: map[string]string{rotationsv1.LabelRequest: rotationsv1.RequestHelp}},
			Data:       map[string]string{rotationsv1.RequestKeyRequestedAt: at, rotationsv1.RequestKeyMessage: msg},
		})
		if err != nil {
			t.Fatal(err)
		}
		return &req
	}
	condition := func(status metav1.ConditionStatus, reason, msg string) {
		t.Helper()
		// status.go derives the condition from status.helpRequest.
		c := helpCondition(passView{lr: s.lr, found: &findings{help: true}})
		if c == nil || c.status != status || c.reason != reason || !strings.Contains(c.message, msg) {
			t.Errorf("HelpRequested = %+v, want %s %s containing %q", c, status, reason, msg)
		}
	}
	events := func(want ...string) {
		t.Helper()
		var got []string
		for _, e := range s.events.pending {
			got = append(got, e.reason)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("events %v, want %v", got, want)
		}
		s.events.pending = nil
	}

	condition(metav1.ConditionFalse, rotationsv1.ReasonNoHelpRequested, "has not asked")

	const first = "2026-05-04T09:00:00Z"
	r.registerHelp(s, ask(first, "  my pod crashes  "))
	if h := s.lr.Status.HelpRequest; h == nil || h.Message != "my pod crashes" || !h.RequestedAt.Time.Equal(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("helpRequest = %+v", h)
	}
	if note := s.events.pending[0].note; !strings.Contains(note, "my pod crashes") ||
		!strings.Contains(note, "kubectl annotate lr r1 "+rotationsv1.AnnotationHelpAcknowledged+"="+first) {
		t.Errorf("note %q does not say how to acknowledge", note)
	}
	events(rotationsv1.ReasonHelpRequested)
	condition(metav1.ConditionTrue, rotationsv1.ReasonHelpRequested, "asked for help at 2026-05-04T09:00:00Z: my pod crashes")

	r.registerHelp(s, ask(first, "edited, same time"))
	r.acknowledgeHelp(s) // no annotation
	events()
	if s.lr.Status.HelpRequest.Message != "my pod crashes" {
		t.Error("the same requestedAt made a new request")
	}

	s.lr.Annotations = map[string]string{rotationsv1.AnnotationHelpAcknowledged: "2026-05-04T08:00:00Z"}
	r.acknowledgeHelp(s)
	events()
	s.lr.Annotations[rotationsv1.AnnotationHelpAcknowledged] = first
	r.acknowledgeHelp(s)
	if at := s.lr.Status.HelpRequest.AcknowledgedAt; at == nil || !at.Time.Equal(now) {
		t.Errorf("acknowledgedAt = %v, want %v", at, now)
	}
	events() // HelpAcknowledged is a status transition: notify.go sends it
	condition(metav1.ConditionFalse, rotationsv1.ReasonHelpAcknowledged, "was acknowledged at 2026-05-04T09:30:00Z")
	r.acknowledgeHelp(s)
	events()

	r.registerHelp(s, ask("2026-05-04T10:00:00Z", ""))
	if h := s.lr.Status.HelpRequest; h.AcknowledgedAt != nil || h.Message != "" {
		t.Errorf("a new request kept the old one's state: %+v", h)
	}
	events(rotationsv1.ReasonHelpRequested)
	condition(metav1.ConditionTrue, rotationsv1.ReasonHelpRequested, "asked for help at 2026-05-04T10:00:00Z")
}

// TestHelpMessageLimit: a long message is cut to the status limit, on a
// character boundary.
func TestHelpMessageLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes
		{strings.Repeat("ü", 600), maxHelpMessage, strings.Repeat("ü", 512)},
	} {
		if got := truncateUTF8(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
