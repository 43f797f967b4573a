package integration_test

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Three daily rounds for two participants, suspended over the second
// round's time: the second round starts on resume, at its cadence time,
// the third on time, and nothing after.
func TestThreeRoundsWithSuspension(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	startOperator(t, clk)
	exercises := []string{"scale-and-expose", "rolling-update"}
	p := createProgram(t, dailyProgram("cohort", 3, exercises,
		participant("alice", "alice@example.com", "carol@example.com"), participant("bob", "bob@example.com")))

	waitProgram(t, p.Name, "round 1", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 1 })
	got := rotationsOf(t, p.Name)
	if want := []string{"cohort-alice-r1", "cohort-bob-r1"}; !slices.Equal(names(got), want) {
		t.Fatalf("round 1 rotations %v, want %v", names(got), want)
	}
	live := waitProgram(t, p.Name, "uid", func(*rotationsv1.RotationProgram) bool { return true })
	for _, lr := range got {
		owner := metav1.GetControllerOf(&lr)
		if owner == nil || owner.UID != live.UID || owner.Kind != "RotationProgram" {
			t.Errorf("%s: controller %+v, want the program %s", lr.Name, owner, live.UID)
		}
		if !slices.Equal(lr.Spec.Exercises.Names, []rotationsv1.ExerciseName{"scale-and-expose", "rolling-update"}) {
			t.Errorf("%s selects %v", lr.Name, lr.Spec.Exercises.Names)
		}
		if !lr.Spec.Schedule.Start.Time.Equal(t0) || lr.Spec.Schedule.Duration.Duration != 24*time.Hour {
			t.Errorf("%s schedule %+v, want start %s for 24h", lr.Name, lr.Spec.Schedule, t0)
		}
		if lr.Labels[rotationsv1.LabelRound] != "1" {
			t.Errorf("%s labels %v", lr.Name, lr.Labels)
		}
	}
	alice := getRotation(t, "cohort-alice-r1")
	if alice.Spec.Learner.Name != "alice@example.com" || len(alice.Spec.Mentors) != 2 || alice.Spec.Mentors[1].Name != "carol@example.com" {
		t.Errorf("alice's rotation: learner %s, mentors %v", alice.Spec.Learner.Name, alice.Spec.Mentors)
	}

	// Progress of round 1, as the rotation controller reports it.
	setRotationStatus(t, "cohort-alice-r1", func(st *rotationsv1.LearningRotationStatus) {
		st.Phase, st.Score, st.MaxScore, st.Progress = rotationsv1.PhaseActive, 10, 20, "1/2"
		st.Exercises = []rotationsv1.ExerciseResult{passed("scale-and-expose", 12, 20, t0.Add(time.Hour)), inProgress("rolling-update", 15)}
		st.HelpRequest = &rotationsv1.HelpRequestStatus{Message: "stuck", RequestedAt: metav1.NewTime(t0.Add(2 * time.Hour))}
	})
	setRotationStatus(t, "cohort-bob-r1", func(st *rotationsv1.LearningRotationStatus) {
		st.Phase, st.Score, st.MaxScore, st.Progress = rotationsv1.PhaseActive, 20, 20, "2/2"
		st.Exercises = []rotationsv1.ExerciseResult{passed("scale-and-expose", 30, 20, t0.Add(time.Hour)), passed("rolling-update", 40, 15, t0.Add(2*time.Hour))}
		completed(st)
	})
	cohort := waitProgram(t, p.Name, "round 1 cohort status", func(p *rotationsv1.RotationProgram) bool {
		r := roundStatus(p, 1)
		return r != nil && r.Completed == 1 && participantStatus(p, "alice").HelpRequestedAt != nil
	})
	a, b := participantStatus(cohort, "alice"), participantStatus(cohort, "bob")
	if a.Round != 1 || a.Rotation != "cohort-alice-r1" || a.Score != 10 || a.MaxScore != 20 || a.Progress != "1/2" || a.Completed ||
		!slices.Equal(a.Passed, []string{"scale-and-expose"}) {
		t.Errorf("alice: %+v", a)
	}
	if !b.Completed || b.Score != 20 || b.HelpRequestedAt != nil {
		t.Errorf("bob: %+v", b)
	}
	r1 := roundStatus(cohort, 1)
	if r1.Rotations != 2 || r1.CompletionPercent != 50 || len(r1.Exercises) != 2 {
		t.Fatalf("round 1: %+v", r1)
	}
	// Exercises in name order; the median is the lower middle.
	if e := r1.Exercises[0]; e.Name != "rolling-update" || e.Passed != 1 || e.Selected != 2 || e.MedianMinutesToPass != 40 {
		t.Errorf("rolling-update in round 1: %+v", e)
	}
	if e := r1.Exercises[1]; e.Name != "scale-and-expose" || e.Passed != 2 || e.Selected != 2 || e.MedianMinutesToPass != 12 {
		t.Errorf("scale-and-expose in round 1: %+v", e)
	}
	if cohort.Status.NextRoundAt == nil || !cohort.Status.NextRoundAt.Time.Equal(t0.Add(24*time.Hour)) || cohort.Status.Phase != rotationsv1.ProgramRunning {
		t.Errorf("next round at %v, phase %s", cohort.Status.NextRoundAt, cohort.Status.Phase)
	}

	// Suspended over round 2's time: nothing starts. The template changes
	// meanwhile: for the rounds to come only.
	patchProgram(t, p.Name, func(p *rotationsv1.RotationProgram) {
		p.Spec.Suspend = true
		p.Spec.Template.Exercises.Names = append(p.Spec.Template.Exercises.Names, "ingress-basics")
	})
	waitProgram(t, p.Name, "Suspended", func(p *rotationsv1.RotationProgram) bool { return p.Status.Phase == rotationsv1.ProgramSuspended })
	clk.SetTime(t0.Add(24 * time.Hour))
	waitProgram(t, p.Name, "a pass at day 2", func(p *rotationsv1.RotationProgram) bool {
		return p.Status.NextRoundAt != nil && p.Status.NextRoundAt.Time.Equal(t0.Add(48*time.Hour))
	})
	clk.SetTime(t0.Add(49 * time.Hour))
	waitProgram(t, p.Name, "a pass at day 3", func(p *rotationsv1.RotationProgram) bool {
		return p.Status.NextRoundAt != nil && p.Status.NextRoundAt.Time.Equal(t0.Add(72*time.Hour))
	})
	if got := rotationsOf(t, p.Name); len(got) != 2 {
		t.Fatalf("suspended program created rotations: %v", names(got))
	}

	// Resumed an hour after the 48h cadence time: round 2 starts at once,
	// for the latest time passed; the 24h one is skipped.
	patchProgram(t, p.Name, func(p *rotationsv1.RotationProgram) { p.Spec.Suspend = false })
	resumed := waitProgram(t, p.Name, "round 2", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 2 })
	r2 := roundStatus(resumed, 2)
	if !r2.ScheduledAt.Time.Equal(t0.Add(48*time.Hour)) || !r2.StartedAt.Time.Equal(t0.Add(49*time.Hour)) {
		t.Errorf("round 2 scheduled %s, started %s", r2.ScheduledAt, r2.StartedAt)
	}
	if got := names(rotationsOf(t, p.Name)); !slices.Equal(got, []string{"cohort-alice-r1", "cohort-bob-r1", "cohort-alice-r2", "cohort-bob-r2"}) {
		t.Fatalf("after resume: %v", got)
	}
	if lr := getRotation(t, "cohort-bob-r2"); !lr.Spec.Schedule.Start.Time.Equal(t0.Add(48 * time.Hour)) {
		t.Errorf("round 2 rotation starts at %s, want its cadence time", lr.Spec.Schedule.Start)
	}
	if got := getRotation(t, "cohort-bob-r2").Spec.Exercises.Names; len(got) != 3 || got[2] != "ingress-basics" {
		t.Errorf("round 2 selects %v, want the edited template's three exercises", got)
	}
	if got := getRotation(t, "cohort-bob-r1").Spec.Exercises.Names; len(got) != 2 {
		t.Errorf("round 1 was changed by the template edit: %v", got)
	}
	if a := participantStatus(resumed, "alice"); a.Round != 2 || a.Rotation != "cohort-alice-r2" || a.HelpRequestedAt != nil || len(a.Passed) != 0 {
		t.Errorf("alice after round 2 started: %+v", a)
	}

	// Round 3 on time, then the program is finished.
	clk.SetTime(t0.Add(72 * time.Hour))
	done := waitProgram(t, p.Name, "round 3 and Finished", func(p *rotationsv1.RotationProgram) bool {
		return p.Status.Round == 3 && p.Status.Phase == rotationsv1.ProgramFinished
	})
	if done.Status.NextRoundAt != nil || !meta.IsStatusConditionTrue(done.Status.Conditions, rotationsv1.ConditionFinished) {
		t.Errorf("finished program: next %v, conditions %+v", done.Status.NextRoundAt, done.Status.Conditions)
	}
	clk.SetTime(t0.Add(96 * time.Hour))
	time.Sleep(time.Second) // several resync passes
	if got := names(rotationsOf(t, p.Name)); len(got) != 6 || got[4] != "cohort-alice-r3" || got[5] != "cohort-bob-r3" {
		t.Fatalf("rotations after the last round: %v", got)
	}
}

