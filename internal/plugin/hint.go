package plugin

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func newHintCommand(o *Options) *cobra.Command {
	var rotation string
	cmd := &cobra.Command{
		Use:   "hint EXERCISE",
		Short: "Show the exercise's unlocked hints and when the next one unlocks",
		Long: `Show the hints unlocked so far for EXERCISE, in order, and when the next
one unlocks: a hint unlocks after some minutes in the exercise (counted from
the first grading that saw your work) or after some failed attempts,
whichever comes first. The operator unlocks hints when it grades, so a hint
that is due shows up at the next grading.`,
		Example: `  kubectl rotation hint scale-and-expose
  kubectl rotation hint scale-and-expose --rotation alice   # as a mentor`,
		Args: exactArgs(1, "EXERCISE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			exercise := args[0]
			name, err := o.inferRotation(rotation)
			if err != nil {
				return err
			}
			lr, err := o.getRotation(cmd.Context(), name)
			if err != nil {
				return err
			}
			r, err := exerciseResult(lr, exercise)
			if err != nil {
				return err
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			var hints []rotationsv1.Hint
			ex := &rotationsv1.Exercise{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Name: exercise}, ex); err == nil {
				hints = ex.Spec.Hints
			} else if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
				return err
			}
			writeHints(o.Streams.Out, exercise, r, hints, ex.Name != "", o.Now(), style(o.Color))
			return nil
		},
	}
	cmd.Flags().StringVarP(&rotation, "rotation", "r", "", "Rotation (default: the one of the current lab-<rotation> namespace)")
	return cmd
}

// writeHints prints the unlocked hints of an exercise and when the next
// unlocks. Without the Exercise (haveSpec false) only the newest unlocked
// hint, from the status, is known.
func writeHints(w interface{ Write([]byte) (int, error) }, exercise string, r *rotationsv1.ExerciseResult, hints []rotationsv1.Hint, haveSpec bool, now time.Time, st style) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	unlocked := int(r.HintsUnlocked)
	if !haveSpec {
		if r.Hint == "" {
			p("No hint unlocked yet for %s.\n", exercise)
			return
		}
		p("Hint %d for %s (the newest unlocked; earlier ones are in the Exercise, which these credentials cannot read):\n  %s\n", unlocked, exercise, r.Hint)
		return
	}
	if len(hints) == 0 {
		p("Exercise %s has no hints.\n", exercise)
		return
	}
	unlocked = min(unlocked, len(hints))
	if unlocked == 0 {
		p("No hint unlocked yet for %s (%d in all).\n", exercise, len(hints))
	} else {
		p("%s\n", st.bold(fmt.Sprintf("Hints for %s (%d of %d unlocked):", exercise, unlocked, len(hints))))
		for i := range unlocked {
			p("  %d. %s\n", i+1, hints[i].Text)
		}
	}
	if unlocked == len(hints) {
		p("All hints are unlocked.\n")
		return
	}
	p("Next hint (%d of %d): %s.\n", unlocked+1, len(hints), nextHintText(hints[unlocked], r, now))
}

// nextHintText says when a locked hint unlocks.
func nextHintText(h rotationsv1.Hint, r *rotationsv1.ExerciseResult, now time.Time) string {
	const due = "due, it shows at the next grading"
	var ways []string
	if h.AfterFailedAttempts != nil {
		left := *h.AfterFailedAttempts - r.FailedAttempts
		if left <= 0 {
			return due
		}
		ways = append(ways, fmt.Sprintf("after %d more failed attempt%s", left, plural(int(left))))
	}
	if h.AfterMinutes != nil {
		after := time.Duration(*h.AfterMinutes) * time.Minute
		if r.StartedAt == nil {
			ways = append(ways, fmt.Sprintf("%s after you start the exercise", humanMinutes(*h.AfterMinutes)))
		} else {
			at := r.StartedAt.Add(after)
			if !at.After(now) {
				return due
			}
			ways = append(ways, fmt.Sprintf("at %s (%s)", formatTime(at), ago(at, now)))
		}
	}
	switch len(ways) {
	case 0:
		return due
	case 1:
		return ways[0]
	default:
		return strings.Join(ways, " or ") + ", whichever comes first"
	}
}

func humanMinutes(m int32) string {
	switch {
	case m < 60:
		return fmt.Sprintf("%d minute%s", m, plural(int(m)))
	case m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	default:
		return fmt.Sprintf("%dh%dm", m/60, m%60)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
