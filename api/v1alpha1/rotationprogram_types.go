package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ParticipantName identifies a participant in a program; it is part of the
// names of their rotations, <program>-<participant>-r<N>.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="participant names are lowercase DNS labels: a-z, 0-9 and '-'"
type ParticipantName string

// Participant is one learner of a program.
type Participant struct {
	// Name is the participant's short name in rotation names.
	// +required
	Name ParticipantName `json:"name"`

	// Learner is who does the exercises, as in a LearningRotation.
	// +required
	Learner Learner `json:"learner"`

	// Mentors of this participant only, added to the template's.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Mentors []Subject `json:"mentors,omitempty"`
}

// RotationTemplate is what every round's rotations are made from. Changing
// it affects future rounds only: a created rotation is never changed.
type RotationTemplate struct {
	// Exercises every round selects (see spec.selection).
	// +optional
	Exercises ExerciseSelection `json:"exercises,omitempty"`

	// Duration of each rotation, from its round's start.
	// +kubebuilder:default="336h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="duration must be a positive Go duration such as 336h or 90m"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// Retention of each lab after its rotation ends.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="retention must be a Go duration such as 168h"
	// +optional
	Retention *metav1.Duration `json:"retention,omitempty"`

	// Size of each lab's quota.
	// +kubebuilder:default=small
	// +optional
	Size SizeProfile `json:"size,omitempty"`

	// Mentors of every participant.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Mentors []Subject `json:"mentors,omitempty"`
}

// Cadence says when rounds start: every interval or on a cron schedule,
// from start, for a number of rounds or until an end date.
// +kubebuilder:validation:XValidation:rule="has(self.interval) != has(self.cron)",message="set exactly one of cadence.interval and cadence.cron"
// +kubebuilder:validation:XValidation:rule="has(self.rounds) || has(self.endDate)",message="set cadence.rounds or cadence.endDate: a program must end"
// +kubebuilder:validation:XValidation:rule="!has(self.endDate) || !has(self.start) || self.endDate > self.start",message="cadence.endDate must be after cadence.start"
type Cadence struct {
	// Interval between round starts, for example "720h" (every 30 days).
	// It must not be shorter than the template's duration, so a learner's
	// rounds never overlap.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1m')",message="interval must be a Go duration of at least 1m such as 720h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Cron is a five-field schedule ("0 9 1 * *": 09:00 UTC on the 1st of
	// each month), read in UTC. A schedule that never fires is reported by
	// the ScheduleValid condition.
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self.matches('^ *[^ ]+( +[^ ]+){4} *$') || self.matches('^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$')",message="cron must have five fields (minute hour day-of-month month day-of-week) or be @daily, @weekly, @monthly..."
	// +optional
	Cron string `json:"cron,omitempty"`

	// Start of the first round; defaults to the program's creation.
	// +optional
	Start *metav1.Time `json:"start,omitempty"`

	// Rounds is how many rounds the program runs.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=999
	// +optional
	Rounds *int32 `json:"rounds,omitempty"`

	// EndDate: no round starts at or after it.
	// +optional
	EndDate *metav1.Time `json:"endDate,omitempty"`
}

// SelectionPolicy is what a new round selects for a participant.
// +kubebuilder:validation:Enum=All;Unpassed;PerRound
type SelectionPolicy string

// The selection policies.
const (
	// SelectAll selects the template's exercises every round.
	SelectAll SelectionPolicy = "All"
	// SelectUnpassed selects the template's exercises the participant has
	// not passed in an earlier round of the program.
	SelectUnpassed SelectionPolicy = "Unpassed"
	// SelectPerRound selects spec.selection.rounds' entry for the round,
	// or the template's exercises for a round without one.
	SelectPerRound SelectionPolicy = "PerRound"
)

// RoundSelection is the exercises of one round under the PerRound policy.
type RoundSelection struct {
	// Round number, from 1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=999
	Round int32 `json:"round"`
	// Exercises of that round.
	Exercises ExerciseSelection `json:"exercises"`
}

// Selection says what each round selects.
// +kubebuilder:validation:XValidation:rule="!has(self.rounds) || size(self.rounds) == 0 || self.policy == 'PerRound'",message="selection.rounds is only read with policy PerRound"
type Selection struct {
	// Policy: All (default), Unpassed or PerRound.
	// +kubebuilder:default=All
	// +optional
	Policy SelectionPolicy `json:"policy,omitempty"`

	// Rounds lists per-round selections (policy PerRound).
	// +listType=map
	// +listMapKey=round
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Rounds []RoundSelection `json:"rounds,omitempty"`
}

