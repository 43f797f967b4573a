package plugin

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Comparison is `program compare -o json`: one participant's rounds side
// by side, per exercise ("see the changes from the battleground").
type Comparison struct {
	Program     string             `json:"program"`
	Participant string             `json:"participant"`
	Learner     string             `json:"learner"`
	Rounds      []ComparedRound    `json:"rounds"`
	Exercises   []ComparedExercise `json:"exercises"`
}

// ComparedRound is one round's rotation.
type ComparedRound struct {
	Round     int32      `json:"round"`
	Rotation  string     `json:"rotation"`
	Phase     string     `json:"phase"`
	StartedAt *time.Time `json:"startedAt,omitempty"`
	Score     int32      `json:"score"`
	MaxScore  int32      `json:"maxScore"`
	Completed int32      `json:"completed"`
	Total     int32      `json:"total"`
}

// ComparedExercise is one exercise across the rounds; Results has one
// entry per round of Rounds, nil where the round did not select it.
type ComparedExercise struct {
	Name             string            `json:"name"`
	EstimatedMinutes int32             `json:"estimatedMinutes,omitempty"`
	Results          []*ComparedResult `json:"results"`
}

// ComparedResult is the exercise in one round.
type ComparedResult struct {
	State          string `json:"state"`
	BestPoints     int32  `json:"bestPoints"`
	MaxPoints      int32  `json:"maxPoints"`
	MinutesToPass  int32  `json:"minutesToPass,omitempty"`
	Attempts       int32  `json:"attempts"`
	FailedAttempts int32  `json:"failedAttempts"`
	HintsUnlocked  int32  `json:"hintsUnlocked"`
	Resets         int32  `json:"resets"`
}

func newProgramCompareCommand(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "compare PROGRAM PARTICIPANT",
		Short: "One participant's rounds side by side: score, time to pass against the estimate, hints",
		Long: `Print one participant's rounds of a program side by side, per exercise:
state, points, time to pass against the author's estimate, attempts and
hints used. A round that did not select an exercise shows "-".

  -o markdown  (default)
  -o json      for scripts`,
		Example: `  kubectl rotation program compare onboarding alice
  kubectl rotation program compare onboarding alice -o json`,
		Args: exactArgs(2, "PROGRAM and PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			if _, err := o.getProgram(cmd.Context(), args[0]); err != nil {
				return err
			}
			list := &rotationsv1.LearningRotationList{}
			if err := c.List(cmd.Context(), list, client.MatchingLabels{
				rotationsv1.LabelProgram: args[0], rotationsv1.LabelParticipant: args[1],
			}); err != nil {
				return err
			}
			if len(list.Items) == 0 {
				return fmt.Errorf("program %q has no rotation for participant %q", args[0], args[1])
			}
			cmp := buildComparison(args[0], args[1], list.Items)
			if output == "json" {
				return writeJSON(o.Streams.Out, cmp)
			}
			return writeComparisonMarkdown(o.Streams.Out, cmp)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "Output format: markdown or json")
	return cmd
}

func roundLabel(lr *rotationsv1.LearningRotation) int32 {
	n, _ := strconv.ParseInt(lr.Labels[rotationsv1.LabelRound], 10, 32)
	return int32(n)
}

