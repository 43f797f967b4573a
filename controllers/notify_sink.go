package controllers

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// This file posts a rotation's mentor notifications to the webhook of its
// spec.notification. They are the same transitions as notify.go's events,
// derived from the status the pass read and the one it writes, and go out
// only once the status write succeeded. Posting is the notify package's
// business: Enqueue never blocks, a bounded queue feeds its senders.
//
// A rotation a RotationProgram controls posts nothing itself: the program
// posts its rotations' notifications through the program's sink, so none
// is sent twice (controllers/program/notify.go).

// ReasonSinkInvalid is the Warning event when the sink's Secret cannot be read.
const ReasonSinkInvalid = "NotificationSinkInvalid"

// sinkNotifications are the mentor notifications of a pass's transition.
// They carry names a mentor already sees on the rotation, never the
// learner's work nor the text of the help request.
func sinkNotifications(c change) []notify.Notification {
	lr := c.lr
	var out []notify.Notification
	note := func(typ, exercise, msg string) {
		out = append(out, notify.Notification{Type: typ, Learner: lr.Spec.Learner.Name, Rotation: lr.Name,
			Exercise: exercise, Message: msg, Time: c.now.UTC()})
	}
	was, now := c.base.Status.HelpRequest, lr.Status.HelpRequest
	if now != nil && now.AcknowledgedAt == nil && (was == nil || !was.RequestedAt.Equal(&now.RequestedAt)) {
		note(notify.HelpRequested, "", fmt.Sprintf("%s asked for help in rotation %s at %s: kubectl rotation status %s",
			lr.Spec.Learner.Name, lr.Name, stamp(now.RequestedAt.Time), lr.Name))
	}
	if len(notifyHelpAcknowledged(c)) > 0 {
		note(notify.HelpAcknowledged, "", fmt.Sprintf("the help request of %s in rotation %s was acknowledged", lr.Spec.Learner.Name, lr.Name))
	}
	names := make([]string, 0, len(c.found.gradeTransitions))
	for name := range c.found.gradeTransitions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, e := range names {
		switch c.found.gradeTransitions[e] {
		case grading.TransitionPassed:
			note(notify.ExercisePassed, e, fmt.Sprintf("%s passed exercise %s in rotation %s", lr.Spec.Learner.Name, e, lr.Name))
		case grading.TransitionRegressed:
			note(notify.ExerciseRegress, e, fmt.Sprintf("exercise %s of %s passed before and now fails (rotation %s)", e, lr.Spec.Learner.Name, lr.Name))
		}
	}
	for _, e := range lr.Status.Exercises {
		if e.OverranAt == nil || e.StartedAt == nil {
			continue
		}
		if prev := resultOf(c.base, e.Name); prev != nil && prev.OverranAt != nil {
			continue
		}
		note(notify.ExerciseOverrun, e.Name, fmt.Sprintf("%s has spent over %d× the estimate on exercise %s without passing: a mentor's look may help",
			lr.Spec.Learner.Name, overrunFactor, e.Name))
	}
	if becameTrue(c, rotationsv1.ConditionCompleted) {
		note(notify.RotationComplete, "", fmt.Sprintf("%s passed every exercise of rotation %s: score %d/%d",
			lr.Spec.Learner.Name, lr.Name, lr.Status.Score, lr.Status.MaxScore))
	}
	return out
}

// ownSink is whether the rotation posts through its own spec.notification.
func ownSink(lr *rotationsv1.LearningRotation) bool {
	if lr.Spec.Notification == nil {
		return false
	}
	owner := metav1.GetControllerOf(lr)
	return owner == nil || owner.Kind != "RotationProgram" || owner.APIVersion != rotationsv1.GroupVersion.String()
}

// sendNotifications queues notes for the rotation's sink. The Secret is
// read only when there is something to send; when it cannot be, the notes
// are dropped, counted, and a Warning event says why.
func (r *LearningRotationReconciler) sendNotifications(ctx context.Context, lr *rotationsv1.LearningRotation, notes []notify.Notification) {
	if len(notes) == 0 || !ownSink(lr) || r.Notifier == nil {
		return
	}
	target, err := r.readSink(ctx, lr.Spec.Notification)
	if err != nil {
		r.Notifier.DropUnsent(notify.DroppedNoSink, len(notes))
		r.Recorder.Eventf(lr, nil, corev1.EventTypeWarning, ReasonSinkInvalid, "Notify",
			"%d notifications were not sent: %s", len(notes), err.Error())
		return
	}
	for _, n := range notes {
		r.Notifier.Enqueue(target, n)
	}
}

// readSink reads the webhook URL from its Secret, around the cache.
func (r *LearningRotationReconciler) readSink(ctx context.Context, sink *rotationsv1.NotificationSink) (notify.Target, error) {
	ref := sink.URLSecretRef
	sec := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec); err != nil {
		return notify.Target{}, fmt.Errorf("reading secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	url := string(sec.Data[ref.Key])
	if url == "" {
		return notify.Target{}, fmt.Errorf("secret %s/%s has no key %q", ref.Namespace, ref.Name, ref.Key)
	}
	format := notify.CloudEvents
	if sink.Format == rotationsv1.NotifyJSON {
		format = notify.JSON
	}
	return notify.Target{URL: url, Format: format}, nil
}
