package controllers

import (
	"context"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

type fixedInfrastructure []InfrastructureProblem

func (f fixedInfrastructure) Problems() []InfrastructureProblem { return f }

// A problem of one track (no CI/CD engine) reaches only rotations with
// exercises of that track, selected by track or found in the last pass;
// problems of every track reach every rotation.
func TestInfrastructureProblemsOfATrack(t *testing.T) {
	r := &LearningRotationReconciler{Infrastructure: fixedInfrastructure{
		{Reason: rotationsv1.ReasonRegistryUnavailable, Message: "no key"},
		{Reason: rotationsv1.ReasonCICDEngineNotInstalled, Message: "no Tekton", Track: rotationsv1.TrackCICD},
	}}
	for _, tt := range []struct {
		name string
		lr   rotationsv1.LearningRotation
		want []string
	}{
		{"kubernetes only", rotationsv1.LearningRotation{Spec: rotationsv1.LearningRotationSpec{
			Exercises: rotationsv1.ExerciseSelection{Tracks: []rotationsv1.Track{rotationsv1.TrackKubernetes}}}},
			[]string{rotationsv1.ReasonRegistryUnavailable}},
		{"the cicd track", rotationsv1.LearningRotation{Spec: rotationsv1.LearningRotationSpec{
			Exercises: rotationsv1.ExerciseSelection{Tracks: []rotationsv1.Track{rotationsv1.TrackCICD}}}},
			[]string{rotationsv1.ReasonRegistryUnavailable, rotationsv1.ReasonCICDEngineNotInstalled}},
		{"a cicd exercise by name", rotationsv1.LearningRotation{
			Spec:   rotationsv1.LearningRotationSpec{Exercises: rotationsv1.ExerciseSelection{Names: []rotationsv1.ExerciseName{"cicd-gate"}}},
			Status: rotationsv1.LearningRotationStatus{Exercises: []rotationsv1.ExerciseResult{{Name: "cicd-gate", Track: rotationsv1.TrackCICD}}}},
			[]string{rotationsv1.ReasonRegistryUnavailable, rotationsv1.ReasonCICDEngineNotInstalled}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &rotationScope{lr: &tt.lr}
			if _, err := r.reconcileInfrastructure(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problemsOf(s.lr, s.found.infrastructure.problems) {
				got = append(got, p.Reason)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[len(got)-1] != tt.want[len(tt.want)-1]) {
				t.Errorf("problems %v, want %v", got, tt.want)
			}
		})
	}
}
