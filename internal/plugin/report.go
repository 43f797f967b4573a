package plugin

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Report is a rotation's grade report, as -o json prints it.
type Report struct {
	Rotation    string           `json:"rotation"`
	Learner     string           `json:"learner"`
	Mentors     []string         `json:"mentors,omitempty"`
	Phase       string           `json:"phase"`
	StartedAt   *time.Time       `json:"startedAt,omitempty"`
	Deadline    *time.Time       `json:"deadline,omitempty"`
	GeneratedAt time.Time        `json:"generatedAt"`
	Score       int32            `json:"score"`
	MaxScore    int32            `json:"maxScore"`
	Completed   int32            `json:"completed"`
	Total       int32            `json:"total"`
	Exercises   []ReportExercise `json:"exercises"`
}

// ReportExercise is one exercise of a Report.
type ReportExercise struct {
	Name             string        `json:"name"`
	Title            string        `json:"title,omitempty"`
	Track            string        `json:"track,omitempty"`
	State            string        `json:"state"`
	Points           int32         `json:"points"`
	BestPoints       int32         `json:"bestPoints"`
	MaxPoints        int32         `json:"maxPoints"`
	Attempts         int32         `json:"attempts"`
	FailedAttempts   int32         `json:"failedAttempts"`
	Resets           int32         `json:"resets"`
	HintsUnlocked    int32         `json:"hintsUnlocked"`
	EstimatedMinutes int32         `json:"estimatedMinutes,omitempty"`
	MinutesToPass    int32         `json:"minutesToPass,omitempty"`
	StartedAt        *time.Time    `json:"startedAt,omitempty"`
	FirstPassedAt    *time.Time    `json:"firstPassedAt,omitempty"`
	Checks           []ReportCheck `json:"checks"`
}

// ReportCheck is one check of a ReportExercise. MaxPoints is known when the
// Exercise could be read.
type ReportCheck struct {
	Name      string `json:"name"`
	Passed    bool   `json:"passed"`
	Points    int32  `json:"points"`
	MaxPoints *int32 `json:"maxPoints,omitempty"`
	Message   string `json:"message,omitempty"`
}

func newReportCommand(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report ROTATION",
		Short: "A grade report to attach to a review: Markdown, JSON or JUnit XML",
		Long: `Print the rotation's grade report: score, exercises passed, and per
exercise its state, points, attempts, time to pass and every check with its
message.

  -o markdown  for a review document or a pull request (default)
  -o json      for scripts (a stable report, not the raw object)
  -o junit     JUnit XML for CI dashboards: one testsuite per exercise, one
               testcase per check, failed checks as failures with their message`,
		Example: `  kubectl rotation report alice > alice-review.md
  kubectl rotation report alice -o junit > alice.xml
  kubectl rotation report alice -o json | jq .score`,
		Args: exactArgs(1, "ROTATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "markdown", "md", "json", "junit":
			default:
				return usageErrorf(fmt.Errorf("unknown output format %q: one of markdown, json, junit", output))
			}
			lr, err := o.getRotation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r := buildReport(lr, o.exerciseCatalog(cmd.Context()), o.Now())
			switch output {
			case "json":
				return writeReportJSON(o.Streams.Out, r)
			case "junit":
				return writeReportJUnit(o.Streams.Out, r)
			default:
				return writeReportMarkdown(o.Streams.Out, r, o.Now())
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "Output format: markdown, json or junit")
	return cmd
}

func buildReport(lr *rotationsv1.LearningRotation, catalog map[string]*rotationsv1.Exercise, now time.Time) *Report {
	s := &lr.Status
	r := &Report{
		Rotation: lr.Name, Learner: lr.Spec.Learner.Name, Phase: string(s.Phase),
		StartedAt: timePtr(s.StartedAt), Deadline: timePtr(s.Deadline), GeneratedAt: now.UTC().Truncate(time.Second),
		Score: s.Score, MaxScore: s.MaxScore, Completed: s.Completed, Total: s.Total,
		Exercises: []ReportExercise{},
	}
	if r.Phase == "" {
		r.Phase = string(rotationsv1.PhasePending)
	}
	for _, m := range lr.Spec.Mentors {
		r.Mentors = append(r.Mentors, m.Name)
	}
	for _, e := range s.Exercises {
		re := ReportExercise{
			Name: e.Name, Track: string(e.Track), State: string(e.State),
			Points: e.Points, BestPoints: e.BestPoints, MaxPoints: e.MaxPoints,
			Attempts: e.Attempts, FailedAttempts: e.FailedAttempts, Resets: e.Resets, HintsUnlocked: e.HintsUnlocked,
			EstimatedMinutes: e.EstimatedMinutes, MinutesToPass: e.MinutesToPass,
			StartedAt: timePtr(e.StartedAt), FirstPassedAt: timePtr(e.FirstPassedAt),
			Checks: []ReportCheck{},
		}
		maxPoints := map[string]int32{}
		if ex := catalog[e.Name]; ex != nil {
			re.Title = ex.Spec.Title
			for _, c := range ex.Spec.Checks {
				maxPoints[c.Name] = c.Points
			}
		}
		for _, c := range e.Checks {
			rc := ReportCheck{Name: c.Name, Passed: c.Passed, Points: c.Points, Message: c.Message}
			if m, ok := maxPoints[c.Name]; ok {
				rc.MaxPoints = &m
			}
			re.Checks = append(re.Checks, rc)
		}
		r.Exercises = append(r.Exercises, re)
	}
	return r
}

