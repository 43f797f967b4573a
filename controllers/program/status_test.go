package program

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

func testProgram() *rotationsv1.RotationProgram {
	return &rotationsv1.RotationProgram{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3},
		Spec: rotationsv1.RotationProgramSpec{
			Participants: []rotationsv1.Participant{{Name: "alice", Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: "alice@example.com"}}}},
			Cadence:      rotationsv1.Cadence{Interval: &metav1.Duration{Duration: 24 * time.Hour}, Start: &metav1.Time{Time: monday}, Rounds: ptr.To[int32](2)},
		},
	}
}

// The phase and Ready from readyTable, first rule that applies.
func TestDecideStatusPhases(t *testing.T) {
	good, _ := readCadence(testProgram().Spec.Cadence, monday)
	for _, tc := range []struct {
		name    string
		mutate  func(p *rotationsv1.RotationProgram, f *findings)
		err     error
		phase   rotationsv1.ProgramPhase
		ready   metav1.ConditionStatus
		reason  string
		nextSet bool
	}{
		{"before the first round", func(*rotationsv1.RotationProgram, *findings) {}, nil, rotationsv1.ProgramScheduled, "True", rotationsv1.ReasonScheduled, true},
		{"running", func(p *rotationsv1.RotationProgram, _ *findings) {
			p.Status.Round, p.Status.Rounds = 1, []rotationsv1.RoundStatus{{Round: 1, ScheduledAt: metav1.NewTime(monday)}}
		}, nil, rotationsv1.ProgramRunning, "True", ReasonRunning, true},
		{"suspended", func(p *rotationsv1.RotationProgram, _ *findings) { p.Spec.Suspend = true }, nil, rotationsv1.ProgramSuspended, "True", rotationsv1.ReasonSuspendedBySpec, true},
		{"finished", func(p *rotationsv1.RotationProgram, _ *findings) {
			p.Status.Round, p.Status.Rounds = 2, []rotationsv1.RoundStatus{{Round: 2, ScheduledAt: metav1.NewTime(monday.Add(24 * time.Hour))}}
		}, nil, rotationsv1.ProgramFinished, "True", ReasonAllRoundsStarted, false},
		{"cron never fires", func(_ *rotationsv1.RotationProgram, f *findings) {
			f.cadence, f.cadenceErr = nil, errors.Join(errNeverFires)
		}, nil, rotationsv1.ProgramFailed, "False", ReasonNeverFires, false},
		{"sink secret missing", func(p *rotationsv1.RotationProgram, f *findings) {
			p.Spec.Notification = &rotationsv1.NotificationSink{}
			f.sinkErr = errors.New("secret x/y not found")
		}, nil, rotationsv1.ProgramScheduled, "False", ReasonSinkInvalid, true},
		{"pass error keeps the phase", func(p *rotationsv1.RotationProgram, _ *findings) { p.Status.Phase = rotationsv1.ProgramRunning },
			errors.New("apiserver down"), rotationsv1.ProgramRunning, "False", ReasonReconcileError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProgram()
			f := &findings{cadence: good, cohort: true}
			tc.mutate(p, f)
			decideStatus(view{p: p, found: f, err: tc.err, now: monday.Add(time.Hour)})
			ready := meta.FindStatusCondition(p.Status.Conditions, rotationsv1.ConditionReady)
			if p.Status.Phase != tc.phase || ready.Status != tc.ready || ready.Reason != tc.reason {
				t.Errorf("phase %s, Ready %s/%s (%s); want %s, %s/%s", p.Status.Phase, ready.Status, ready.Reason, ready.Message, tc.phase, tc.ready, tc.reason)
			}
			if (p.Status.NextRoundAt != nil) != tc.nextSet {
				t.Errorf("nextRoundAt %v", p.Status.NextRoundAt)
			}
			if (tc.err == nil) != (p.Status.ObservedGeneration == 3) {
				t.Errorf("observedGeneration %d after err %v", p.Status.ObservedGeneration, tc.err)
			}
		})
	}
}

// Notifications come from base vs new participant status, once; a new
// round's rotation starts from nothing.
func TestParticipantNotifications(t *testing.T) {
	base, now := testProgram(), testProgram()
	help := metav1.NewTime(monday)
	base.Status.Participants = []rotationsv1.ParticipantStatus{{Name: "alice", Rotation: "p-alice-r1", Round: 1, Passed: []string{"a"}, HelpRequestedAt: &help}}
	now.Status.Participants = []rotationsv1.ParticipantStatus{{Name: "alice", Rotation: "p-alice-r1", Round: 1, Passed: []string{"a", "b"},
		Overrun: []string{"c"}, Regressed: []string{"a"}, Completed: true}}
	_, notes := transitions(change{base: base, p: now, found: &findings{cohort: true}, now: monday})
	var got []string
	for _, n := range notes {
		got = append(got, n.Type+":"+n.Exercise)
	}
	want := []string{notify.HelpAcknowledged + ":", notify.ExercisePassed + ":b", notify.ExerciseRegress + ":a", notify.ExerciseOverrun + ":c", notify.RotationComplete + ":"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, again := transitions(change{base: now, p: now.DeepCopy(), found: &findings{cohort: true}, now: monday}); len(again) != 0 {
		t.Errorf("an unchanged status announced %v", again)
	}
	next := now.DeepCopy()
	next.Status.Participants[0] = rotationsv1.ParticipantStatus{Name: "alice", Rotation: "p-alice-r2", Round: 2, Passed: []string{"b"}}
	if _, notes := transitions(change{base: now, p: next, found: &findings{cohort: true}, now: monday}); len(notes) != 1 || notes[0].Exercise != "b" {
		t.Errorf("round 2's first pass: %+v", notes)
	}
}

func TestPerRoundSelectionAndBusyLearner(t *testing.T) {
	p := testProgram()
	p.Spec.Template.Exercises.Names = []rotationsv1.ExerciseName{"a", "b"}
	p.Spec.Selection = rotationsv1.Selection{Policy: rotationsv1.SelectPerRound,
		Rounds: []rotationsv1.RoundSelection{{Round: 2, Exercises: rotationsv1.ExerciseSelection{Names: []rotationsv1.ExerciseName{"c"}}}}}
	r := &Reconciler{}
	s := &pass{p: p}
	for round, want := range map[int32][]rotationsv1.ExerciseName{1: {"a", "b"}, 2: {"c"}} {
		sel, why, err := r.selection(context.Background(), s, p.Spec.Participants[0], round)
		if err != nil || why != "" || !slices.Equal(sel.Names, want) {
			t.Errorf("round %d: %v %q %v, want %v", round, sel.Names, why, err, want)
		}
	}

	lr := newRotation(p, p.Spec.Participants[0], 1, monday, rotationsv1.ExerciseSelection{})
	lr.Spec.Schedule.Duration = &metav1.Duration{Duration: 48 * time.Hour}
	s.rotations = []rotationsv1.LearningRotation{*lr}
	if got := activeRotation(s, p.Spec.Participants[0], monday.Add(24*time.Hour)); got != "p-alice-r1" {
		t.Errorf("a 48h rotation a day in is not running: %q", got)
	}
	if got := activeRotation(s, p.Spec.Participants[0], monday.Add(48*time.Hour)); got != "" {
		t.Errorf("a rotation at its end still counts as running: %q", got)
	}
	s.rotations[0].Status.Phase = rotationsv1.PhaseExpired
	if got := activeRotation(s, p.Spec.Participants[0], monday.Add(time.Hour)); got != "" {
		t.Errorf("an expired rotation counts as running: %q", got)
	}
}
