package grading

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Transition is what changed for the learner in one grading.
type Transition string

const (
	// NoTransition means nothing changed for the learner.
	NoTransition Transition = ""
	// TransitionPassed means every check passes and did not before.
	TransitionPassed Transition = "ExercisePassed"
	// TransitionRegressed means the exercise passed before and a change broke it.
	TransitionRegressed Transition = "ExerciseRegressed"
)

// Advance folds a new grading into an exercise's result. prev is the last
// recorded result (zero for a new exercise), factsHash identifies the
// learner's side of the facts just graded (see HashFacts). The first grading
// is the baseline: only later changes count as the learner's attempts.
func Advance(prev rotationsv1.ExerciseResult, res Result, factsHash string, hints []rotationsv1.Hint, now time.Time) (rotationsv1.ExerciseResult, Transition) {
	next := *prev.DeepCopy()
	next.Checks = res.Checks
	next.Points = res.Points
	next.MaxPoints = res.MaxPoints
	stamp := metav1.NewTime(now.UTC().Truncate(time.Second))

	changed := prev.FactsHash != "" && prev.FactsHash != factsHash
	if changed {
		next.Attempts++
		if !res.Passed {
			next.FailedAttempts++
		}
		if next.StartedAt == nil {
			next.StartedAt = &stamp
		}
	}
	if prev.FactsHash != factsHash || next.LastGradedAt == nil {
		next.LastGradedAt = &stamp
	}
	next.FactsHash = factsHash
	// Checks that pass on the starter alone do not start the exercise: only
	// the learner's changes (or passing outright) do.
	if res.Passed && next.StartedAt == nil {
		next.StartedAt = &stamp
	}

	transition := NoTransition
	switch {
	case res.Passed:
		next.State = rotationsv1.ExercisePassed
		if next.FirstPassedAt == nil {
			next.FirstPassedAt = &stamp
		}
		if prev.State != rotationsv1.ExercisePassed {
			transition = TransitionPassed
		}
	case prev.FirstPassedAt != nil && !startedOver(prev):
		// Credit earned stays in BestPoints; the state tells the mentor it broke.
		next.State = rotationsv1.ExerciseFailed
		if prev.State == rotationsv1.ExercisePassed {
			transition = TransitionRegressed
		}
	case next.StartedAt != nil:
		next.State = rotationsv1.ExerciseInProgress
	default:
		next.State = rotationsv1.ExerciseNotStarted
	}
	// Credit counts from the learner's first change: checks the starter
	// already satisfies are not earned by doing nothing.
	if next.StartedAt != nil && res.Points > next.BestPoints {
		next.BestPoints = res.Points
	}
	next.HintsUnlocked, next.Hint = unlockedHints(hints, res.HintsMet, next, now)
	// A hint unlocked by its condition stays unlocked when the mistake is
	// fixed: the learner keeps what they were shown.
	if prev.HintsUnlocked > next.HintsUnlocked && int(prev.HintsUnlocked) <= len(hints) {
		next.HintsUnlocked, next.Hint = prev.HintsUnlocked, hints[prev.HintsUnlocked-1].Text
	}
	return next, transition
}

// startedOver tells a result that passed once and was then reset (its
// state set back to NotStarted or InProgress): until it passes again,
// failing checks are the work ahead, not a regression.
func startedOver(r rotationsv1.ExerciseResult) bool {
	return r.State == rotationsv1.ExerciseNotStarted || r.State == rotationsv1.ExerciseInProgress
}

// unlockedHints counts the hints unlocked so far, in order: a hint unlocks
// after its minutes in the exercise, its failed attempts, or while its When
// condition holds (met[i]), whichever comes first; a hint with none is
// available at once. A later hint never unlocks before an earlier one.
func unlockedHints(hints []rotationsv1.Hint, met []bool, r rotationsv1.ExerciseResult, now time.Time) (int32, string) {
	var n int32
	text := ""
	for i, h := range hints {
		if !hintUnlocked(h, i < len(met) && met[i], r, now) {
			break
		}
		n++
		text = h.Text
	}
	return n, text
}

func hintUnlocked(h rotationsv1.Hint, met bool, r rotationsv1.ExerciseResult, now time.Time) bool {
	if met {
		return true
	}
	if h.AfterMinutes == nil && h.AfterFailedAttempts == nil && h.When == "" {
		return true
	}
	if h.AfterFailedAttempts != nil && r.FailedAttempts >= *h.AfterFailedAttempts {
		return true
	}
	if h.AfterMinutes != nil && r.StartedAt != nil &&
		now.Sub(r.StartedAt.Time) >= time.Duration(*h.AfterMinutes)*time.Minute {
		return true
	}
	return false
}

// NextHintAt is when the next time-locked hint unlocks, or zero if none will
// by time alone; the controller requeues for it.
func NextHintAt(hints []rotationsv1.Hint, r rotationsv1.ExerciseResult) time.Time {
	if int(r.HintsUnlocked) >= len(hints) || r.StartedAt == nil {
		return time.Time{}
	}
	h := hints[r.HintsUnlocked]
	if h.AfterMinutes == nil {
		return time.Time{}
	}
	return r.StartedAt.Add(time.Duration(*h.AfterMinutes) * time.Minute)
}
