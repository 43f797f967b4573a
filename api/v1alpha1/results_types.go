package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ExerciseState is where a learner is with one exercise.
// +kubebuilder:validation:Enum=Locked;NotStarted;InProgress;Passed;Failed
type ExerciseState string

const (
	// ExerciseLocked means an exercise named in the exercise's spec.after has
	// not passed yet: its instructions are there, it is not graded.
	ExerciseLocked ExerciseState = "Locked"
	// ExerciseNotStarted means no check passes and the learner has not touched the exercise.
	ExerciseNotStarted ExerciseState = "NotStarted"
	// ExerciseInProgress means some work is there, not every check passes yet.
	ExerciseInProgress ExerciseState = "InProgress"
	// ExercisePassed means every check passes.
	ExercisePassed ExerciseState = "Passed"
	// ExerciseFailed means the exercise passed before and a later change broke it, or it
	// cannot be graded (for example the Exercise is missing or invalid).
	ExerciseFailed ExerciseState = "Failed"
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Points int32  `json:"points"`
	// Message is the check's failure message, or the evaluation error.
	// +optional
	Message string `json:"message,omitempty"`
	// ResetSuggested: the check failing means the exercise cannot be
	// repaired in place; the message suggests a reset.
	// +optional
	ResetSuggested bool `json:"resetSuggested,omitempty"`
}

// ExerciseResult is the graded state of one exercise in a rotation.
type ExerciseResult struct {
	Name  string        `json:"name"`
	Track Track         `json:"track,omitempty"`
	State ExerciseState `json:"state"`

	// Points the checks give now; BestPoints the most they ever gave. The
	// rotation's score counts BestPoints: a later regression shows in State
	// and an event, but does not take earned credit away.
	Points     int32 `json:"points"`
	BestPoints int32 `json:"bestPoints"`
	MaxPoints  int32 `json:"maxPoints"`

	// +listType=atomic
	// +optional
	Checks []CheckResult `json:"checks,omitempty"`

	// Attempts counts gradings whose facts differed from the previous one.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// FailedAttempts counts the attempts that did not pass.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`

	// StarterCreatedAt is when the exercise's starter objects were created; they are created once.
	// +optional
	StarterCreatedAt *metav1.Time `json:"starterCreatedAt,omitempty"`

	// StartedAt is the first grading that saw the learner's work.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FirstPassedAt *metav1.Time `json:"firstPassedAt,omitempty"`
	// +optional
	LastGradedAt *metav1.Time `json:"lastGradedAt,omitempty"`

	// FactsHash identifies the facts last graded, so unchanged facts write nothing.
	// +optional
	FactsHash string `json:"factsHash,omitempty"`

	// HintsUnlocked counts the exercise's hints now available; Hint is the newest.
	// +optional
	HintsUnlocked int32 `json:"hintsUnlocked,omitempty"`
	// +optional
	Hint string `json:"hint,omitempty"`

	// EstimatedMinutes is the exercise author's estimate, copied here so a
	// mentor can compare it with the time spent.
	// +optional
	EstimatedMinutes int32 `json:"estimatedMinutes,omitempty"`
	// MinutesToPass is the time from StartedAt to FirstPassedAt, less
	// PausedSeconds. An exercise taking far longer than EstimatedMinutes is
	// worth a mentor's look.
	// +optional
	MinutesToPass int32 `json:"minutesToPass,omitempty"`
	// PausedSeconds is how long the rotation was suspended while this
	// exercise was in progress (started, not yet passed): that time is not
	// the learner's, so it counts neither in MinutesToPass nor against
	// the estimate.
	// +kubebuilder:validation:Minimum=0
	// +optional
	PausedSeconds int64 `json:"pausedSeconds,omitempty"`
	// OverranAt is when the exercise ran past twice its EstimatedMinutes
	// without passing (the tunnel effect); a Warning event ExerciseOverrun
	// marks it once.
	// +optional
	OverranAt *metav1.Time `json:"overranAt,omitempty"`

	// Submission is the learner's submission this result graded, for tracks
	// graded from files (Terraform, Docker).
	// +optional
	Submission *SubmissionStatus `json:"submission,omitempty"`

	// Resets counts the times the learner reset the exercise to its start;
	// credit already earned is kept.
	// +optional
	Resets int32 `json:"resets,omitempty"`
	// +optional
	LastResetAt *metav1.Time `json:"lastResetAt,omitempty"`

	// HandWritten says why the tool storage this exercise reads (Helm
	// release history, Terraform state) looks written by hand rather than by
	// the tool; checks on it then earn nothing and a Warning event tells the
	// mentor. Empty when nothing looks forged.
	// +optional
	HandWritten string `json:"handWritten,omitempty"`

	// LockedBy names the exercises of spec.after not passed yet, while the
	// exercise is Locked.
	// +listType=atomic
	// +optional
	LockedBy []string `json:"lockedBy,omitempty"`
}

// SubmissionStatus identifies a graded submission.
type SubmissionStatus struct {
	// ConfigMap in the lab namespace holding the submitted files.
	ConfigMap string `json:"configMap"`
	// Digest of the submitted files (sha256 over names and contents).
	Digest string `json:"digest"`
	// Files is the number of files submitted.
	Files int32 `json:"files"`
	// SubmittedAt is when the learner handed it in.
	// +optional
	SubmittedAt *metav1.Time `json:"submittedAt,omitempty"`
	// Error says why the submission cannot be graded (too large, binary
	// content, bad file names); empty when it was graded.
	// +optional
	Error string `json:"error,omitempty"`
}
