package integration_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// Admission refuses what can be judged from the program alone, with a
// message saying what to fix.
func TestAdmissionRefusesBadPrograms(t *testing.T) {
	ok := func() *rotationsv1.RotationProgram {
		return dailyProgram("bad", 3, []string{"ex-a"}, participant("alice", "alice@example.com"), participant("bob", "bob@example.com"))
	}
	cases := []struct {
		name   string
		mutate func(p *rotationsv1.RotationProgram)
		want   string
	}{
		{"zero rounds", func(p *rotationsv1.RotationProgram) { p.Spec.Cadence.Rounds = ptr.To[int32](0) }, "should be greater than or equal to 1"},
		{"no end", func(p *rotationsv1.RotationProgram) { p.Spec.Cadence.Rounds = nil }, "a program must end"},
		{"interval and cron", func(p *rotationsv1.RotationProgram) { p.Spec.Cadence.Cron = "0 9 * * 1" }, "exactly one of cadence.interval and cadence.cron"},
		{"cron of three fields", func(p *rotationsv1.RotationProgram) {
			p.Spec.Cadence.Interval, p.Spec.Cadence.Cron = nil, "0 9 *"
		}, "cron must have five fields"},
		{"duplicate participant names", func(p *rotationsv1.RotationProgram) { p.Spec.Participants[1].Name = "alice" }, "Duplicate value"},
		{"one learner twice", func(p *rotationsv1.RotationProgram) { p.Spec.Participants[1].Learner.Name = "alice@example.com" }, "a learner may be only one participant"},
		{"rounds overlap", func(p *rotationsv1.RotationProgram) {
			p.Spec.Template.Duration = &metav1.Duration{Duration: 48 * time.Hour}
		}, "must not be shorter than template.duration"},
		{"rotation name too long", func(p *rotationsv1.RotationProgram) {
			p.Name = "a-program-with-a-rather-long-name-for-its-cohort-2031" // 52 + "alice"
		}, "must not exceed 53 characters"},
		{"end before start", func(p *rotationsv1.RotationProgram) {
			p.Spec.Cadence.EndDate = &metav1.Time{Time: t0.Add(-time.Hour)}
		}, "cadence.endDate must be after cadence.start"},
		{"system learner", func(p *rotationsv1.RotationProgram) { p.Spec.Participants[0].Learner.Name = "system:authenticated" }, "must not be a system: identity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.mutate(p)
			err := admin.Create(context.Background(), p)
			if err == nil {
				_ = admin.Delete(context.Background(), p)
				t.Fatal("accepted")
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused with %v, want a message containing %q", err, tc.want)
			}
		})
	}
}

// A cron that never fires passes admission (CEL cannot read cron) and is
// reported: ScheduleValid False with a Warning event, and no round starts.
func TestCronThatNeverFiresIsReported(t *testing.T) {
	startOperator(t, clocktesting.NewFakeClock(t0))
	prog := dailyProgram("feb30", 3, []string{"ex-a"}, participant("alice", "alice@example.com"))
	prog.Spec.Cadence.Interval, prog.Spec.Cadence.Cron = nil, "0 9 30 2 *"
	p := createProgram(t, prog)
	got := waitProgram(t, p.Name, "ScheduleValid False", func(p *rotationsv1.RotationProgram) bool {
		return meta.IsStatusConditionFalse(p.Status.Conditions, rotationsv1.ConditionScheduleValid)
	})
	c := meta.FindStatusCondition(got.Status.Conditions, rotationsv1.ConditionScheduleValid)
	if c.Reason != "NeverFires" || got.Status.Phase != rotationsv1.ProgramFailed || got.Status.Round != 0 {
		t.Errorf("condition %+v, phase %s, round %d", c, got.Status.Phase, got.Status.Round)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		evs := &eventsv1.EventList{}
		if err := admin.List(ctx, evs, client.InNamespace("default")); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == p.Name && e.Type == "Warning" && e.Reason == "NeverFires" {
				return nil
			}
		}
		return errNoEvent
	})
	if n := len(rotationsOf(t, p.Name)); n != 0 {
		t.Errorf("%d rotations for a schedule that never fires", n)
	}
}

var errNoEvent = apierrors.NewNotFound(eventsv1.Resource("events"), "NeverFires warning")

// The sample program passes admission as shipped.
func TestSampleProgramIsAccepted(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "config", "samples", "rotations_v1alpha1_rotationprogram.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := &rotationsv1.RotationProgram{}
	if err := yaml.UnmarshalStrict([]byte(strings.Split(string(b), "\n---\n")[0]), p); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(context.Background(), p, client.DryRunAll); err != nil {
		t.Fatalf("the sample is refused: %v", err)
	}
}
