package plugin

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// updateGolden rewrites testdata/program-*.golden: go test ./internal/plugin -run Program -update-golden
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/*.golden with the current output")

var day0 = time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)

func at(h int) *metav1.Time { return &metav1.Time{Time: day0.Add(time.Duration(h) * time.Hour)} }

func result(name string, state rotationsv1.ExerciseState, best, maxPoints, minutes, estimate, attempts, failed, hints int32) rotationsv1.ExerciseResult {
	r := rotationsv1.ExerciseResult{Name: name, Track: rotationsv1.TrackKubernetes, State: state, Points: best, BestPoints: best, MaxPoints: maxPoints,
		MinutesToPass: minutes, EstimatedMinutes: estimate, Attempts: attempts, FailedAttempts: failed, HintsUnlocked: hints}
	if minutes > 0 {
		r.FirstPassedAt = at(1)
	}
	return r
}

func programRotation(participant, learner string, round int, names []string, st rotationsv1.LearningRotationStatus) *rotationsv1.LearningRotation {
	var sel []rotationsv1.ExerciseName
	for _, n := range names {
		sel = append(sel, rotationsv1.ExerciseName(n))
	}
	return &rotationsv1.LearningRotation{
		ObjectMeta: metav1.ObjectMeta{Name: "onboarding-" + participant + "-r" + string(rune('0'+round)), Labels: map[string]string{
			rotationsv1.LabelProgram: "onboarding", rotationsv1.LabelParticipant: participant, rotationsv1.LabelRound: string(rune('0' + round)),
		}},
		Spec:   rotationsv1.LearningRotationSpec{Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: learner}}, Exercises: rotationsv1.ExerciseSelection{Names: sel}},
		Status: st,
	}
}

// programFixture: alice's three monthly rounds, the second selecting only
// what she had not passed; bob skipped in round 3.
func programFixture() []client.Object {
	all := []string{"scale-and-expose", "rolling-update", "fix-broken-deployment"}
	p := &rotationsv1.RotationProgram{
		ObjectMeta: metav1.ObjectMeta{Name: "onboarding"},
		Spec: rotationsv1.RotationProgramSpec{
			Cadence:   rotationsv1.Cadence{Interval: &metav1.Duration{Duration: 720 * time.Hour}, Start: at(0), Rounds: ptr.To[int32](4)},
			Selection: rotationsv1.Selection{Policy: rotationsv1.SelectUnpassed},
		},
		Status: rotationsv1.RotationProgramStatus{
			Phase: rotationsv1.ProgramRunning, Round: 3, NextRoundAt: at(3 * 720),
			Participants: []rotationsv1.ParticipantStatus{
				{Name: "alice", Learner: "alice@example.com", Round: 3, Rotation: "onboarding-alice-r3", Phase: rotationsv1.PhaseActive,
					Score: 10, MaxScore: 20, Progress: "1/2", HelpRequestedAt: at(2*720 + 3), Passed: []string{"rolling-update"}, Overrun: []string{"fix-broken-deployment"}},
				{Name: "bob", Learner: "bob@example.com", Round: 2, Rotation: "onboarding-bob-r2", Phase: rotationsv1.PhaseExpired,
					Score: 30, MaxScore: 30, Progress: "3/3", Completed: true, Skipped: "every exercise was passed in an earlier round"},
			},
			Rounds: []rotationsv1.RoundStatus{
				{Round: 1, ScheduledAt: *at(0), StartedAt: *at(0), Rotations: 2, Completed: 0, CompletionPercent: 0, Exercises: []rotationsv1.ExerciseRoundStatus{
					{Name: "fix-broken-deployment", Passed: 0, Selected: 2, EstimatedMinutes: 30},
					{Name: "rolling-update", Passed: 1, Selected: 2, MedianMinutesToPass: 25, EstimatedMinutes: 20},
					{Name: "scale-and-expose", Passed: 2, Selected: 2, MedianMinutesToPass: 18, EstimatedMinutes: 15}}},
				{Round: 2, ScheduledAt: *at(720), StartedAt: *at(722), Rotations: 2, Completed: 1, CompletionPercent: 50},
				{Round: 3, ScheduledAt: *at(1440), StartedAt: *at(1440), Rotations: 1},
			},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Running", Message: "round 3 running"}},
		},
	}
	return []client.Object{p,
		programRotation("alice", "alice@example.com", 1, all, rotationsv1.LearningRotationStatus{Phase: rotationsv1.PhaseExpired, StartedAt: at(0),
			Score: 10, MaxScore: 30, Completed: 1, Total: 3, Exercises: []rotationsv1.ExerciseResult{
				result("scale-and-expose", rotationsv1.ExercisePassed, 10, 10, 24, 15, 4, 3, 2),
				result("rolling-update", rotationsv1.ExerciseInProgress, 5, 10, 0, 20, 6, 6, 3),
				result("fix-broken-deployment", rotationsv1.ExerciseNotStarted, 0, 10, 0, 30, 0, 0, 0)}}),
		programRotation("alice", "alice@example.com", 2, all[1:], rotationsv1.LearningRotationStatus{Phase: rotationsv1.PhaseExpired, StartedAt: at(720),
			Score: 10, MaxScore: 20, Completed: 1, Total: 2, Exercises: []rotationsv1.ExerciseResult{
				result("rolling-update", rotationsv1.ExercisePassed, 10, 10, 16, 20, 2, 1, 0),
				result("fix-broken-deployment", rotationsv1.ExerciseFailed, 5, 10, 0, 30, 5, 5, 1)}}),
		programRotation("alice", "alice@example.com", 3, all[2:], rotationsv1.LearningRotationStatus{Phase: rotationsv1.PhaseActive, StartedAt: at(1440)}),
		programRotation("bob", "bob@example.com", 1, all, rotationsv1.LearningRotationStatus{Phase: rotationsv1.PhaseExpired}),
	}
}

func runPlugin(t *testing.T, objs []client.Object, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o, err := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	o.Now = func() time.Time { return day0 }
	o.client = fake.NewClientBuilder().WithScheme(Scheme).WithObjects(objs...).Build()
	cmd := NewRootCommand(o)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update-golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update-golden rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func TestProgramCompareGolden(t *testing.T) {
	for _, tc := range []struct{ golden, format string }{{"program-compare-alice", "markdown"}, {"program-compare-alice-json", "json"}} {
		out, err := runPlugin(t, programFixture(), "program", "compare", "onboarding", "alice", "-o", tc.format)
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, tc.golden, out)
	}
}

func TestProgramStatusGolden(t *testing.T) {
	for _, tc := range []struct{ golden, format string }{{"program-status", "markdown"}, {"program-status-json", "json"}} {
		out, err := runPlugin(t, programFixture(), "program", "status", "onboarding", "-o", tc.format)
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, tc.golden, out)
	}
}

func TestProgramCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"program", "status", "nope"}, `program "nope" not found`},
		{[]string{"program", "compare", "onboarding", "carol"}, `no rotation for participant "carol"`},
		{[]string{"program", "compare", "onboarding"}, "needs PROGRAM and PARTICIPANT"},
		{[]string{"program", "status", "onboarding", "-o", "junit"}, "one of markdown, json"},
	} {
		_, err := runPlugin(t, programFixture(), tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
