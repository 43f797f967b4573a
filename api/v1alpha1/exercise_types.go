package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Difficulty of an exercise.
// +kubebuilder:validation:Enum=beginner;intermediate;advanced
type Difficulty string

// Check is one graded assertion: a CEL expression over the lab's facts.
type Check struct {
	// Name identifies the check within its exercise.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="check names are lowercase DNS labels"
	// +required
	Name string `json:"name"`

	// Description says what the check looks for, in the learner's words.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Description string `json:"description,omitempty"`

	// Expression is CEL that must evaluate to true. The variable "kube" holds
	// the lab's objects by plural resource and name, for example
	// kube.deployments['web'].status.availableReplicas >= 3.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +required
	Expression string `json:"expression"`

	// Points earned when the check passes.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +required
	Points int32 `json:"points"`

	// Message is shown to the learner while the check fails.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Message string `json:"message"`

	// MessageExpression is CEL returning a string, shown instead of Message
	// while the check fails, so the message can say why from the facts (the
	// file and line of a diagnostic), as in a ValidatingAdmissionPolicy. It is
	// compiled and cost-checked like Expression; when it fails at run time or
	// returns an empty string, Message is shown.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	MessageExpression string `json:"messageExpression,omitempty"`

	// SuggestsReset marks a check that detects a state the learner cannot
	// repair in place (a failcheck): while it fails, its message suggests
	// resetting the exercise.
	// +optional
	SuggestsReset bool `json:"suggestsReset,omitempty"`
}

// Hint unlocks after some time in the exercise, some failed attempts, or
// when its When condition holds, whichever comes first. With none set it is
// available at once.
type Hint struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Text string `json:"text"`

	// AfterMinutes in the exercise (since the learner first changed something).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10080
	// +optional
	AfterMinutes *int32 `json:"afterMinutes,omitempty"`

	// AfterFailedAttempts counts gradings that changed facts but did not pass.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	AfterFailedAttempts *int32 `json:"afterFailedAttempts,omitempty"`

	// When is CEL over the facts, like a check's expression, that unlocks
	// the hint while it is true: a hint for one particular mistake, e.g.
	// !('web' in kube.services). Compiled and cost-checked like a check.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	When string `json:"when,omitempty"`
}

// StarterObject is one Kubernetes object, written as in a manifest.
// +kubebuilder:pruning:PreserveUnknownFields
// +kubebuilder:validation:EmbeddedResource
// +kubebuilder:validation:Type=object
type StarterObject struct {
	runtime.RawExtension `json:",inline"`
}

// Starter is what the lab starts with for this exercise.
type Starter struct {
	// Objects are created in the lab namespace when the exercise is added to it
	// (namespace and owner are set by the operator). The learner may change them:
	// that is often the exercise.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Objects []StarterObject `json:"objects,omitempty"`

	// Files are handed to the learner in the exercise's instructions ConfigMap,
	// keyed by file name.
	// +kubebuilder:validation:MaxProperties=20
	// +optional
	Files map[string]string `json:"files,omitempty"`
}

// ExerciseSpec defines a graded exercise.
// +kubebuilder:validation:XValidation:rule="self.checks.all(c, self.checks.exists_one(d, d.name == c.name))",message="check names must be unique"
type ExerciseSpec struct {
	// +required
	Track Track `json:"track"`

	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=120
	// +required
	Title string `json:"title"`

	// +kubebuilder:default=beginner
	// +optional
	Difficulty Difficulty `json:"difficulty,omitempty"`

	// EstimatedMinutes is the planned time, compared with the time spent.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +kubebuilder:default=30
	// +optional
	EstimatedMinutes int32 `json:"estimatedMinutes,omitempty"`

	// Instructions in Markdown.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	// +required
	Instructions string `json:"instructions"`

	// +optional
	Starter Starter `json:"starter,omitempty"`

	// Checks are graded in order; the exercise passes when all pass.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +required
	Checks []Check `json:"checks"`

	// Hints, in the order they unlock.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Hints []Hint `json:"hints,omitempty"`

	// After names exercises that must pass first: in a rotation this
	// exercise is Locked, its instructions visible, until every one of them
	// has passed. A name not in the rotation, or a cycle, is reported in the
	// rotation's ExercisesResolved condition.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	After []string `json:"after,omitempty"`
}

// ExerciseStatus reports whether the checks compile.
type ExerciseStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// MaxPoints is the sum of the checks' points.
	// +optional
	MaxPoints int32 `json:"maxPoints,omitempty"`

	// Facts lists the facts the checks read, e.g. kube.deployments.
	// +listType=atomic
	// +optional
	Facts []string `json:"facts,omitempty"`

	// Conditions: Ready is False with reason CheckCompileFailed when a check
	// does not compile, or InvalidStarter when a starter object is malformed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Exercise is a graded task in the catalog. Built-in exercises are installed
// from labs/ and labelled rotations.handson.dev/builtin=true.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ex,categories=rotations
// +kubebuilder:printcolumn:name="Track",type=string,JSONPath=`.spec.track`
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Difficulty",type=string,JSONPath=`.spec.difficulty`
// +kubebuilder:printcolumn:name="Minutes",type=integer,JSONPath=`.spec.estimatedMinutes`
// +kubebuilder:printcolumn:name="Points",type=integer,JSONPath=`.status.maxPoints`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.after) || !(self.metadata.name in self.spec.after)",message="an exercise cannot come after itself"
type Exercise struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ExerciseSpec `json:"spec"`
	// +optional
	Status ExerciseStatus `json:"status,omitempty"`
}

// ExerciseList is a list of Exercises.
// +kubebuilder:object:root=true
type ExerciseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Exercise `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Exercise{}, &ExerciseList{})
}
