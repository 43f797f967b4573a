package controllers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func exAfter(name string, after ...string) rotationsv1.Exercise {
	return rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rotationsv1.ExerciseSpec{After: after}}
}

func TestExerciseOrder(t *testing.T) {
	all := []rotationsv1.Exercise{
		exAfter("a"), exAfter("b", "a"), exAfter("c", "b", "ghost"), exAfter("d", "e"), exAfter("e", "d"), exAfter("f", "unselected"), exAfter("unselected"),
	}
	var selected []*rotationsv1.Exercise
	for i := range all[:6] {
		selected = append(selected, &all[i])
	}
	after, problems := exerciseOrder(selected, all)
	if got := after["b"]; len(got) != 1 || got[0] != "a" {
		t.Errorf("b after %v", got)
	}
	if got := after["c"]; len(got) != 1 || got[0] != "b" {
		t.Errorf("c after %v: the unknown name is left out", got)
	}
	if len(after["f"]) != 0 {
		t.Errorf("f after %v: an unselected exercise does not lock", after["f"])
	}
	if len(after["d"])+len(after["e"]) != 1 {
		t.Errorf("d after %v, e after %v: one edge of the cycle is cut", after["d"], after["e"])
	}
	joined := strings.Join(problems, "; ")
	for _, want := range []string{"c comes after ghost, which is no Exercise", "after: cycle d → e → d"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q lack %q", joined, want)
		}
	}

	order := gradingOrder([]selectedExercise{{ex: &all[2], after: after["c"]}, {ex: &all[1], after: after["b"]}, {ex: &all[0]}})
	var names []string
	for _, s := range order {
		names = append(names, s.ex.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("grading order %v, want prerequisites first", names)
	}
}

func TestLockedBy(t *testing.T) {
	passed := map[string]bool{"a": true}
	if got := lockedBy([]string{"a", "b"}, rotationsv1.ExerciseResult{}, passed); len(got) != 1 || got[0] != "b" {
		t.Errorf("lockedBy = %v, want b", got)
	}
	passedOnce := rotationsv1.ExerciseResult{FirstPassedAt: &metav1.Time{}}
	if got := lockedBy([]string{"b"}, passedOnce, passed); got != nil {
		t.Errorf("an exercise that passed is locked again by %v", got)
	}
}