// A round selecting only what the participant has not passed: passing
// once counts even if the exercise broke later; a participant with
// nothing left gets no rotation, and the status says why.
func TestUnpassedSelection(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	startOperator(t, clk)
	prog := dailyProgram("retry", 2, []string{"ex-a", "ex-b", "ex-c"},
		participant("alice", "alice@example.com"), participant("bob", "bob@example.com"), participant("carol", "carol@example.com"))
	prog.Spec.Selection.Policy = rotationsv1.SelectUnpassed
	p := createProgram(t, prog)
	waitProgram(t, p.Name, "round 1", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 1 })

	setRotationStatus(t, "retry-alice-r1", func(st *rotationsv1.LearningRotationStatus) {
		broke := passed("ex-b", 5, 10, t0.Add(time.Hour))
		broke.State = rotationsv1.ExerciseFailed
		st.Exercises = []rotationsv1.ExerciseResult{passed("ex-a", 5, 10, t0.Add(time.Hour)), broke, inProgress("ex-c", 10)}
	})
	setRotationStatus(t, "retry-carol-r1", func(st *rotationsv1.LearningRotationStatus) {
		st.Exercises = []rotationsv1.ExerciseResult{passed("ex-a", 5, 10, t0), passed("ex-b", 5, 10, t0), passed("ex-c", 5, 10, t0)}
		completed(st)
	})
	waitProgram(t, p.Name, "alice's and carol's progress", func(p *rotationsv1.RotationProgram) bool {
		return len(participantStatus(p, "alice").Passed) == 2 && participantStatus(p, "carol").Completed
	})
	clk.SetTime(t0.Add(24 * time.Hour))
	p2 := waitProgram(t, p.Name, "round 2", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 2 })

	if got := getRotation(t, "retry-alice-r2").Spec.Exercises.Names; !slices.Equal(got, []rotationsv1.ExerciseName{"ex-c"}) {
		t.Errorf("alice's round 2 selects %v, want only ex-c", got)
	}
	if got := getRotation(t, "retry-bob-r2").Spec.Exercises.Names; len(got) != 3 {
		t.Errorf("bob's round 2 selects %v, want all three", got)
	}
	if got := names(rotationsOf(t, p.Name)); slices.Contains(got, "retry-carol-r2") {
		t.Errorf("carol passed everything yet got a round 2 rotation: %v", got)
	}
	c := participantStatus(p2, "carol")
	if c.Round != 1 || c.Skipped == "" {
		t.Errorf("carol in round 2: %+v, want her round 1 and why she was skipped", c)
	}
	if r := roundStatus(p2, 2); r.Rotations != 2 {
		t.Errorf("round 2: %+v", r)
	}
}

