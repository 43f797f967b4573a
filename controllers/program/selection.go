package program

import (
	"context"
	"slices"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// selection is what the participant's rotation of round selects, or why
// they get none this round (every exercise passed already).
func (r *Reconciler) selection(ctx context.Context, s *pass, pt rotationsv1.Participant, round int32) (rotationsv1.ExerciseSelection, string, error) {
	spec := s.p.Spec
	switch spec.Selection.Policy {
	case rotationsv1.SelectPerRound:
		for _, rs := range spec.Selection.Rounds {
			if rs.Round == round {
				return rs.Exercises, "", nil
			}
		}
	case rotationsv1.SelectUnpassed:
		names, err := r.resolve(ctx, spec.Template.Exercises)
		if err != nil {
			return rotationsv1.ExerciseSelection{}, "", err
		}
		passed := passedBefore(s, pt.Name, round)
		var todo []rotationsv1.ExerciseName
		for _, n := range names {
			if !passed[string(n)] {
				todo = append(todo, n)
			}
		}
		if len(todo) == 0 {
			return rotationsv1.ExerciseSelection{}, "every exercise was passed in an earlier round", nil
		}
		return rotationsv1.ExerciseSelection{Names: todo}, "", nil
	}
	return spec.Template.Exercises, "", nil
}

// resolve turns a selection into exercise names, the tracks' exercises
// after the named ones, in name order.
func (r *Reconciler) resolve(ctx context.Context, sel rotationsv1.ExerciseSelection) ([]rotationsv1.ExerciseName, error) {
	names := slices.Clone(sel.Names)
	if len(sel.Tracks) == 0 {
		return names, nil
	}
	list := &rotationsv1.ExerciseList{}
	if err := r.Client.List(ctx, list); err != nil {
		return nil, err
	}
	var byTrack []rotationsv1.ExerciseName
	for _, ex := range list.Items {
		n := rotationsv1.ExerciseName(ex.Name)
		if slices.Contains(sel.Tracks, ex.Spec.Track) && !slices.Contains(names, n) {
			byTrack = append(byTrack, n)
		}
	}
	slices.Sort(byTrack)
	return append(names, byTrack...), nil
}

// passedBefore: the exercises the participant passed in rounds before round.
func passedBefore(s *pass, participant rotationsv1.ParticipantName, round int32) map[string]bool {
	out := map[string]bool{}
	for _, lr := range s.rotations {
		if lr.Labels[rotationsv1.LabelParticipant] != string(participant) || roundOf(&lr) >= round {
			continue
		}
		for _, e := range lr.Status.Exercises {
			if e.FirstPassedAt != nil {
				out[e.Name] = true
			}
		}
	}
	return out
}
