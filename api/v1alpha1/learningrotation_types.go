package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind is the kind of an RBAC subject a rotation grants access to.
// +kubebuilder:validation:Enum=User;Group
type SubjectKind string

// The kinds of Subject.
const (
	UserKind  SubjectKind = "User"
	GroupKind SubjectKind = "Group"
)

// Subject names a user or group, as the cluster's authenticator reports it.
// System identities are refused: binding a lab role to "system:authenticated"
// would hand every user in the cluster the lab.
// +kubebuilder:validation:XValidation:rule="!self.name.startsWith('system:')",message="name must not be a system: identity"
type Subject struct {
	// Kind is User or Group.
	// +kubebuilder:default=User
	// +optional
	Kind SubjectKind `json:"kind,omitempty"`

	// Name is the user or group name, for example "alice@example.com".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// Learner is who does the exercises.
type Learner struct {
	Subject `json:",inline"`

	// IssueKubeconfig creates a lab ServiceAccount for the learner and writes a
	// kubeconfig for it, with a short-lived token the operator keeps fresh.
	// Turn it off when learners sign in with their own cluster identity.
	// +kubebuilder:default=true
	// +optional
	IssueKubeconfig *bool `json:"issueKubeconfig,omitempty"`
}

// ExerciseName is the name of an Exercise object.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="exercise names are lowercase DNS labels: a-z, 0-9 and '-'"
type ExerciseName string

// Track is a family of exercises.
// +kubebuilder:validation:Enum=kubernetes;docker;helm;terraform;cicd
type Track string

// The tracks, one per kind of fact source.
const (
	TrackKubernetes Track = "kubernetes"
	TrackDocker     Track = "docker"
	TrackHelm       Track = "helm"
	TrackTerraform  Track = "terraform"
	TrackCICD       Track = "cicd"
)

// Tracks lists every Track, in the Enum's order: a new track is added here
// and to the Enum marker above.
var Tracks = []Track{TrackKubernetes, TrackDocker, TrackHelm, TrackTerraform, TrackCICD}

// ExerciseSelection picks the exercises of a rotation: the named ones plus
// every exercise of the listed tracks.
type ExerciseSelection struct {
	// Names of Exercise objects, in the order the learner should take them.
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Names []ExerciseName `json:"names,omitempty"`

	// Tracks selects every Exercise of these tracks.
	// +listType=set
	// +kubebuilder:validation:MaxItems=5
	// +optional
	Tracks []Track `json:"tracks,omitempty"`
}

// Schedule bounds the rotation in time.
type Schedule struct {
	// Start of the rotation. Defaults to the moment the rotation is created.
	// +optional
	Start *metav1.Time `json:"start,omitempty"`

	// Duration of the rotation, for example "336h" (two weeks).
	// +kubebuilder:default="336h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-')",message="duration must not be negative"
	// +kubebuilder:validation:XValidation:rule="self.startsWith('-') || (self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s'))",message="duration must be a positive Go duration such as 336h or 90m"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// Retention is how long the lab namespace is kept after the rotation ends.
	// The LearningRotation and its grades are kept regardless.
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-')",message="retention must not be negative"
	// +kubebuilder:validation:XValidation:rule="self.startsWith('-') || self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="retention must be a Go duration such as 168h"
	// +optional
	Retention *metav1.Duration `json:"retention,omitempty"`
}

// SizeProfile chooses the lab's ResourceQuota and LimitRange.
// +kubebuilder:validation:Enum=small;medium;large
type SizeProfile string

// The size profiles of a lab.
const (
	SizeSmall  SizeProfile = "small"
	SizeMedium SizeProfile = "medium"
	SizeLarge  SizeProfile = "large"
)

// LearningRotationSpec is what a mentor asks for.
type LearningRotationSpec struct {
	// Learner does the exercises. It cannot change once set: a new learner
	// gets a new rotation, so grades always belong to one person.
	// +kubebuilder:validation:XValidation:rule="self.kind == oldSelf.kind && self.name == oldSelf.name",message="learner is immutable; create a new LearningRotation for another learner"
	// +required
	Learner Learner `json:"learner"`

	// Mentors may read the lab and the rotation's progress.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Mentors []Subject `json:"mentors,omitempty"`

	// Exercises to grade.
	// +optional
	Exercises ExerciseSelection `json:"exercises,omitempty"`

	// Schedule of the rotation.
	// +kubebuilder:default={}
	// +optional
	Schedule Schedule `json:"schedule,omitempty"`

	// Size of the lab's quota.
	// +kubebuilder:default=small
	// +optional
	Size SizeProfile `json:"size,omitempty"`

	// Suspend pauses the rotation: the learner's Deployments and StatefulSets
	// are scaled to zero (their replica counts are remembered and restored on
	// resume, and nothing else is deleted) and grading stops.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Notification sends the rotation's mentors its events (help requested
	// and acknowledged, exercise passed, regressed or overrun, rotation
	// completed) to a webhook. A rotation a RotationProgram created uses
	// the program's sink instead: this field is not read there, so no
	// event is sent twice.
	// +optional
	Notification *NotificationSink `json:"notification,omitempty"`
}

// RotationPhase is a one-word summary of where a rotation is.
// Scheduled (start in the future) → Provisioning → Active ⇄ Suspended →
// Expired (deadline passed: read-only, grades frozen). Failed means the spec
// cannot be acted on.
// +kubebuilder:validation:Enum=Pending;Scheduled;Provisioning;Active;Suspended;Expired;Failed
type RotationPhase string

// The phases of a rotation.
const (
	PhasePending      RotationPhase = "Pending"
	PhaseScheduled    RotationPhase = "Scheduled"
	PhaseProvisioning RotationPhase = "Provisioning"
	PhaseActive       RotationPhase = "Active"
	PhaseSuspended    RotationPhase = "Suspended"
	PhaseExpired      RotationPhase = "Expired"
	PhaseFailed       RotationPhase = "Failed"
)

// LearnerAccess is what the learner may do in the lab now.
// +kubebuilder:validation:Enum=ReadWrite;ReadOnly;None
type LearnerAccess string

const (
	// AccessReadWrite means the rotation is active.
	AccessReadWrite LearnerAccess = "ReadWrite"
	// AccessReadOnly means the deadline passed or the rotation is suspended; the
	// learner can still look at their work.
	AccessReadOnly LearnerAccess = "ReadOnly"
	// AccessNone means the rotation has not started, or the lab was deleted after retention.
	AccessNone LearnerAccess = "None"
)

// HelpRequestStatus is the learner's latest request for help (the andon
// cord), raised with kubectl rotation help.
type HelpRequestStatus struct {
	// Message the learner wrote.
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`
	// RequestedAt identifies the request; a mentor acknowledges it by
	// setting the help-acknowledged annotation to this value.
	RequestedAt metav1.Time `json:"requestedAt"`
	// AcknowledgedAt is when a mentor acknowledged it; unset while open.
	// +optional
	AcknowledgedAt *metav1.Time `json:"acknowledgedAt,omitempty"`
}

// SecretKeyReference points at one key of a Secret.
type SecretKeyReference struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// KubeconfigStatus tells where the learner's kubeconfig is and when its token expires.
type KubeconfigStatus struct {
	// SecretRef is the Secret holding the kubeconfig.
	SecretRef SecretKeyReference `json:"secretRef"`
	// ExpiresAt is when the token inside expires; the operator renews it well before.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// LearningRotationStatus is what the operator observed and graded.
type LearningRotationStatus struct {
	// ObservedGeneration is the generation of the last pass that completed.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Phase summarises the rotation.
	// +optional
	Phase RotationPhase `json:"phase,omitempty"`

	// Namespace is the lab namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Kubeconfig is set when the learner has an issued kubeconfig.
	// +optional
	Kubeconfig *KubeconfigStatus `json:"kubeconfig,omitempty"`

	// StartedAt and Deadline bound the rotation.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`

	// LabDeletedAt is when the lab namespace was deleted, after the
	// retention period; the rotation and its grades are kept.
	// +optional
	LabDeletedAt *metav1.Time `json:"labDeletedAt,omitempty"`

	// Access is what the learner may do in the lab now.
	// +optional
	Access LearnerAccess `json:"access,omitempty"`

	// HelpRequest is the learner's latest help request.
	// +optional
	HelpRequest *HelpRequestStatus `json:"helpRequest,omitempty"`

	// Score is the points earned over all exercises, out of MaxScore.
	// +optional
	Score int32 `json:"score"`
	// +optional
	MaxScore int32 `json:"maxScore"`

	// Completed exercises out of Total.
	// +optional
	Completed int32 `json:"completed"`
	// +optional
	Total int32 `json:"total"`

	// Progress is Completed/Total as text, for the printer column.
	// +optional
	Progress string `json:"progress,omitempty"`

	// Exercises holds one graded result per selected exercise.
	// +listType=map
	// +listMapKey=name
	// +optional
	Exercises []ExerciseResult `json:"exercises,omitempty"`

	// Summary has one line per exercise, for people reading kubectl describe:
	// state, points, checks passed, attempts, resets and minutes against the
	// estimate. Exercises holds the same and more, for tools.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Summary []string `json:"summary,omitempty"`

	// GradeRequest echoes the last value of the grade-requested annotation
	// that a grading pass answered, so a client can wait for its request.
	// +optional
	GradeRequest string `json:"gradeRequest,omitempty"`

	// Conditions: Ready, LabProvisioned, ExercisesResolved, Graded,
	// Completed, Expired, Suspended, HelpRequested.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LearningRotation is one learner's hands-on rotation: a lab namespace with
// scoped credentials, quotas and isolation, plus the graded exercises in it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=lr,categories=rotations
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 59",message="metadata.name must be a lowercase DNS label of at most 59 characters: the lab namespace is lab-<name>"
// +kubebuilder:printcolumn:name="Learner",type=string,JSONPath=`.spec.learner.name`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Progress",type=string,JSONPath=`.status.progress`
// +kubebuilder:printcolumn:name="Score",type=integer,JSONPath=`.status.score`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.status.maxScore`,priority=10
// +kubebuilder:printcolumn:name="Deadline",type=string,JSONPath=`.status.deadline`
// +kubebuilder:printcolumn:name="Access",type=string,JSONPath=`.status.access`,priority=10
// +kubebuilder:printcolumn:name="Help",type=string,JSONPath=`.status.conditions[?(@.type=="HelpRequested")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=10
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=10
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LearningRotation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec LearningRotationSpec `json:"spec"`
	// +optional
	Status LearningRotationStatus `json:"status,omitempty"`
}

// LearningRotationList is a list of LearningRotations.
// +kubebuilder:object:root=true
type LearningRotationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LearningRotation `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LearningRotation{}, &LearningRotationList{})
}