func timePtr(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func writeReportJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages stay readable: <plan> & "apply"
	return enc.Encode(r)
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func stateIcon(state string) string {
	switch rotationsv1.ExerciseState(state) {
	case rotationsv1.ExercisePassed:
		return "✅ Passed"
	case rotationsv1.ExerciseFailed:
		return "❌ Failed"
	case rotationsv1.ExerciseInProgress:
		return "🟡 In progress"
	default:
		return "⚪ Not started"
	}
}

func percent(n, d int32) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", int(float64(n)*100/float64(d)+0.5))
}

func writeReportMarkdown(w io.Writer, r *Report, now time.Time) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Rotation report: %s\n\n", r.Rotation)
	p("| | |\n|---|---|\n")
	p("| Learner | %s |\n", mdCell(r.Learner))
	if len(r.Mentors) > 0 {
		p("| Mentors | %s |\n", mdCell(strings.Join(r.Mentors, ", ")))
	}
	p("| Phase | %s |\n", r.Phase)
	p("| Score | %d/%d (%s) |\n", r.Score, r.MaxScore, percent(r.Score, r.MaxScore))
	p("| Exercises passed | %d/%d |\n", r.Completed, r.Total)
	if r.StartedAt != nil {
		p("| Started | %s |\n", formatTime(*r.StartedAt))
	}
	if r.Deadline != nil {
		p("| Deadline | %s (%s) |\n", formatTime(*r.Deadline), timeLeft(*r.Deadline, now))
	}
	p("| Generated | %s |\n", formatTime(r.GeneratedAt))
	if len(r.Exercises) == 0 {
		p("\nNo exercises graded yet.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	p("\n## Summary\n\n")
	p("| Exercise | Track | State | Points | Attempts | Hints | Resets | Time to pass |\n")
	p("|---|---|---|---:|---:|---:|---:|---|\n")
	for _, e := range r.Exercises {
		points := fmt.Sprintf("%d/%d", e.BestPoints, e.MaxPoints)
		if e.Points < e.BestPoints {
			points += fmt.Sprintf(" (now %d)", e.Points)
		}
		attempts := fmt.Sprintf("%d", e.Attempts)
		if e.FailedAttempts > 0 {
			attempts += fmt.Sprintf(" (%d failed)", e.FailedAttempts)
		}
		ttp := "-"
		if e.MinutesToPass > 0 {
			ttp = fmt.Sprintf("%dm", e.MinutesToPass)
			if e.EstimatedMinutes > 0 {
				ttp += fmt.Sprintf(" (estimate %dm)", e.EstimatedMinutes)
			}
		}
		p("| %s | %s | %s | %s | %s | %d | %d | %s |\n", mdCell(e.Name), orDash(e.Track), stateIcon(e.State), points, attempts, e.HintsUnlocked, e.Resets, ttp)
	}
	for _, e := range r.Exercises {
		p("\n## %s", e.Name)
		if e.Title != "" {
			p(": %s", mdCell(e.Title))
		}
		p("\n\n")
		if len(e.Checks) == 0 {
			p("Not graded yet.\n")
			continue
		}
		p("| Check | Result | Points | Message |\n|---|---|---:|---|\n")
		for _, c := range e.Checks {
			res := "✅ pass"
			if !c.Passed {
				res = "❌ fail"
			}
			points := fmt.Sprintf("%d", c.Points)
			if c.MaxPoints != nil {
				points += fmt.Sprintf("/%d", *c.MaxPoints)
			}
			p("| %s | %s | %s | %s |\n", mdCell(c.Name), res, points, mdCell(c.Message))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit XML, the schema CI dashboards read (Jenkins, GitLab, GitHub actions).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func writeReportJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: "rotation " + r.Rotation, Time: "0"}
	for _, e := range r.Exercises {
		s := junitSuite{
			Name: e.Name, Time: "0", Timestamp: r.GeneratedAt.Format("2006-01-02T15:04:05"),
			Properties: []junitProperty{
				{"rotation", r.Rotation},
				{"learner", r.Learner},
				{"title", e.Title},
				{"track", e.Track},
				{"state", e.State},
				{"points", fmt.Sprintf("%d/%d", e.Points, e.MaxPoints)},
				{"bestPoints", fmt.Sprintf("%d", e.BestPoints)},
				{"attempts", fmt.Sprintf("%d", e.Attempts)},
				{"failedAttempts", fmt.Sprintf("%d", e.FailedAttempts)},
			},
		}
		class := r.Rotation + "." + e.Name
		for _, c := range e.Checks {
			tc := junitCase{Name: c.Name, Classname: class, Time: "0"}
			if !c.Passed {
				tc.Failure = &junitFailure{Message: c.Message, Type: "CheckFailed", Text: c.Message}
				s.Failures++
			}
			s.Cases = append(s.Cases, tc)
		}
		if len(e.Checks) == 0 {
			s.Cases = append(s.Cases, junitCase{Name: "graded", Classname: class, Time: "0", Skipped: &junitSkipped{Message: "not graded yet"}})
			s.Skipped++
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", xml.Header, b)
	return err
}
