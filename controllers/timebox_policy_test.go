package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// The time-box and tunnel policies, as pure functions of a schedule or a
// result and the clock.

func TestTimeboxPlace(t *testing.T) {
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	deadline, labEnd := start.Add(8*time.Hour), start.Add(10*time.Hour)
	box := timebox{start: start, deadline: deadline, labEnd: labEnd, explicitStart: true}
	with := func(f func(*timebox)) timebox { b := box; f(&b); return b }
	tests := []struct {
		name  string
		box   timebox
		now   time.Time
		stage stage
		next  time.Time
	}{
		{"before an explicit start", box, start.Add(-time.Second), stageScheduled, start},
		{"at the start", box, start, stageActive, deadline},
		{"a clock behind creation is not ahead of an implicit start", with(func(b *timebox) { b.explicitStart = false }), start.Add(-time.Hour), stageActive, deadline},
		{"suspended before the start is scheduled", with(func(b *timebox) { b.suspend = true }), start.Add(-time.Hour), stageScheduled, start},
		{"suspended", with(func(b *timebox) { b.suspend = true }), start.Add(time.Hour), stageSuspended, deadline},
		{"a second before the deadline", box, deadline.Add(-time.Second), stageActive, deadline},
		{"at the deadline", box, deadline, stageExpired, labEnd},
		{"suspended past the deadline is expired", with(func(b *timebox) { b.suspend = true }), deadline.Add(time.Minute), stageExpired, labEnd},
		{"at the end of retention", box, labEnd, stageLabDeleted, time.Time{}},
		{"deleted before, with the clock turned back", with(func(b *timebox) { b.labDeleted = true }), start.Add(time.Hour), stageLabDeleted, time.Time{}},
		{"no retention: deleted at the deadline", with(func(b *timebox) { b.labEnd = deadline }), deadline, stageLabDeleted, time.Time{}},
	}
	for _, tt := range tests {
		st, next := tt.box.place(tt.now)
		if st != tt.stage || !next.Equal(tt.next) {
			t.Errorf("%s: %s until %v, want %s until %v", tt.name, st, next, tt.stage, tt.next)
		}
	}
}

func TestLabEnd(t *testing.T) {
	deadline := metav1.NewTime(time.Date(2026, 5, 4, 17, 0, 0, 0, time.UTC))
	lr := &rotationsv1.LearningRotation{}
	lr.Status.Deadline = &deadline
	if got := labEnd(lr); !got.Equal(deadline.Add(168 * time.Hour)) {
		t.Errorf("default retention: %v, want a week after the deadline", got)
	}
	lr.Spec.Schedule.Retention = &metav1.Duration{Duration: 0}
	if got := labEnd(lr); !got.Equal(deadline.Time) {
		t.Errorf("no retention: %v, want the deadline", got)
	}
}

func TestTrackTunnel(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { v := metav1.NewTime(t0.Add(d)); return &v }
	tests := []struct {
		name    string
		res     rotationsv1.ExerciseResult
		now     time.Duration // after t0
		due     time.Time     // returned: when it will overrun
		overran *metav1.Time
		minutes int32
	}{
		{"not started", rotationsv1.ExerciseResult{EstimatedMinutes: 10}, time.Hour, time.Time{}, nil, 0},
		{"no estimate", rotationsv1.ExerciseResult{StartedAt: at(0)}, time.Hour, time.Time{}, nil, 0},
		{"within twice the estimate", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 10}, 19 * time.Minute, t0.Add(20 * time.Minute), nil, 0},
		{"at twice the estimate", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 10}, 20 * time.Minute, time.Time{}, at(20 * time.Minute), 0},
		{"suspensions do not count", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 10, PausedSeconds: 3600}, 30 * time.Minute, t0.Add(80 * time.Minute), nil, 0},
		{"marked once", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 10, OverranAt: at(25 * time.Minute)}, 2 * time.Hour, time.Time{}, at(25 * time.Minute), 0},
		{"passed: minutes to pass, rounded up", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 10, FirstPassedAt: at(12*time.Minute + time.Second)}, time.Hour, time.Time{}, nil, 13},
		{"passed after a suspension", rotationsv1.ExerciseResult{StartedAt: at(0), PausedSeconds: 600, FirstPassedAt: at(15 * time.Minute)}, time.Hour, time.Time{}, nil, 5},
		{"passed: minutes kept once set", rotationsv1.ExerciseResult{StartedAt: at(0), FirstPassedAt: at(15 * time.Minute), MinutesToPass: 7}, time.Hour, time.Time{}, nil, 7},
		{"passed late is not an overrun", rotationsv1.ExerciseResult{StartedAt: at(0), EstimatedMinutes: 1, FirstPassedAt: at(time.Hour)}, 2 * time.Hour, time.Time{}, nil, 60},
	}
	for _, tt := range tests {
		res := tt.res
		due := trackTunnel(&res, t0.Add(tt.now))
		if !due.Equal(tt.due) {
			t.Errorf("%s: due %v, want %v", tt.name, due, tt.due)
		}
		if (res.OverranAt == nil) != (tt.overran == nil) || (res.OverranAt != nil && !res.OverranAt.Equal(tt.overran)) {
			t.Errorf("%s: overranAt %v, want %v", tt.name, res.OverranAt, tt.overran)
		}
		if res.MinutesToPass != tt.minutes {
			t.Errorf("%s: minutesToPass %d, want %d", tt.name, res.MinutesToPass, tt.minutes)
		}
	}
}
