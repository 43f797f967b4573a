package integration_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// t0 is the programs' start: a Monday, 09:00 UTC.
var t0 = time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)

func participant(name, user string, mentors ...string) rotationsv1.Participant {
	p := rotationsv1.Participant{Name: rotationsv1.ParticipantName(name),
		Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: user}}}
	for _, m := range mentors {
		p.Mentors = append(p.Mentors, rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: m})
	}
	return p
}

// dailyProgram runs rounds every 24h from t0, each rotation lasting 24h.
func dailyProgram(name string, rounds int32, exercises []string, participants ...rotationsv1.Participant) *rotationsv1.RotationProgram {
	var names []rotationsv1.ExerciseName
	for _, e := range exercises {
		names = append(names, rotationsv1.ExerciseName(e))
	}
	return &rotationsv1.RotationProgram{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.RotationProgramSpec{
			Template: rotationsv1.RotationTemplate{
				Exercises: rotationsv1.ExerciseSelection{Names: names},
				Duration:  &metav1.Duration{Duration: 24 * time.Hour},
				Mentors:   []rotationsv1.Subject{{Kind: rotationsv1.UserKind, Name: "lead@example.com"}},
			},
			Participants: participants,
			Cadence: rotationsv1.Cadence{Interval: &metav1.Duration{Duration: 24 * time.Hour},
				Start: &metav1.Time{Time: t0}, Rounds: ptr.To(rounds)},
		},
	}
}

func createProgram(t *testing.T, p *rotationsv1.RotationProgram) *rotationsv1.RotationProgram {
	t.Helper()
	if err := admin.Create(context.Background(), p); err != nil {
		t.Fatalf("creating program %s: %v", p.Name, err)
	}
	t.Cleanup(func() {
		_ = admin.Delete(context.Background(), p)
		// Not waiting for garbage collection: delete the rotations too.
		_ = admin.DeleteAllOf(context.Background(), &rotationsv1.LearningRotation{}, client.MatchingLabels{rotationsv1.LabelProgram: p.Name})
	})
	return p
}

// waitProgram waits until ok holds for the program and returns it.
func waitProgram(t *testing.T, name string, what string, ok func(p *rotationsv1.RotationProgram) bool) *rotationsv1.RotationProgram {
	t.Helper()
	p := &rotationsv1.RotationProgram{}
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		if !ok(p) {
			return fmt.Errorf("program %s: waiting for %s; status %+v", name, what, p.Status)
		}
		return nil
	})
	return p
}

func rotationsOf(t *testing.T, program string) []rotationsv1.LearningRotation {
	t.Helper()
	list := &rotationsv1.LearningRotationList{}
	if err := admin.List(context.Background(), list, client.MatchingLabels{rotationsv1.LabelProgram: program}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b rotationsv1.LearningRotation) int {
		if c := a.Labels[rotationsv1.LabelRound]; c != b.Labels[rotationsv1.LabelRound] {
			if c < b.Labels[rotationsv1.LabelRound] {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return list.Items
}

func names(lrs []rotationsv1.LearningRotation) []string {
	out := make([]string, 0, len(lrs))
	for _, lr := range lrs {
		out = append(out, lr.Name)
	}
	return out
}

func getRotation(t *testing.T, name string) *rotationsv1.LearningRotation {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: name}, lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

// setRotationStatus writes a rotation's status as the rotation controller would.
func setRotationStatus(t *testing.T, name string, mutate func(st *rotationsv1.LearningRotationStatus)) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		mutate(&lr.Status)
		return admin.Status().Update(ctx, lr)
	})
}

func passed(name string, minutes, estimate int32, at time.Time) rotationsv1.ExerciseResult {
	return rotationsv1.ExerciseResult{Name: name, Track: rotationsv1.TrackKubernetes, State: rotationsv1.ExercisePassed,
		Points: 10, BestPoints: 10, MaxPoints: 10, MinutesToPass: minutes, EstimatedMinutes: estimate,
		StartedAt: &metav1.Time{Time: at.Add(-time.Duration(minutes) * time.Minute)}, FirstPassedAt: &metav1.Time{Time: at}}
}

func inProgress(name string, estimate int32) rotationsv1.ExerciseResult {
	return rotationsv1.ExerciseResult{Name: name, Track: rotationsv1.TrackKubernetes, State: rotationsv1.ExerciseInProgress,
		MaxPoints: 10, EstimatedMinutes: estimate}
}

func completed(st *rotationsv1.LearningRotationStatus) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: rotationsv1.ConditionCompleted, Status: metav1.ConditionTrue,
		Reason: rotationsv1.ReasonAllPassed, Message: "all passed"})
}

func participantStatus(p *rotationsv1.RotationProgram, name string) rotationsv1.ParticipantStatus {
	for _, ps := range p.Status.Participants {
		if string(ps.Name) == name {
			return ps
		}
	}
	return rotationsv1.ParticipantStatus{}
}

func roundStatus(p *rotationsv1.RotationProgram, round int32) *rotationsv1.RoundStatus {
	for i := range p.Status.Rounds {
		if p.Status.Rounds[i].Round == round {
			return &p.Status.Rounds[i]
		}
	}
	return nil
}

func patchProgram(t *testing.T, name string, mutate func(p *rotationsv1.RotationProgram)) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		p := &rotationsv1.RotationProgram{}
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		mutate(p)
		return admin.Update(ctx, p)
	})
}
