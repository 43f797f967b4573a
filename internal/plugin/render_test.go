package plugin

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestProgressBar(t *testing.T) {
	cases := []struct {
		done, total int32
		want        string
	}{
		{0, 0, "░░░░░░░░░░"},
		{0, 3, "░░░░░░░░░░"},
		{1, 3, "███░░░░░░░"},
		{2, 3, "███████░░░"},
		{3, 3, "██████████"},
		{1, 100, "█░░░░░░░░░"},  // any progress shows
		{99, 100, "█████████░"}, // full only when done
		{5, 3, "██████████"},    // clamped
		{-1, 3, "░░░░░░░░░░"},
	}
	for _, c := range cases {
		if got := progressBar(c.done, c.total, 10); got != c.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}

func TestHuman(t *testing.T) {
	cases := map[time.Duration]string{
		30 * time.Second:                  "30s",
		59*time.Minute + 59*time.Second:   "59m",
		2 * time.Hour:                     "2h",
		150 * time.Minute:                 "2h30m",
		24 * time.Hour:                    "1d",
		(4*24+21)*time.Hour + time.Minute: "4d21h",
		38 * 24 * time.Hour:               "38d",
	}
	for d, want := range cases {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	if got := timeLeft(now.Add(3*time.Hour), now); got != "3h left" {
		t.Errorf("timeLeft = %q", got)
	}
	if got := timeLeft(now.Add(-48*time.Hour), now); got != "ended 2d ago" {
		t.Errorf("timeLeft past = %q", got)
	}
}

func TestNextHintText(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	started := metav1.NewTime(now.Add(-30 * time.Minute))
	cases := []struct {
		name string
		hint rotationsv1.Hint
		res  rotationsv1.ExerciseResult
		want string
	}{
		{"attempts", rotationsv1.Hint{AfterFailedAttempts: ptr.To[int32](3)}, rotationsv1.ExerciseResult{FailedAttempts: 2}, "after 1 more failed attempt"},
		{"attempts reached", rotationsv1.Hint{AfterFailedAttempts: ptr.To[int32](2)}, rotationsv1.ExerciseResult{FailedAttempts: 2}, "due, it shows at the next grading"},
		{"minutes, not started", rotationsv1.Hint{AfterMinutes: ptr.To[int32](90)}, rotationsv1.ExerciseResult{}, "1h30m after you start the exercise"},
		{"minutes", rotationsv1.Hint{AfterMinutes: ptr.To[int32](45)}, rotationsv1.ExerciseResult{StartedAt: &started}, "at 2026-11-10 12:15 UTC (in 15m)"},
		{"minutes passed", rotationsv1.Hint{AfterMinutes: ptr.To[int32](10)}, rotationsv1.ExerciseResult{StartedAt: &started}, "due, it shows at the next grading"},
		{"both", rotationsv1.Hint{AfterMinutes: ptr.To[int32](60), AfterFailedAttempts: ptr.To[int32](5)}, rotationsv1.ExerciseResult{StartedAt: &started, FailedAttempts: 1},
			"after 4 more failed attempts or at 2026-11-10 12:30 UTC (in 30m), whichever comes first"},
		{"neither", rotationsv1.Hint{}, rotationsv1.ExerciseResult{}, "due, it shows at the next grading"},
	}
	time.Local = time.UTC
	for _, c := range cases {
		if got := nextHintText(c.hint, &c.res, now); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitError},
		{usageErrorf(errors.New("bad")), ExitUsage},
		{fmt.Errorf("wrapped: %w", usageErrorf(errors.New("bad"))), ExitUsage},
		{unmetError{errors.New("timed out")}, ExitUnmet},
		{errors.New(`unknown command "x" for "kubectl rotation"`), ExitUsage},
		{errors.New("unknown flag: --x"), ExitUsage},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
