package program

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

var monday = time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)

func TestCadenceSlots(t *testing.T) {
	h := func(n int) time.Time { return monday.Add(time.Duration(n) * time.Hour) }
	weekly, err := readCadence(rotationsv1.Cadence{Cron: "0 9 * * 1", Start: &metav1.Time{Time: monday}, Rounds: ptr.To[int32](3)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	daily, err := readCadence(rotationsv1.Cadence{Interval: &metav1.Duration{Duration: 24 * time.Hour}, Start: &metav1.Time{Time: monday},
		EndDate: &metav1.Time{Time: h(72)}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		c           *cadence
		last, now   time.Time
		slot        time.Time
		skipped     int
		next        time.Time
		finishedAt3 bool
	}{
		{"cron: first slot is the start", weekly, time.Time{}, monday, monday, 0, h(7 * 24), true},
		{"cron: not yet", weekly, time.Time{}, h(-1), time.Time{}, 0, monday, true},
		{"cron: two weeks missed", weekly, monday, h(14*24 + 1), h(14 * 24), 1, h(21 * 24), true},
		{"interval: on time", daily, monday, h(24), h(24), 0, h(48), true},
		{"interval: the end date stops it", daily, h(48), h(100), time.Time{}, 0, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slot, skipped := tc.c.due(tc.last, tc.now)
			if !slot.Equal(tc.slot) || skipped != tc.skipped {
				t.Errorf("due(%s, %s) = %s, %d skipped; want %s, %d", tc.last, tc.now, slot, skipped, tc.slot, tc.skipped)
			}
			last := tc.last
			if !slot.IsZero() {
				last = slot
			}
			if n := tc.c.next(last, tc.now); !n.Equal(tc.next) {
				t.Errorf("next = %s, want %s", n, tc.next)
			}
		})
	}
	if !daily.finished(3, h(48)) || daily.finished(2, h(24)) || !weekly.finished(3, h(14*24)) {
		t.Error("finished")
	}
}

func TestCadenceRefusals(t *testing.T) {
	start := &metav1.Time{Time: monday}
	for _, tc := range []struct {
		name string
		c    rotationsv1.Cadence
		want string
	}{
		{"february 30th", rotationsv1.Cadence{Cron: "0 9 30 2 *", Start: start}, ReasonNeverFires},
		{"not cron", rotationsv1.Cadence{Cron: "every monday", Start: start}, ReasonInvalidCron},
		{"first round after the end", rotationsv1.Cadence{Cron: "0 9 1 * *", Start: start, EndDate: &metav1.Time{Time: monday.Add(24 * time.Hour)}}, ReasonInvalidSchedule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readCadence(tc.c, monday)
			if err == nil || scheduleReason(err) != tc.want {
				t.Fatalf("err %v (reason %s), want reason %s", err, func() string {
					if err == nil {
						return ""
					}
					return scheduleReason(err)
				}(), tc.want)
			}
			if tc.want == ReasonNeverFires && !errors.Is(err, errNeverFires) {
				t.Error("not errNeverFires")
			}
		})
	}
}
