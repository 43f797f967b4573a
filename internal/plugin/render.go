package plugin

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

const (
	markPass = "✓"
	markFail = "✗"
	barWidth = 10
)

// progressBar draws done out of total as a fixed-width bar.
func progressBar(done, total int32, width int) string {
	if width <= 0 {
		width = barWidth
	}
	filled := 0
	if total > 0 {
		d := min(max(done, 0), total)
		filled = int((int64(d)*int64(width) + int64(total)/2) / int64(total))
		// Show a sliver of progress, and never a full bar before the end.
		if d > 0 && filled == 0 {
			filled = 1
		}
		if d < total && filled == width {
			filled = width - 1
		}
	}
	return strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
}

// formatTime prints a time to the minute in the local zone (TZ).
func formatTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04 MST")
}

// human is a duration as people say it, to two units at most: 45s, 12m,
// 2h, 2h30m, 4d21h, 38d.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	case d < 8*24*time.Hour:
		days, h := int(d.Hours())/24, int(d.Hours())%24
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	default:
		return fmt.Sprintf("%dd", int(d.Hours())/24)
	}
}

// ago says how long before now t was: "3h ago", or "in 2d" for a future t.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + human(-d)
	}
	return human(d) + " ago"
}

// deadlineText is the deadline with the time left: "2026-11-15 09:00 UTC (4d21h left)".
func deadlineText(lr *rotationsv1.LearningRotation, now time.Time) string {
	if lr.Status.Deadline == nil {
		return "-"
	}
	return formatTime(lr.Status.Deadline.Time) + " (" + timeLeft(lr.Status.Deadline.Time, now) + ")"
}

// timeLeft is "4d21h left" or "ended 2d ago".
func timeLeft(deadline, now time.Time) string {
	if left := deadline.Sub(now); left > 0 {
		return human(left) + " left"
	}
	return "ended " + ago(deadline, now)
}

// shortTimeLeft is the deadline column of list: "4d21h" or "ended".
func shortTimeLeft(lr *rotationsv1.LearningRotation, now time.Time) string {
	if lr.Status.Deadline == nil {
		return "-"
	}
	if left := lr.Status.Deadline.Sub(now); left > 0 {
		return human(left) + " left"
	}
	return "ended"
}

// openHelp returns the open help request, or nil.
func openHelp(lr *rotationsv1.LearningRotation) *rotationsv1.HelpRequestStatus {
	if h := lr.Status.HelpRequest; h != nil && h.AcknowledgedAt == nil {
		return h
	}
	return nil
}

// conditionText is "True (Reason)" or "-".
func conditionText(lr *rotationsv1.LearningRotation, t string) string {
	c := meta.FindStatusCondition(lr.Status.Conditions, t)
	if c == nil {
		return "-"
	}
	return string(c.Status) + " (" + c.Reason + ")"
}

// oneLine makes free text fit one line of a table, at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// exerciseMark is ✓ for a passed exercise, ✗ for a failed one, and · or ○ otherwise.
func exerciseMark(state rotationsv1.ExerciseState) string {
	switch state {
	case rotationsv1.ExercisePassed:
		return markPass
	case rotationsv1.ExerciseFailed:
		return markFail
	case rotationsv1.ExerciseInProgress:
		return "◐"
	case rotationsv1.ExerciseLocked:
		return "⊘"
	default:
		return "○"
	}
}

// style applies ANSI styles when color is on.
type style bool