func buildComparison(program, participant string, rotations []rotationsv1.LearningRotation) *Comparison {
	slices.SortFunc(rotations, func(a, b rotationsv1.LearningRotation) int { return int(roundLabel(&a) - roundLabel(&b)) })
	out := &Comparison{Program: program, Participant: participant, Rounds: []ComparedRound{}, Exercises: []ComparedExercise{}}
	index := map[string]int{}
	for i, lr := range rotations {
		st := &lr.Status
		out.Learner = lr.Spec.Learner.Name
		out.Rounds = append(out.Rounds, ComparedRound{Round: roundLabel(&lr), Rotation: lr.Name, Phase: orDash(string(st.Phase)),
			StartedAt: timePtr(st.StartedAt), Score: st.Score, MaxScore: st.MaxScore, Completed: st.Completed, Total: st.Total})
		// Exercises the round selected but has not graded yet count too.
		for _, n := range lr.Spec.Exercises.Names {
			ensureExercise(out, index, string(n), len(rotations))
		}
		for _, e := range st.Exercises {
			ce := &out.Exercises[ensureExercise(out, index, e.Name, len(rotations))]
			ce.EstimatedMinutes = max(ce.EstimatedMinutes, e.EstimatedMinutes)
			ce.Results[i] = &ComparedResult{State: string(e.State), BestPoints: e.BestPoints, MaxPoints: e.MaxPoints, MinutesToPass: e.MinutesToPass,
				Attempts: e.Attempts, FailedAttempts: e.FailedAttempts, HintsUnlocked: e.HintsUnlocked, Resets: e.Resets}
		}
		for _, n := range lr.Spec.Exercises.Names {
			if ce := &out.Exercises[index[string(n)]]; ce.Results[i] == nil {
				ce.Results[i] = &ComparedResult{State: string(rotationsv1.ExerciseNotStarted)}
			}
		}
	}
	return out
}

func ensureExercise(c *Comparison, index map[string]int, name string, rounds int) int {
	if i, ok := index[name]; ok {
		return i
	}
	index[name] = len(c.Exercises)
	c.Exercises = append(c.Exercises, ComparedExercise{Name: name, Results: make([]*ComparedResult, rounds)})
	return index[name]
}

func writeComparisonMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# %s in program %s\n\n", mdCell(c.Learner), c.Program)
	head, sep := "| |", "|---|"
	for _, r := range c.Rounds {
		head += fmt.Sprintf(" Round %d |", r.Round)
		sep += "---|"
	}
	p("%s\n%s\n", head, sep)
	row := func(label string, cell func(r ComparedRound) string) {
		p("| %s |", label)
		for _, r := range c.Rounds {
			p(" %s |", cell(r))
		}
		p("\n")
	}
	row("Rotation", func(r ComparedRound) string { return r.Rotation })
	row("Started", func(r ComparedRound) string {
		if r.StartedAt == nil {
			return "-"
		}
		return utc(*r.StartedAt)
	})
	row("Phase", func(r ComparedRound) string { return r.Phase })
	row("Score", func(r ComparedRound) string {
		return fmt.Sprintf("%d/%d (%s)", r.Score, r.MaxScore, percent(r.Score, r.MaxScore))
	})
	row("Passed", func(r ComparedRound) string { return fmt.Sprintf("%d/%d", r.Completed, r.Total) })

	p("\n## By exercise\n\n")
	p("%s\n%s\n", strings.Replace(head, "| |", "| Exercise (estimate) |", 1), sep)
	for _, e := range c.Exercises {
		label := mdCell(e.Name)
		if e.EstimatedMinutes > 0 {
			label += fmt.Sprintf(" (%dm)", e.EstimatedMinutes)
		}
		p("| %s |", label)
		for _, r := range e.Results {
			p(" %s |", comparedCell(r, e.EstimatedMinutes))
		}
		p("\n")
	}
	p("\nEach cell: state, best points, time to pass against the estimate, attempts (failed), hints used; \"-\" where the round did not select the exercise.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func comparedCell(r *ComparedResult, estimate int32) string {
	if r == nil {
		return "-"
	}
	parts := []string{stateIcon(r.State)}
	if r.MaxPoints > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d", r.BestPoints, r.MaxPoints))
	}
	if r.MinutesToPass > 0 {
		t := fmt.Sprintf("%dm", r.MinutesToPass)
		if estimate > 0 {
			t += fmt.Sprintf(" (%s of estimate)", percent(r.MinutesToPass, estimate))
		}
		parts = append(parts, t)
	}
	if r.Attempts > 0 {
		a := count(int(r.Attempts), "attempt")
		if r.FailedAttempts > 0 {
			a += fmt.Sprintf(" (%d failed)", r.FailedAttempts)
		}
		parts = append(parts, a)
	}
	if r.HintsUnlocked > 0 {
		parts = append(parts, count(int(r.HintsUnlocked), "hint"))
	}
	if r.Resets > 0 {
		parts = append(parts, count(int(r.Resets), "reset"))
	}
	return strings.Join(parts, ", ")
}

// count is "1 hint", "2 hints".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
