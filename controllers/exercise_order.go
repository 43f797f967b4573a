package controllers

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// exerciseOrder resolves the selected exercises' spec.after within the
// rotation: each exercise's prerequisites among the selected ones. Names of
// Exercises that exist but are not selected are left out (the rotation does
// not teach them); names of no Exercise, and edges that close a cycle, are
// left out too and reported, so a mistake in the catalog never locks an
// exercise for good.
func exerciseOrder(selected []*rotationsv1.Exercise, all []rotationsv1.Exercise) (after map[string][]string, problems []string) {
	exists := make(map[string]bool, len(all))
	for i := range all {
		exists[all[i].Name] = true
	}
	inRotation := make(map[string]bool, len(selected))
	for _, ex := range selected {
		inRotation[ex.Name] = true
	}
	after = map[string][]string{}
	for _, ex := range selected {
		for _, name := range ex.Spec.After {
			switch {
			case !exists[name]:
				problems = append(problems, fmt.Sprintf("%s comes after %s, which is no Exercise", ex.Name, name))
			case inRotation[name] && name != ex.Name:
				after[ex.Name] = append(after[ex.Name], name)
			}
		}
	}
	// Drop every edge that closes a cycle, in name order so the report is stable.
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		kept := after[n][:0:0]
		for _, prereq := range after[n] {
			if path := afterPath(after, prereq, n); path != nil {
				problems = append(problems, fmt.Sprintf("after: cycle %s", strings.Join(append([]string{n}, path...), " → ")))
				continue
			}
			kept = append(kept, prereq)
		}
		after[n] = kept
	}
	return after, problems
}

// afterPath is a chain of after edges from "from" to "to" (from first), or nil.
func afterPath(after map[string][]string, from, to string) []string {
	seen := map[string]bool{}
	var walk func(n string) []string
	walk = func(n string) []string {
		if n == to {
			return []string{n}
		}
		if seen[n] {
			return nil
		}
		seen[n] = true
		for _, next := range after[n] {
			if p := walk(next); p != nil {
				return append([]string{n}, p...)
			}
		}
		return nil
	}
	return walk(from)
}

// lockedBy lists the prerequisites of an exercise that have not passed yet;
// an exercise that passed once is never locked again.
func lockedBy(prereqs []string, res rotationsv1.ExerciseResult, passed map[string]bool) []string {
	if res.FirstPassedAt != nil {
		return nil
	}
	var out []string
	for _, p := range prereqs {
		if !passed[p] {
			out = append(out, p)
		}
	}
	return out
}

// lockedResult is an exercise waiting for its prerequisites: not graded,
// its instructions already in the lab.
func lockedResult(prev rotationsv1.ExerciseResult, sel selectedExercise, blockers []string) rotationsv1.ExerciseResult {
	next := *prev.DeepCopy()
	next.State = rotationsv1.ExerciseLocked
	next.LockedBy = slices.Clone(blockers)
	if sel.program != nil {
		next.MaxPoints = sel.program.MaxPoints
	}
	return next
}

// gradingOrder puts every exercise after its prerequisites (stable
// otherwise), so one pass can unlock and grade a chain.
func gradingOrder(exercises []selectedExercise) []selectedExercise {
	placed := map[string]bool{}
	out := make([]selectedExercise, 0, len(exercises))
	for len(out) < len(exercises) {
		progress := false
		for _, sel := range exercises {
			if placed[sel.ex.Name] {
				continue
			}
			ready := true
			for _, p := range sel.after {
				if !placed[p] {
					ready = false
				}
			}
			if ready {
				placed[sel.ex.Name] = true
				out = append(out, sel)
				progress = true
			}
		}
		if !progress { // cannot happen: cycles were cut; keep the rest as is
			for _, sel := range exercises {
				if !placed[sel.ex.Name] {
					placed[sel.ex.Name] = true
					out = append(out, sel)
				}
			}
		}
	}
	return out
}
