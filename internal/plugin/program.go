package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// `kubectl rotation program`: a RotationProgram's cohort (status) and one
// participant's rounds side by side (compare), as Markdown or JSON.

func newProgramCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "program",
		Short: "RotationPrograms: a cohort's status, one learner's rounds compared",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newProgramStatusCommand(o), newProgramCompareCommand(o))
	return cmd
}

// ProgramStatus is `program status -o json`: the program's status, stable
// for scripts.
type ProgramStatus struct {
	Program      string                          `json:"program"`
	Phase        string                          `json:"phase"`
	Suspended    bool                            `json:"suspended"`
	Round        int32                           `json:"round"`
	Rounds       *int32                          `json:"rounds,omitempty"`
	NextRoundAt  *time.Time                      `json:"nextRoundAt,omitempty"`
	Problems     []string                        `json:"problems,omitempty"`
	Participants []rotationsv1.ParticipantStatus `json:"participants"`
	RoundStatus  []rotationsv1.RoundStatus       `json:"roundStatus"`
}

func newProgramStatusCommand(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status PROGRAM",
		Short: "A program's cohort: each participant's round and progress, each round's completion",
		Long: `Print a RotationProgram's cohort status: per participant their latest
round, phase, score, progress, open help request and overrun exercises; per
round how many rotations completed and, per exercise, how many passed and
the median time to pass against the estimate.

  -o markdown  (default) for a review document
  -o json      for scripts`,
		Example: `  kubectl rotation program status onboarding
  kubectl rotation program status onboarding -o json | jq '.participants[] | select(.helpRequestedAt)'`,
		Args: exactArgs(1, "PROGRAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			p, err := o.getProgram(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st := buildProgramStatus(p)
			if output == "json" {
				return writeJSON(o.Streams.Out, st)
			}
			return writeProgramStatusMarkdown(o.Streams.Out, st)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "Output format: markdown or json")
	return cmd
}

func checkOutput(output string) error {
	switch output {
	case "markdown", "md", "json":
		return nil
	}
	return usageErrorf(fmt.Errorf("unknown output format %q: one of markdown, json", output))
}

func (o *Options) getProgram(ctx context.Context, name string) (*rotationsv1.RotationProgram, error) {
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	p := &rotationsv1.RotationProgram{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("program %q not found", name)
		}
		return nil, err
	}
	return p, nil
}

func buildProgramStatus(p *rotationsv1.RotationProgram) *ProgramStatus {
	st := &p.Status
	out := &ProgramStatus{
		Program: p.Name, Phase: string(st.Phase), Suspended: p.Spec.Suspend, Round: st.Round, Rounds: p.Spec.Cadence.Rounds,
		NextRoundAt: timePtr(st.NextRoundAt), Participants: st.Participants, RoundStatus: st.Rounds,
	}
	if out.Participants == nil {
		out.Participants = []rotationsv1.ParticipantStatus{}
	}
	if out.RoundStatus == nil {
		out.RoundStatus = []rotationsv1.RoundStatus{}
	}
	for _, c := range st.Conditions {
		if c.Status == metav1.ConditionFalse && (c.Type == rotationsv1.ConditionReady || c.Type == rotationsv1.ConditionScheduleValid ||
			c.Type == "NotificationSinkReady") {
			out.Problems = append(out.Problems, fmt.Sprintf("%s: %s", c.Type, c.Message))
		}
	}
	if meta.IsStatusConditionFalse(st.Conditions, rotationsv1.ConditionReady) && len(out.Problems) == 0 {
		out.Problems = append(out.Problems, "Ready: False")
	}
	return out
}

// utc formats a time for program output: UTC, so a cohort across time
// zones reads the same report.
func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func writeProgramStatusMarkdown(w io.Writer, st *ProgramStatus) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Program: %s\n\n| | |\n|---|---|\n", st.Program)
	p("| Phase | %s |\n", orDash(st.Phase))
	round := fmt.Sprintf("%d", st.Round)
	if st.Rounds != nil {
		round += fmt.Sprintf(" of %d", *st.Rounds)
	}
	p("| Round | %s |\n", round)
	if st.NextRoundAt != nil {
		p("| Next round | %s |\n", utc(*st.NextRoundAt))
	}
	if st.Suspended {
		p("| Suspended | yes: no round starts |\n")
	}
	for _, pr := range st.Problems {
		p("| Problem | %s |\n", mdCell(pr))
	}
	p("\n## Participants\n\n")
	p("| Participant | Learner | Round | Rotation | Phase | Score | Progress | Help | Overrun | Note |\n")
	p("|---|---|---:|---|---|---:|---|---|---|---|\n")
	for _, ps := range st.Participants {
		help := "-"
		if ps.HelpRequestedAt != nil {
			help = "🆘 since " + utc(ps.HelpRequestedAt.Time)
		}
		score := "-"
		if ps.MaxScore > 0 {
			score = fmt.Sprintf("%d/%d", ps.Score, ps.MaxScore)
		}
		note := ps.Skipped
		if ps.Completed {
			note = strings.TrimPrefix(note+"; all passed", "; ")
		}
		p("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(ps.Name), mdCell(ps.Learner), ps.Round, orDash(ps.Rotation),
			orDash(string(ps.Phase)), score, orDash(ps.Progress), help, orDash(strings.Join(ps.Overrun, ", ")), orDash(mdCell(note)))
	}
	if len(st.RoundStatus) > 0 {
		p("\n## Rounds\n\n")
		p("| Round | Scheduled | Started | Rotations | Completed |\n|---:|---|---|---:|---:|\n")
		for _, rs := range st.RoundStatus {
			p("| %d | %s | %s | %d | %d (%d%%) |\n", rs.Round, utc(rs.ScheduledAt.Time), utc(rs.StartedAt.Time), rs.Rotations, rs.Completed, rs.CompletionPercent)
		}
		for _, rs := range st.RoundStatus {
			if len(rs.Exercises) == 0 {
				continue
			}
			p("\n### Round %d by exercise\n\n| Exercise | Passed | Median time to pass | Estimate |\n|---|---:|---:|---:|\n", rs.Round)
			for _, e := range rs.Exercises {
				p("| %s | %d/%d | %s | %s |\n", mdCell(e.Name), e.Passed, e.Selected, minutes(e.MedianMinutesToPass), minutes(e.EstimatedMinutes))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func minutes(m int32) string {
	if m <= 0 {
		return "-"
	}
	return fmt.Sprintf("%dm", m)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
