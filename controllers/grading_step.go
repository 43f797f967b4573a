package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// reconcileGrades collects the facts the selected exercises read, evaluates
// their checks and advances each exercise's result. Unchanged facts give an
// unchanged status, which the pass does not write.
func (r *LearningRotationReconciler) reconcileGrades(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	now := r.Clock.Now()
	vars, err := r.collectFacts(ctx, lr.Name, s.exercises)
	if err != nil {
		s.found.graded = observe(metav1.ConditionFalse, rotationsv1.ReasonGradingFailed, err.Error())
		return ctrl.Result{}, err
	}

	hasher := grading.NewFactHasher(vars)
	graded := make(map[string]rotationsv1.ExerciseResult, len(s.exercises))
	passed := map[string]bool{}
	for _, e := range lr.Status.Exercises {
		passed[e.Name] = e.FirstPassedAt != nil
	}
	var requeue time.Time
	var failed, pending []string
	// Prerequisites first, so an exercise unlocks in the pass its last
	// prerequisite passes.
	for _, sel := range gradingOrder(s.exercises) {
		prev := *s.result(sel.ex.Name)
		if blockers := lockedBy(sel.after, prev, passed); len(blockers) > 0 {
			next := lockedResult(prev, sel, blockers)
			next.Track = sel.ex.Spec.Track
			graded[sel.ex.Name] = next
			continue
		}
		prev.LockedBy = nil
		if s.resetPending[sel.ex.Name] || startersMissing(sel, prev) {
			// Graded once its starting point is in place: a baseline taken
			// without the starter objects would count their creation as the
			// learner's first attempt.
			prev.Track = sel.ex.Spec.Track
			graded[sel.ex.Name] = prev
			continue
		}
		var next rotationsv1.ExerciseResult
		if srcs := r.submissionSources(sel); len(srcs) > 0 {
			next, err = r.gradeSubmission(ctx, s, sel, prev, srcs, vars, now)
			switch {
			case errors.Is(err, ErrGradingPending):
				pending = append(pending, sel.ex.Name)
			case err != nil:
				failed = append(failed, err.Error())
			}
		} else {
			next = r.gradeOne(ctx, s, sel, prev, vars, hasher, "", now)
		}
		next.Name, next.Track = sel.ex.Name, sel.ex.Spec.Track
		next.LockedBy = nil
		graded[sel.ex.Name] = next
		passed[sel.ex.Name] = next.FirstPassedAt != nil
		if at := grading.NextHintAt(sel.ex.Spec.Hints, next); !at.IsZero() && (requeue.IsZero() || at.Before(requeue)) {
			requeue = at
		}
	}
	results := make([]rotationsv1.ExerciseResult, 0, len(s.exercises))
	for _, sel := range s.exercises {
		results = append(results, graded[sel.ex.Name])
	}
	lr.Status.Exercises = results
	summarizeScore(&lr.Status)
	if len(failed) > 0 {
		msg := strings.Join(failed, "; ")
		s.found.graded = observe(metav1.ConditionFalse, rotationsv1.ReasonGradingFailed, msg)
		return ctrl.Result{}, errors.New(msg)
	}
	msg := fmt.Sprintf("%d exercises graded", len(results))
	if len(pending) > 0 {
		msg = fmt.Sprintf("%d exercises graded; grading %s in progress", len(results)-len(pending), strings.Join(pending, ", "))
	}
	s.found.graded = observe(metav1.ConditionTrue, rotationsv1.ReasonGraded, msg)
	// The mentor's annotation or the learner's grade request (requests step).
	if v := s.gradeRequest; v != "" {
		lr.Status.GradeRequest = v
	}

	res := ctrl.Result{RequeueAfter: r.ResyncInterval}
	if !requeue.IsZero() {
		res = lowestRequeue(res, ctrl.Result{RequeueAfter: max(requeue.Sub(now), time.Second)})
	}
	if len(pending) > 0 {
		res = lowestRequeue(res, ctrl.Result{RequeueAfter: pendingPoll})
	}
	if s.starterErr != nil {
		return res, s.starterErr
	}
	return res, nil
}

