package controllers

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// The help action: a learner's help request becomes status.helpRequest and
// HelpRequested=True, with a Warning event for mentors; a new requestedAt is
// a new request. A mentor closes it with the help-acknowledged annotation.

// maxHelpMessage is status.helpRequest.message's limit, in bytes.
const maxHelpMessage = 1024

// registerHelp records a help request whose requestedAt is new.
func (r *LearningRotationReconciler) registerHelp(s *rotationScope, req *request) {
	st := &s.lr.Status
	at := metav1.NewTime(req.requestedAt)
	if st.HelpRequest != nil && st.HelpRequest.RequestedAt.Equal(&at) {
		return
	}
	msg := truncateUTF8(strings.TrimSpace(req.cm.Data[rotationsv1.RequestKeyMessage]), maxHelpMessage)
	st.HelpRequest = &rotationsv1.HelpRequestStatus{Message: msg, RequestedAt: at}
	note := "the learner asks for help"
	if msg != "" {
		note += ": " + msg
	}
	note += fmt.Sprintf(" (acknowledge: kubectl annotate lr %s %s=%s --overwrite)", s.lr.Name, rotationsv1.AnnotationHelpAcknowledged, req.raw)
	s.events.add(corev1.EventTypeWarning, rotationsv1.ReasonHelpRequested, "RequestHelp", truncateUTF8(note, 1000))
}

// acknowledgeHelp closes the open help request when a mentor set the
// acknowledgement annotation to its requestedAt.
func (r *LearningRotationReconciler) acknowledgeHelp(s *rotationScope) {
	help := s.lr.Status.HelpRequest
	if help == nil || help.AcknowledgedAt != nil {
		return
	}
	ack, err := time.Parse(time.RFC3339, s.lr.Annotations[rotationsv1.AnnotationHelpAcknowledged])
	if err != nil || !ack.Equal(help.RequestedAt.Time) {
		return
	}
	now := metav1.NewTime(r.Clock.Now().UTC().Truncate(time.Second))
	help.AcknowledgedAt = &now
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
