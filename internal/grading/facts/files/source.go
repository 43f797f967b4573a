// Package files is the fact source of the submission variable: the
// submitted files' text, for checks such as
// submission.files['main.tf'].contains('backend').
package files

import (
	"context"

	"github.com/google/cel-go/cel"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of an exercise's latest submission:
// submission.files['main.tf'] is a file's text, submission.digest its sha256.
const Variable = "submission"

// Source provides the submission variable. A reset leaves the submission:
// it is the learner's.
type Source struct{}

// Variable is "submission".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name.
func (Source) Type() *cel.Type { return cel.MapType(cel.StringType, cel.DynType) }

// Facts are files and digest.
func (Source) Facts() []string { return []string{"files", "digest"} }

// ReadsSubmission is true: the submission is all it reads.
func (Source) ReadsSubmission() bool { return true }

// NeedsSubmission is true: every fact is the submission's.
func (Source) NeedsSubmission([]string) bool { return true }

// Collect returns the submission's own facts; without one, no files.
func (Source) Collect(_ context.Context, req factsource.Request) (map[string]any, error) {
	if req.Submission == nil {
		return map[string]any{"files": map[string]any{}, "digest": ""}, nil
	}
	return req.Submission.Facts(), nil
}

// ResetTargets is empty: the submission is the learner's.
func (Source) ResetTargets(context.Context, factsource.ResetRequest) (factsource.Targets, error) {
	return factsource.Targets{}, nil
}
