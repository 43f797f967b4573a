package program

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// RotationName is the rotation of a participant in a round.
func RotationName(program string, participant rotationsv1.ParticipantName, round int32) string {
	return fmt.Sprintf("%s-%s-r%d", program, participant, round)
}

// readCadence records the cadence, or why it cannot be read: no round
// starts then, and ScheduleValid says why.
func (r *Reconciler) readCadence(_ context.Context, s *pass) error {
	s.found.cadence, s.found.cadenceErr = readCadence(s.p.Spec.Cadence, s.p.CreationTimestamp.Time)
	return nil
}

// readSink reads the webhook URL from its Secret.
func (r *Reconciler) readSink(ctx context.Context, s *pass) error {
	spec := s.p.Spec.Notification
	if spec == nil {
		return nil
	}
	ref := spec.URLSecretRef
	sec := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, sec)
	switch {
	case apierrors.IsNotFound(err):
		s.found.sinkErr = fmt.Errorf("secret %s/%s not found", ref.Namespace, ref.Name)
	case err != nil:
		return err
	case len(sec.Data[ref.Key]) == 0:
		s.found.sinkErr = fmt.Errorf("secret %s/%s has no key %q", ref.Namespace, ref.Name, ref.Key)
	default:
		format := notify.CloudEvents
		if spec.Format == rotationsv1.NotifyJSON {
			format = notify.JSON
		}
		s.found.sink = &notify.Target{URL: string(sec.Data[ref.Key]), Format: format}
	}
	return nil
}

// listRotations reads the rotations the program owns, from the cache.
func (r *Reconciler) listRotations(ctx context.Context, s *pass) error {
	return r.list(ctx, r.Client, s)
}

func (r *Reconciler) list(ctx context.Context, reader client.Reader, s *pass) error {
	list := &rotationsv1.LearningRotationList{}
	if err := reader.List(ctx, list, client.MatchingLabels{rotationsv1.LabelProgram: s.p.Name}); err != nil {
		return err
	}
	s.rotations = nil
	for _, lr := range list.Items {
		if metav1.IsControlledBy(&lr, s.p) {
			s.rotations = append(s.rotations, lr)
		}
	}
	return nil
}

// latestRound is the latest round started: from status, or from the
// rotations when a pass created them and failed before writing status.
func latestRound(s *pass) (round int32, scheduledAt time.Time, recorded bool) {
	if n := len(s.p.Status.Rounds); n > 0 {
		last := s.p.Status.Rounds[n-1]
		round, scheduledAt, recorded = last.Round, last.ScheduledAt.Time, true
	}
	for _, lr := range s.rotations {
		n := roundOf(&lr)
		if n > round {
			round, recorded = n, false
			scheduledAt, _ = time.Parse(time.RFC3339, lr.Annotations[rotationsv1.AnnotationScheduledAt])
		}
	}
	return round, scheduledAt, recorded
}

func roundOf(lr *rotationsv1.LearningRotation) int32 {
	n, _ := strconv.ParseInt(lr.Labels[rotationsv1.LabelRound], 10, 32)
	return int32(n)
}

// startRound starts the next round when its time has come: one rotation
// per participant. A round whose rotations exist but whose status record
// was never written (the pass failed after creating them) is finished
// rather than started again, so no rotation is ever created twice.
func (r *Reconciler) startRound(ctx context.Context, s *pass) error {
	c := s.found.cadence
	if c == nil {
		return nil
	}
	last, lastSlot, recorded := latestRound(s)
	if !recorded && last > 0 {
		return r.createRound(ctx, s, last, lastSlot, 0)
	}
	if s.p.Spec.Suspend || c.finished(last, lastSlot) {
		return nil
	}
	slot, missed := c.due(lastSlot, s.now)
	if slot.IsZero() {
		return nil
	}
	return r.createRound(ctx, s, last+1, slot, missed)
}

