package program

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// This file derives what a pass announces from the status it read (base)
// and the one it writes: Kubernetes events on the program, and the mentor
// notifications for the webhook. Both go out only after the status write
// succeeded. The rotations' own events (help requested, exercise passed...)
// stay on the rotations; the webhook gets them from the cohort status.

type event struct {
	eventType, reason, action, note string
}

type change struct {
	base, p *rotationsv1.RotationProgram
	found   *findings
	now     time.Time
}

// transitions are the events and notifications of a pass.
func transitions(c change) ([]event, []notify.Notification) {
	evs := append(roundEvents(c), scheduleEvents(c)...)
	evs = append(evs, sinkEvents(c)...)
	notes := roundNotifications(c)
	if c.found.cohort {
		notes = append(notes, participantNotifications(c)...)
	}
	return evs, notes
}

// roundEvents: a round started, participants were skipped, names were taken.
func roundEvents(c change) []event {
	f := c.found.started
	if f == nil || hasRound(c.base, f.round) {
		return nil
	}
	msg := fmt.Sprintf("round %d started (scheduled %s): %d rotations created", f.round, stamp(f.scheduledAt), len(f.created))
	if f.missedSlots > 0 {
		msg += fmt.Sprintf("; %d round times passed while suspended or down were skipped", f.missedSlots)
	}
	out := []event{{corev1.EventTypeNormal, "RoundStarted", "StartRound", msg}}
	for _, pt := range c.p.Spec.Participants {
		if why := f.skipped[pt.Name]; why != "" {
			out = append(out, event{corev1.EventTypeWarning, "ParticipantSkipped", "StartRound",
				fmt.Sprintf("participant %s gets no rotation in round %d: %s", pt.Name, f.round, why)})
		}
	}
	return out
}

func hasRound(p *rotationsv1.RotationProgram, round int32) bool {
	return slices.ContainsFunc(p.Status.Rounds, func(rs rotationsv1.RoundStatus) bool { return rs.Round == round })
}

// scheduleEvents: the cadence became unreadable or never fires, once per change.
func scheduleEvents(c change) []event {
	was := meta.FindStatusCondition(c.base.Status.Conditions, rotationsv1.ConditionScheduleValid)
	now := meta.FindStatusCondition(c.p.Status.Conditions, rotationsv1.ConditionScheduleValid)
	if now == nil || now.Status == "True" || (was != nil && was.Status == now.Status && was.Message == now.Message) {
		return nil
	}
	return []event{{corev1.EventTypeWarning, now.Reason, "ReadCadence", now.Message}}
}

// sinkEvents: the webhook Secret cannot be read, once per change.
func sinkEvents(c change) []event {
	was := meta.FindStatusCondition(c.base.Status.Conditions, ConditionNotificationOK)
	now := meta.FindStatusCondition(c.p.Status.Conditions, ConditionNotificationOK)
	if now == nil || now.Status == "True" || (was != nil && was.Status == now.Status && was.Message == now.Message) {
		return nil
	}
	return []event{{corev1.EventTypeWarning, now.Reason, "ReadSink", now.Message}}
}

func roundNotifications(c change) []notify.Notification {
	f := c.found.started
	if f == nil || hasRound(c.base, f.round) {
		return nil
	}
	return []notify.Notification{{
		Type: notify.RoundStarted, Program: c.p.Name, Round: f.round, Time: c.now,
		Message: fmt.Sprintf("round %d of program %s started: %s", f.round, c.p.Name, strings.Join(f.created, ", ")),
	}}
}

// participantNotifications compare each participant's latest rotation as
// the base status saw it with now; a participant's new round starts fresh.
func participantNotifications(c change) []notify.Notification {
	before := map[string]rotationsv1.ParticipantStatus{}
	for _, ps := range c.base.Status.Participants {
		before[ps.Name] = ps
	}
	var out []notify.Notification
	for _, ps := range c.p.Status.Participants {
		if ps.Rotation == "" {
			continue
		}
		was := before[ps.Name]
		if was.Rotation != ps.Rotation {
			was = rotationsv1.ParticipantStatus{}
		}
		note := func(typ, exercise, msg string) {
			out = append(out, notify.Notification{Type: typ, Program: c.p.Name, Round: ps.Round, Participant: ps.Name,
				Learner: ps.Learner, Rotation: ps.Rotation, Exercise: exercise, Message: msg, Time: c.now})
		}
		switch {
		case ps.HelpRequestedAt != nil && (was.HelpRequestedAt == nil || !was.HelpRequestedAt.Equal(ps.HelpRequestedAt)):
			note(notify.HelpRequested, "", fmt.Sprintf("%s asked for help in rotation %s at %s: kubectl rotation status %s",
				ps.Learner, ps.Rotation, stamp(ps.HelpRequestedAt.Time), ps.Rotation))
		case ps.HelpRequestedAt == nil && was.HelpRequestedAt != nil:
			note(notify.HelpAcknowledged, "", fmt.Sprintf("the help request of %s in rotation %s was acknowledged", ps.Learner, ps.Rotation))
		}
		for _, e := range added(was.Passed, ps.Passed) {
			note(notify.ExercisePassed, e, fmt.Sprintf("%s passed exercise %s (round %d)", ps.Learner, e, ps.Round))
		}
		for _, e := range added(was.Regressed, ps.Regressed) {
			note(notify.ExerciseRegress, e, fmt.Sprintf("exercise %s of %s passed before and now fails (round %d)", e, ps.Learner, ps.Round))
		}
		for _, e := range added(was.Overrun, ps.Overrun) {
			note(notify.ExerciseOverrun, e, fmt.Sprintf("%s has spent over twice the estimate on exercise %s without passing: a mentor's look may help", ps.Learner, e))
		}
		if ps.Completed && !was.Completed {
			note(notify.RotationComplete, "", fmt.Sprintf("%s passed every exercise of round %d: score %d/%d", ps.Learner, ps.Round, ps.Score, ps.MaxScore))
		}
	}
	return out
}

// added: the names in now that were not in was.
func added(was, now []string) []string {
	var out []string
	for _, n := range now {
		if !slices.Contains(was, n) {
			out = append(out, n)
		}
	}
	return out
}