// collectFacts runs the lab-wide sources the selected exercises read, for
// only the facts they read. Every lab-wide variable is present, empty when
// unused; sources that read a submission are collected per exercise.
func (r *LearningRotationReconciler) collectFacts(ctx context.Context, rotation string, exercises []selectedExercise) (map[string]any, error) {
	ns := lab.Namespace(rotation)
	vars := map[string]any{grading.VarLab: map[string]any{"namespace": ns, "rotation": rotation}}
	for _, src := range r.Sources {
		if src.ReadsSubmission() {
			continue
		}
		var facts []string
		for _, sel := range exercises {
			if sel.program == nil {
				continue
			}
			for _, f := range factsOf(src.Variable(), sel.program.Facts) {
				if !slices.Contains(facts, f) {
					facts = append(facts, f)
				}
			}
		}
		if len(facts) == 0 {
			vars[src.Variable()] = map[string]any{}
			continue
		}
		got, err := src.Collect(ctx, factsource.Request{Rotation: rotation, Namespace: ns, Facts: facts})
		if err != nil {
			return nil, err
		}
		vars[src.Variable()] = got
	}
	return vars, nil
}

// factsOf returns the names of variable's facts among a program's facts:
// "deployments" for "kube.deployments".
func factsOf(variable string, facts []string) []string {
	var out []string
	for _, f := range facts {
		if v, name, _ := strings.Cut(f, "."); v == variable {
			out = append(out, name)
		}
	}
	return out
}

// gradeOne grades one exercise and records its transition (notify.go announces it).
func (r *LearningRotationReconciler) gradeOne(ctx context.Context, s *rotationScope, sel selectedExercise,
	prev rotationsv1.ExerciseResult, vars map[string]any, hasher *grading.FactHasher, salt string, now time.Time) rotationsv1.ExerciseResult {
	if sel.compileErr != nil {
		// Keep what was earned; report why it cannot be graded now.
		next := *prev.DeepCopy()
		next.State = rotationsv1.ExerciseFailed
		next.Checks = []rotationsv1.CheckResult{{Name: "compile", Message: "the exercise cannot be graded: " + sel.compileErr.Error()}}
		next.Points = 0
		return next
	}
	result := sel.program.Evaluate(ctx, vars)
	// Attempts count only changes to what the checks read: a push of
	// hello:v1 is no attempt on an exercise that reads hello:v2.
	hash, err := hasher.Hash(sel.program.AttemptScope())
	if err != nil {
		hash = "unhashable:" + err.Error()
	}
	if salt != "" { // a new submission is a new attempt, even with equal facts
		hash = grading.Combine(hash, salt)
	}
	next, transition := grading.Advance(prev, result, hash, sel.ex.Spec.Hints, now)
	// notify.go warns the mentor when this appears or changes.
	next.HandWritten = sel.program.HandWritten(vars)
	s.found.recordGradeTransition(sel.ex.Name, transition)
	return next
}

// summarizeScore totals the exercises for the printer columns. Credit once
// earned counts: the score adds BestPoints and an exercise passed once stays
// completed, while its State shows a later regression.
func summarizeScore(st *rotationsv1.LearningRotationStatus) {
	st.Score, st.MaxScore, st.Completed = 0, 0, 0
	for _, e := range st.Exercises {
		st.Score += e.BestPoints
		st.MaxScore += e.MaxPoints
		if e.FirstPassedAt != nil {
			st.Completed++
		}
	}
	st.Total = int32(len(st.Exercises)) //nolint:gosec // G115: one entry per selected exercise, far below MaxInt32.
	st.Progress = fmt.Sprintf("%d/%d", st.Completed, st.Total)
}

// result returns the rotation's recorded result for an exercise, adding an
// empty one if there is none.
func (s *rotationScope) result(name string) *rotationsv1.ExerciseResult {
	for i := range s.lr.Status.Exercises {
		if s.lr.Status.Exercises[i].Name == name {
			return &s.lr.Status.Exercises[i]
		}
	}
	s.lr.Status.Exercises = append(s.lr.Status.Exercises, rotationsv1.ExerciseResult{Name: name, State: rotationsv1.ExerciseNotStarted})
	return &s.lr.Status.Exercises[len(s.lr.Status.Exercises)-1]
}