func (r *Reconciler) createRound(ctx context.Context, s *pass, round int32, slot time.Time, missed int) error {
	// The cache may not have the rotations an earlier pass created yet:
	// list around it before creating any.
	if err := r.list(ctx, r.APIReader, s); err != nil {
		return err
	}
	started := &startedRound{round: round, scheduledAt: slot, missedSlots: missed, skipped: map[rotationsv1.ParticipantName]string{}}
	s.found.started = started
	for _, pt := range s.p.Spec.Participants {
		name := RotationName(s.p.Name, pt.Name, round)
		if slices.ContainsFunc(s.rotations, func(lr rotationsv1.LearningRotation) bool { return lr.Name == name }) {
			continue // created by an earlier pass
		}
		if busy := activeRotation(s, pt, s.now); busy != "" {
			started.skipped[pt.Name] = fmt.Sprintf("rotation %s of the learner is still running", busy)
			continue
		}
		sel, why, err := r.selection(ctx, s, pt, round)
		if err != nil {
			return err
		}
		if why != "" {
			started.skipped[pt.Name] = why
			continue
		}
		lr := newRotation(s.p, pt, round, slot, sel)
		switch err := r.Client.Create(ctx, lr); {
		case apierrors.IsAlreadyExists(err) && r.owns(ctx, s.p, name):
			// Created by a concurrent pass of this program since the list.
		case apierrors.IsAlreadyExists(err):
			// Not ours: leave it alone.
			s.found.conflicts = append(s.found.conflicts, name)
			started.skipped[pt.Name] = fmt.Sprintf("a rotation named %s exists and was not created by this program", name)
		case err != nil:
			return fmt.Errorf("creating rotation %s: %w", name, err)
		default:
			started.created = append(started.created, name)
			s.rotations = append(s.rotations, *lr)
		}
	}
	return nil
}

// activeRotation names a rotation of the program for the participant's
// learner that is still within its time box at now, if any.
func activeRotation(s *pass, pt rotationsv1.Participant, now time.Time) string {
	for _, lr := range s.rotations {
		if lr.Spec.Learner.Name != pt.Learner.Name || lr.Spec.Learner.Kind != pt.Learner.Kind {
			continue
		}
		switch lr.Status.Phase {
		case rotationsv1.PhaseExpired, rotationsv1.PhaseFailed:
			continue
		}
		start, d := lr.CreationTimestamp.Time, 336*time.Hour
		if lr.Spec.Schedule.Start != nil {
			start = lr.Spec.Schedule.Start.Time
		}
		if lr.Spec.Schedule.Duration != nil {
			d = lr.Spec.Schedule.Duration.Duration
		}
		if start.Add(d).After(now) {
			return lr.Name
		}
	}
	return ""
}

// newRotation is the participant's rotation of a round, from the template
// as it is now: a template change affects the rounds after it only. It
// starts at the round's scheduled time even when the round starts late
// (after a suspension), so rounds keep to the cadence and a participant's
// rotations never overlap.
func newRotation(p *rotationsv1.RotationProgram, pt rotationsv1.Participant, round int32, slot time.Time, sel rotationsv1.ExerciseSelection) *rotationsv1.LearningRotation {
	t := p.Spec.Template
	mentors := append(slices.Clone(t.Mentors), pt.Mentors...)
	start := metav1.NewTime(slot)
	return &rotationsv1.LearningRotation{
		ObjectMeta: metav1.ObjectMeta{
			Name: RotationName(p.Name, pt.Name, round),
			Labels: map[string]string{
				rotationsv1.LabelProgram:     p.Name,
				rotationsv1.LabelParticipant: string(pt.Name),
				rotationsv1.LabelRound:       strconv.Itoa(int(round)),
			},
			Annotations: map[string]string{rotationsv1.AnnotationScheduledAt: stamp(slot)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: rotationsv1.GroupVersion.String(), Kind: "RotationProgram", Name: p.Name, UID: p.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: rotationsv1.LearningRotationSpec{
			Learner:   pt.Learner,
			Mentors:   mentors,
			Exercises: sel,
			Schedule:  rotationsv1.Schedule{Start: &start, Duration: t.Duration, Retention: t.Retention},
			Size:      t.Size,
		},
	}
}

// owns: the rotation named name exists and the program controls it.
func (r *Reconciler) owns(ctx context.Context, p *rotationsv1.RotationProgram, name string) bool {
	lr := &rotationsv1.LearningRotation{}
	return r.APIReader.Get(ctx, client.ObjectKey{Name: name}, lr) == nil && metav1.IsControlledBy(lr, p)
}