// NotificationFormat is how a notification is posted.
// +kubebuilder:validation:Enum=CloudEvents;JSON
type NotificationFormat string

// The notification formats.
const (
	// NotifyCloudEvents posts a CloudEvent in structured mode
	// (application/cloudevents+json).
	NotifyCloudEvents NotificationFormat = "CloudEvents"
	// NotifyJSON posts the notification as a plain JSON object.
	NotifyJSON NotificationFormat = "JSON"
)

// NotificationSink sends mentors what happens in a program's rotations or
// in one rotation.
// +kubebuilder:validation:XValidation:rule="size(self.urlSecretRef.namespace) > 0 && size(self.urlSecretRef.name) > 0 && size(self.urlSecretRef.key) > 0",message="urlSecretRef needs a namespace, a name and a key"
type NotificationSink struct {
	// URLSecretRef points at the Secret key holding the webhook URL; a URL
	// carries credentials (Slack's do), so it is not written in the spec.
	// +required
	URLSecretRef SecretKeyReference `json:"urlSecretRef"`

	// Format of the POST body.
	// +kubebuilder:default=CloudEvents
	// +optional
	Format NotificationFormat `json:"format,omitempty"`
}

// RotationProgramSpec is a recurring rotation for a cohort.
// +kubebuilder:validation:XValidation:rule="self.participants.all(p, self.participants.exists_one(q, q.learner.name == p.learner.name && q.learner.kind == p.learner.kind))",message="a learner may be only one participant of a program"
// +kubebuilder:validation:XValidation:rule="!has(self.cadence.interval) || !has(self.template.duration) || duration(self.cadence.interval) >= duration(self.template.duration)",message="cadence.interval must not be shorter than template.duration: a participant's rounds would overlap"
// +kubebuilder:validation:XValidation:rule="!has(self.cadence.rounds) || self.selection.policy != 'PerRound' || !has(self.selection.rounds) || self.selection.rounds.all(r, r.round <= self.cadence.rounds)",message="selection.rounds names a round after cadence.rounds"
type RotationProgramSpec struct {
	// Template of every round's rotations.
	// +kubebuilder:default={}
	// +optional
	Template RotationTemplate `json:"template,omitempty"`

	// Participants each get one rotation per round.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	// +required
	Participants []Participant `json:"participants"`

	// Cadence of the rounds.
	// +required
	Cadence Cadence `json:"cadence"`

	// Selection of each round's exercises.
	// +kubebuilder:default={}
	// +optional
	Selection Selection `json:"selection,omitempty"`

	// Suspend starts no round while set; rotations already running are
	// left alone (suspend them one by one). Round times that pass while
	// suspended are skipped; on resume the next round starts at once.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Notification sends mentors the program's events (help requested and
	// acknowledged, exercise passed, regressed or overrun, rotation
	// completed, round started) to a webhook.
	// +optional
	Notification *NotificationSink `json:"notification,omitempty"`
}

// ProgramPhase summarises a program.
// +kubebuilder:validation:Enum=Scheduled;Running;Suspended;Finished;Failed
type ProgramPhase string

// The phases of a program.
const (
	ProgramScheduled ProgramPhase = "Scheduled"
	ProgramRunning   ProgramPhase = "Running"
	ProgramSuspended ProgramPhase = "Suspended"
	ProgramFinished  ProgramPhase = "Finished"
	ProgramFailed    ProgramPhase = "Failed"
)

// ParticipantStatus is where one participant is: their latest round.
type ParticipantStatus struct {
	Name string `json:"name"`
	// Learner is the participant's learner name.
	Learner string `json:"learner"`
	// Round is the participant's latest round; 0 before the first.
	Round int32 `json:"round"`
	// Rotation is that round's LearningRotation.
	// +optional
	Rotation string `json:"rotation,omitempty"`
	// +optional
	Phase RotationPhase `json:"phase,omitempty"`
	// +optional
	Score int32 `json:"score"`
	// +optional
	MaxScore int32 `json:"maxScore"`
	// Progress is completed/total exercises of the round.
	// +optional
	Progress string `json:"progress,omitempty"`
	// HelpRequestedAt is set while the participant's help request is open.
	// +optional
	HelpRequestedAt *metav1.Time `json:"helpRequestedAt,omitempty"`
	// Passed names the round's exercises passed at least once.
	// +listType=atomic
	// +optional
	Passed []string `json:"passed,omitempty"`
	// Regressed names the round's exercises that passed and now fail.
	// +listType=atomic
	// +optional
	Regressed []string `json:"regressed,omitempty"`
	// Overrun names the round's exercises past twice their estimate.
	// +listType=atomic
	// +optional
	Overrun []string `json:"overrun,omitempty"`
	// Completed: every exercise of the round passed.
	// +optional
	Completed bool `json:"completed,omitempty"`
	// Skipped says why the participant has no rotation in the latest round
	// (nothing left to pass, or a rotation of theirs still running).
	// +optional
	Skipped string `json:"skipped,omitempty"`
}

