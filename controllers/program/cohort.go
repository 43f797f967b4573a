package program

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// gatherCohort records the round started this pass and derives the cohort
// status from the rotations: per participant their latest round, per
// round its completion and times to pass. It only reads what the
// rotations' status already says, so it is the same after a restart.
func (r *Reconciler) gatherCohort(_ context.Context, s *pass) error {
	st := &s.p.Status
	if f := s.found.started; f != nil && !slices.ContainsFunc(st.Rounds, func(rs rotationsv1.RoundStatus) bool { return rs.Round == f.round }) {
		st.Rounds = append(st.Rounds, rotationsv1.RoundStatus{
			Round: f.round, ScheduledAt: metav1.NewTime(f.scheduledAt), StartedAt: metav1.NewTime(s.now),
		})
		if n := len(st.Rounds); n > rotationsv1.MaxRoundsInStatus {
			st.Rounds = slices.Clone(st.Rounds[n-rotationsv1.MaxRoundsInStatus:])
		}
	}
	if n := len(st.Rounds); n > 0 {
		st.Round = st.Rounds[n-1].Round
	}
	for i := range st.Rounds {
		summarizeRound(&st.Rounds[i], s.rotations)
	}
	st.Participants = participantStatuses(s)
	s.found.cohort = true
	return nil
}

// participantStatuses: each participant's latest rotation, in spec order.
func participantStatuses(s *pass) []rotationsv1.ParticipantStatus {
	prev := map[string]rotationsv1.ParticipantStatus{}
	for _, ps := range s.p.Status.Participants {
		prev[ps.Name] = ps
	}
	out := make([]rotationsv1.ParticipantStatus, 0, len(s.p.Spec.Participants))
	for _, pt := range s.p.Spec.Participants {
		ps := rotationsv1.ParticipantStatus{Name: string(pt.Name), Learner: pt.Learner.Name}
		if lr := latestOf(s.rotations, pt.Name); lr != nil {
			fillFromRotation(&ps, lr)
		}
		switch f := s.found.started; {
		case f != nil && f.skipped[pt.Name] != "":
			ps.Skipped = f.skipped[pt.Name]
		case f == nil && prev[string(pt.Name)].Skipped != "" && ps.Round < s.p.Status.Round:
			ps.Skipped = prev[string(pt.Name)].Skipped // still behind the round that skipped them
		}
		out = append(out, ps)
	}
	return out
}

func latestOf(rotations []rotationsv1.LearningRotation, participant rotationsv1.ParticipantName) *rotationsv1.LearningRotation {
	var latest *rotationsv1.LearningRotation
	for i := range rotations {
		lr := &rotations[i]
		if lr.Labels[rotationsv1.LabelParticipant] == string(participant) && (latest == nil || roundOf(lr) > roundOf(latest)) {
			latest = lr
		}
	}
	return latest
}

func fillFromRotation(ps *rotationsv1.ParticipantStatus, lr *rotationsv1.LearningRotation) {
	st := &lr.Status
	ps.Round, ps.Rotation, ps.Phase = roundOf(lr), lr.Name, st.Phase
	ps.Score, ps.MaxScore, ps.Progress = st.Score, st.MaxScore, st.Progress
	if h := st.HelpRequest; h != nil && h.AcknowledgedAt == nil {
		ps.HelpRequestedAt = h.RequestedAt.DeepCopy()
	}
	for _, e := range st.Exercises {
		if e.FirstPassedAt != nil {
			ps.Passed = append(ps.Passed, e.Name)
		}
		if e.FirstPassedAt != nil && e.State == rotationsv1.ExerciseFailed {
			ps.Regressed = append(ps.Regressed, e.Name)
		}
		if e.OverranAt != nil {
			ps.Overrun = append(ps.Overrun, e.Name)
		}
	}
	ps.Completed = meta.IsStatusConditionTrue(st.Conditions, rotationsv1.ConditionCompleted)
}

// summarizeRound: how many of the round's rotations completed, and per
// exercise how many passed and their median minutes to pass.
func summarizeRound(rs *rotationsv1.RoundStatus, rotations []rotationsv1.LearningRotation) {
	rs.Rotations, rs.Completed = 0, 0
	type acc struct {
		passed, selected, estimate int32
		minutes                    []int32
	}
	byName := map[string]*acc{}
	var order []string
	for _, lr := range rotations {
		if roundOf(&lr) != rs.Round {
			continue
		}
		rs.Rotations++
		if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionCompleted) {
			rs.Completed++
		}
		for _, e := range lr.Status.Exercises {
			a := byName[e.Name]
			if a == nil {
				a = &acc{}
				byName[e.Name] = a
				order = append(order, e.Name)
			}
			a.selected++
			a.estimate = max(a.estimate, e.EstimatedMinutes)
			if e.FirstPassedAt != nil {
				a.passed++
				if e.MinutesToPass > 0 {
					a.minutes = append(a.minutes, e.MinutesToPass)
				}
			}
		}
	}
	rs.CompletionPercent = 0
	if rs.Rotations > 0 {
		rs.CompletionPercent = rs.Completed * 100 / rs.Rotations
	}
	slices.Sort(order)
	rs.Exercises = nil
	for _, name := range order {
		a := byName[name]
		rs.Exercises = append(rs.Exercises, rotationsv1.ExerciseRoundStatus{
			Name: name, Passed: a.passed, Selected: a.selected, MedianMinutesToPass: median(a.minutes), EstimatedMinutes: a.estimate,
		})
	}
}

// median of the values, the lower middle for an even count; 0 for none.
func median(v []int32) int32 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}
