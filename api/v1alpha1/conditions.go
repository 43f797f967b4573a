package v1alpha1

// Condition types of a LearningRotation.
const (
	// ConditionReady summarises the rotation: the lab is provisioned and graded.
	ConditionReady = "Ready"
	// ConditionLabProvisioned is True when every object of the lab namespace is in place.
	ConditionLabProvisioned = "LabProvisioned"
	// ConditionExercisesResolved is True when every selected exercise exists and compiles.
	ConditionExercisesResolved = "ExercisesResolved"
	// ConditionGraded is True when the last grading pass evaluated every exercise.
	ConditionGraded = "Graded"
)

// Condition reasons, CamelCase as Kubernetes expects.
const (
	ReasonProvisioned        = "Provisioned"
	ReasonProvisioningFailed = "ProvisioningFailed"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonReady              = "Ready"
	ReasonNotReady           = "NotReady"
	ReasonResolved           = "Resolved"
	ReasonExerciseNotFound   = "ExerciseNotFound"
	ReasonExerciseInvalid    = "ExerciseInvalid"
	ReasonGraded             = "Graded"
	ReasonGradingFailed      = "GradingFailed"
	ReasonCompiled           = "Compiled"
	ReasonCheckCompileFailed = "CheckCompileFailed"
	ReasonInvalidStarter     = "InvalidStarter"
)

// Labels and annotations the operator sets or reads.
const (
	// LabelRotation names the rotation a lab object belongs to.
	LabelRotation = "rotations.handson.dev/rotation"
	// LabelManagedBy marks objects the operator owns; learners cannot change them.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "rotation-operator"
	// LabelBuiltin marks Exercises installed from the embedded catalog.
	LabelBuiltin = "rotations.handson.dev/builtin"
	// LabelExercise names the exercise a starter object or submission belongs to.
	LabelExercise = "rotations.handson.dev/exercise"
	// AnnotationGradeRequested asks for an immediate grading pass; any new value triggers one.
	AnnotationGradeRequested = "rotations.handson.dev/grade-requested"
)