// ExerciseRoundStatus is one exercise across a round's rotations.
type ExerciseRoundStatus struct {
	Name string `json:"name"`
	// Passed rotations out of Selected (those that selected the exercise).
	Passed   int32 `json:"passed"`
	Selected int32 `json:"selected"`
	// MedianMinutesToPass over the rotations that passed it.
	// +optional
	MedianMinutesToPass int32 `json:"medianMinutesToPass,omitempty"`
	// +optional
	EstimatedMinutes int32 `json:"estimatedMinutes,omitempty"`
}

// RoundStatus is one round of the program.
type RoundStatus struct {
	Round int32 `json:"round"`
	// ScheduledAt is the cadence's time for the round; StartedAt when it
	// started (later after a suspension).
	ScheduledAt metav1.Time `json:"scheduledAt"`
	StartedAt   metav1.Time `json:"startedAt"`
	// Rotations created for the round, and how many completed.
	Rotations int32 `json:"rotations"`
	Completed int32 `json:"completed"`
	// CompletionPercent is Completed/Rotations in percent.
	CompletionPercent int32 `json:"completionPercent"`
	// +listType=map
	// +listMapKey=name
	// +optional
	Exercises []ExerciseRoundStatus `json:"exercises,omitempty"`
}

// RotationProgramStatus is the cohort's status.
type RotationProgramStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Phase ProgramPhase `json:"phase,omitempty"`
	// Round is the latest round started; 0 before the first.
	// +optional
	Round int32 `json:"round"`
	// NextRoundAt is when the next round is due, unset once none is.
	// +optional
	NextRoundAt *metav1.Time `json:"nextRoundAt,omitempty"`
	// Participants, in spec order.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Participants []ParticipantStatus `json:"participants,omitempty"`
	// Rounds, oldest first; the most recent MaxRoundsInStatus are kept.
	// +listType=map
	// +listMapKey=round
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Rounds []RoundStatus `json:"rounds,omitempty"`
	// Conditions: Ready, ScheduleValid, Suspended, Finished.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MaxRoundsInStatus bounds status.rounds; older rounds stay readable in
// their rotations (kubectl rotation program compare).
const MaxRoundsInStatus = 50

// RotationProgram runs recurring rotations for a cohort: one
// LearningRotation per participant per round, named
// <program>-<participant>-r<N> and owned by the program.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rp,categories=rotations
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a lowercase DNS label"
// +kubebuilder:validation:XValidation:rule="self.spec.participants.all(p, size(self.metadata.name) + size(p.name) <= 53)",message="program name and participant name together must not exceed 53 characters: rotation <program>-<participant>-r<N> and its lab namespace lab-<rotation> must fit 63"
// +kubebuilder:printcolumn:name="Round",type=integer,JSONPath=`.status.round`
// +kubebuilder:printcolumn:name="Rounds",type=integer,JSONPath=`.spec.cadence.rounds`
// +kubebuilder:printcolumn:name="Next",type=date,JSONPath=`.status.nextRoundAt`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`,priority=10
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RotationProgram struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RotationProgramSpec `json:"spec"`
	// +optional
	Status RotationProgramStatus `json:"status,omitempty"`
}

// RotationProgramList is a list of RotationPrograms.
// +kubebuilder:object:root=true
type RotationProgramList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RotationProgram `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RotationProgram{}, &RotationProgramList{})
}

// Condition types of a RotationProgram, besides Ready and Suspended.
const (
	// ConditionScheduleValid is False when the cadence cannot be read or never fires.
	ConditionScheduleValid = "ScheduleValid"
	// ConditionFinished is True once the last round started.
	ConditionFinished = "Finished"
)

// Labels and annotations on the rotations a program creates.
const (
	// LabelProgram names the program that created a rotation.
	LabelProgram = "rotations.handson.dev/program"
	// LabelParticipant names the participant a rotation is for.
	LabelParticipant = "rotations.handson.dev/participant"
	// LabelRound is the rotation's round number.
	LabelRound = "rotations.handson.dev/round"
	// AnnotationScheduledAt is the cadence time of the rotation's round (RFC 3339).
	AnnotationScheduledAt = "rotations.handson.dev/scheduled-at"
)