func (s style) wrap(code, text string) string {
	if !s || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
func (s style) bold(t string) string  { return s.wrap("1", t) }
func (s style) dim(t string) string   { return s.wrap("2", t) }
func (s style) green(t string) string { return s.wrap("32", t) }
func (s style) red(t string) string   { return s.wrap("31", t) }
func (s style) cyan(t string) string  { return s.wrap("36", t) }

func (s style) mark(passed bool) string {
	if passed {
		return s.green(markPass)
	}
	return s.red(markFail)
}

// writeStatus renders a rotation for people: the summary, then every
// exercise with its checks, messages and newest hint.
func writeStatus(w io.Writer, lr *rotationsv1.LearningRotation, catalog map[string]*rotationsv1.Exercise, now time.Time, st style) {
	s := &lr.Status
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("%s   %s\n", st.bold("Rotation:"), lr.Name)
	p("Learner:    %s %s\n", kindOr(lr.Spec.Learner.Kind), lr.Spec.Learner.Name)
	phase := string(s.Phase)
	if phase == "" {
		phase = "Pending"
	}
	if s.Access != "" {
		phase += ", learner access " + string(s.Access)
	}
	p("Phase:      %s\n", phase)
	if s.Namespace != "" {
		p("Lab:        %s\n", s.Namespace)
	}
	p("Score:      %d/%d\n", s.Score, s.MaxScore)
	p("Progress:   %s %d/%d exercises passed\n", progressBar(s.Completed, s.Total, barWidth), s.Completed, s.Total)
	if s.StartedAt != nil {
		p("Started:    %s\n", formatTime(s.StartedAt.Time))
	}
	p("Deadline:   %s\n", deadlineText(lr, now))
	switch h := s.HelpRequest; {
	case h == nil:
		p("Help:       none requested\n")
	case h.AcknowledgedAt == nil:
		p("Help:       %s, asked %s: %s\n", st.red("OPEN"), ago(h.RequestedAt.Time, now), oneLine(h.Message, 200))
	default:
		p("Help:       acknowledged %s: %s\n", ago(h.AcknowledgedAt.Time, now), oneLine(h.Message, 200))
	}
	if t := lastGraded(lr); t != nil {
		p("Graded:     %s (%s)\n", formatTime(t.Time), ago(t.Time, now))
	}
	p("Ready:      %s\n", conditionText(lr, rotationsv1.ConditionReady))
	if c := meta.FindStatusCondition(s.Conditions, rotationsv1.ConditionReady); c != nil && c.Status != metav1.ConditionTrue && c.Message != "" {
		p("            %s\n", oneLine(c.Message, 300))
	}
	if len(s.Exercises) == 0 {
		p("\nNo exercises graded yet.\n")
		return
	}
	p("\n")
	writeExercises(w, lr, catalog, now, st)
}

// writeExercises renders each exercise with its checks, separated by blank lines.
// The catalog (may be empty) adds titles and each check's maximum points.
func writeExercises(w io.Writer, lr *rotationsv1.LearningRotation, catalog map[string]*rotationsv1.Exercise, now time.Time, st style) {
	for i := range lr.Status.Exercises {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeExercise(w, &lr.Status.Exercises[i], catalog, now, st, false)
	}
}

// writeExercise renders one exercise. full keeps every message whole, line
// breaks and all (kubectl rotation status EXERCISE): a submission's
// diagnostics; otherwise each message fits one line.
func writeExercise(w io.Writer, e *rotationsv1.ExerciseResult, catalog map[string]*rotationsv1.Exercise, now time.Time, st style, full bool) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	text := func(s string) string {
		if full {
			return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n        ")
		}
		return oneLine(s, 300)
	}
	p("%s %s", exerciseMarkStyled(st, e.State), st.bold(e.Name))
	maxPoints := map[string]int32{}
	if ex := catalog[e.Name]; ex != nil {
		p(" — %s", ex.Spec.Title)
		for _, c := range ex.Spec.Checks {
			maxPoints[c.Name] = c.Points
		}
	}
	if e.Track != "" {
		p(" [%s]", e.Track)
	}
	p("\n")
	p("    %s, %d/%d points", e.State, e.Points, e.MaxPoints)
	if e.BestPoints > e.Points {
		p(" (best %d)", e.BestPoints)
	}
	p(", %d attempt%s", e.Attempts, plural(int(e.Attempts)))
	if e.FailedAttempts > 0 {
		p(" (%d failed)", e.FailedAttempts)
	}
	if e.Resets > 0 {
		p(", reset %d×", e.Resets)
	}
	if e.MinutesToPass > 0 {
		p(", passed in %dm", e.MinutesToPass)
		if e.EstimatedMinutes > 0 {
			p(" (estimate %dm)", e.EstimatedMinutes)
		}
	}
	p("\n")
	if len(e.LockedBy) > 0 {
		p("    locked until %s pass%s; the instructions are there already\n", strings.Join(e.LockedBy, ", "), map[bool]string{true: "", false: "es"}[len(e.LockedBy) > 1])
	}
	width := 0
	for _, c := range e.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range e.Checks {
		points := fmt.Sprintf("%d", c.Points)
		if m, ok := maxPoints[c.Name]; ok {
			points += fmt.Sprintf("/%d", m)
		}
		line := fmt.Sprintf("    %s %-*s %7s", st.mark(c.Passed), width, c.Name, points)
		if !c.Passed && c.Message != "" {
			if full {
				line += "\n        " + text(c.Message)
			} else {
				line += "  " + text(c.Message)
			}
		}
		p("%s\n", line)
	}
	if sub := e.Submission; sub != nil {
		p("    submission: %s, %d files, %s", sub.ConfigMap, sub.Files, shortDigest(sub.Digest))
		if sub.SubmittedAt != nil {
			p(", submitted %s", ago(sub.SubmittedAt.Time, now))
		}
		p("\n")
		if sub.Error != "" {
			p("    %s submission not graded: %s\n", st.red(markFail), text(sub.Error))
		}
	}
	if e.HandWritten != "" {
		p("    %s tool storage looks hand-written: %s\n", st.red(markFail), text(e.HandWritten))
	}
	if e.Hint != "" {
		p("    %s %s\n", st.cyan(fmt.Sprintf("hint (%d unlocked):", e.HintsUnlocked)), text(e.Hint))
	}
}

// lastGraded is the newest lastGradedAt of the rotation's exercises.
func lastGraded(lr *rotationsv1.LearningRotation) *metav1.Time {
	var last *metav1.Time
	for i := range lr.Status.Exercises {
		if t := lr.Status.Exercises[i].LastGradedAt; t != nil && (last == nil || t.After(last.Time)) {
			last = t
		}
	}
	return last
}

func exerciseMarkStyled(st style, state rotationsv1.ExerciseState) string {
	m := exerciseMark(state)
	switch state {
	case rotationsv1.ExercisePassed:
		return st.green(m)
	case rotationsv1.ExerciseFailed:
		return st.red(m)
	}
	return m
}

func kindOr(k rotationsv1.SubjectKind) string {
	if k == "" {
		return string(rotationsv1.UserKind)
	}
	return string(k)
}

// shortDigest is "sha256:0123456789ab".
func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