// An operator restarted between rounds creates the next round once; a
// pass that created the rotations and died before its status write is
// finished by the next one without creating anything again.
func TestRestartBetweenRoundsCreatesNothingTwice(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	first := startOperator(t, clk)
	p := createProgram(t, dailyProgram("restart", 3, []string{"ex-a"}, participant("alice", "alice@example.com"), participant("bob", "bob@example.com")))
	waitProgram(t, p.Name, "round 1", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 1 })
	first.stop()

	clk.SetTime(t0.Add(24 * time.Hour))
	fault, failed := failStatusWrites(p.Name, 2)
	second := startOperator(t, clk, fault)
	waitProgram(t, p.Name, "round 2", func(p *rotationsv1.RotationProgram) bool { return p.Status.Round == 2 })
	if err := second.writes.WaitQuiet(time.Second, 20*time.Second); err != nil {
		t.Log(err)
	}
	creates := 0
	for _, w := range second.writes.Writes() {
		if w.Method == "POST" && w.Path == "/apis/rotations.handson.dev/v1alpha1/learningrotations" {
			creates++
		}
	}
	if failed.Load() < 2 {
		t.Errorf("only %d status writes were failed", failed.Load())
	}
	if creates != 2 {
		t.Errorf("the restarted operator sent %d rotation creates, want 2 (round 2 only): %v", creates, second.writes.Writes())
	}
	if got := names(rotationsOf(t, p.Name)); !slices.Equal(got, []string{"restart-alice-r1", "restart-bob-r1", "restart-alice-r2", "restart-bob-r2"}) {
		t.Errorf("rotations: %v", got)
	}
	final := waitProgram(t, p.Name, "round 2 recorded", func(p *rotationsv1.RotationProgram) bool { return roundStatus(p, 2) != nil })
	if len(final.Status.Rounds) != 2 || !final.Status.Rounds[1].ScheduledAt.Time.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("rounds: %+v", final.Status.Rounds)
	}
}
