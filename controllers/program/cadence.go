package program

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// cadence is a program's spec.cadence, read: the times rounds are due
// ("slots"), how many rounds, and until when.
type cadence struct {
	first time.Time
	// after is the first slot strictly after t (zero: none).
	after  func(t time.Time) time.Time
	rounds int32 // 0: bounded by end only
	end    time.Time
}

// cronParser reads the five standard fields and the @daily-style
// descriptors, as Kubernetes CronJobs do.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// errNeverFires: the cron schedule has no time in the next five years
// (robfig/cron's horizon), e.g. "0 0 30 2 *".
var errNeverFires = errors.New("never fires")

// readCadence parses spec.cadence; created is the program's creation,
// the default start.
func readCadence(c rotationsv1.Cadence, created time.Time) (*cadence, error) {
	start := created
	if c.Start != nil {
		start = c.Start.Time
	}
	start = start.UTC().Truncate(time.Second)
	out := &cadence{}
	if c.Rounds != nil {
		out.rounds = *c.Rounds
	}
	if c.EndDate != nil {
		out.end = c.EndDate.Time
	}
	switch {
	case c.Interval != nil && c.Interval.Duration > 0:
		iv := c.Interval.Duration
		out.first = start
		out.after = func(t time.Time) time.Time {
			if t.Before(start) {
				return start
			}
			return start.Add((t.Sub(start)/iv + 1) * iv)
		}
	case c.Cron != "":
		sched, err := cronParser.Parse(c.Cron)
		if err != nil {
			return nil, fmt.Errorf("cadence.cron %q: %w", c.Cron, err)
		}
		out.after = func(t time.Time) time.Time { return sched.Next(t.UTC()) }
		out.first = out.after(start.Add(-time.Second))
		if out.first.IsZero() {
			return nil, fmt.Errorf("cadence.cron %q %w", c.Cron, errNeverFires)
		}
	default:
		return nil, errors.New("cadence: set interval or cron")
	}
	if !out.end.IsZero() && !out.first.Before(out.end) {
		return nil, fmt.Errorf("the first round, at %s, is not before cadence.endDate %s: no round would start",
			stamp(out.first), stamp(out.end))
	}
	return out, nil
}

// maxRounds is the CRD's bound on cadence.rounds, also for a program
// bounded by endDate only: rotation names have room for three digits.
const maxRounds = 999

// maxSlotWalk bounds the walk over slots missed while the operator was
// down or the program suspended (a per-minute cron over two months).
const maxSlotWalk = 100_000

// due is the latest slot after last (zero: none yet) and at or before
// now, and how many slots before it were skipped; zero when none is due.
func (c *cadence) due(last, now time.Time) (slot time.Time, skipped int) {
	next := c.first
	if !last.IsZero() {
		next = c.after(last)
	}
	for i := 0; i < maxSlotWalk && !next.IsZero() && !next.After(now) && c.allows(next); i++ {
		if !slot.IsZero() {
			skipped++
		}
		slot = next
		next = c.after(next)
	}
	return slot, skipped
}

// next is the first slot after last and after now that may still start a
// round, zero when the cadence has none left (endDate).
func (c *cadence) next(last, now time.Time) time.Time {
	from := last
	if from.IsZero() || now.After(from) {
		from = now
	}
	n := c.after(from)
	if last.IsZero() && c.first.After(now) {
		n = c.first
	}
	if n.IsZero() || !c.allows(n) {
		return time.Time{}
	}
	return n
}

// allows: a round may start at slot (before endDate).
func (c *cadence) allows(slot time.Time) bool { return c.end.IsZero() || slot.Before(c.end) }

// finished: no further round may start after started rounds, the latest at last.
func (c *cadence) finished(started int32, last time.Time) bool {
	if (c.rounds > 0 && started >= c.rounds) || started >= maxRounds {
		return true
	}
	if last.IsZero() {
		return false
	}
	n := c.after(last)
	return n.IsZero() || !c.allows(n)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
