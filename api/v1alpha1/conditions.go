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
	// ConditionCompleted is True when every selected exercise has passed once.
	ConditionCompleted = "Completed"
	// ConditionExpired is True once the deadline has passed.
	ConditionExpired = "Expired"
	// ConditionSuspended is True while spec.suspend is set.
	ConditionSuspended = "Suspended"
	// ConditionHelpRequested is True while the learner's help request is open.
	ConditionHelpRequested = "HelpRequested"
	// ConditionInfrastructureReady is False while something the cluster
	// admin provides for labs fails (the lab registry, the apiserver address
	// in learners' kubeconfigs); it is set once such a problem was seen.
	ConditionInfrastructureReady = "InfrastructureReady"
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
	// ReasonExerciseOrderInvalid: an Exercise's spec.after names no
	// Exercise, or the selected exercises' after form a cycle.
	ReasonExerciseOrderInvalid = "ExerciseOrderInvalid"
	ReasonGraded               = "Graded"
	ReasonGradingFailed        = "GradingFailed"
	ReasonCompiled             = "Compiled"
	ReasonCheckCompileFailed   = "CheckCompileFailed"
	ReasonInvalidStarter       = "InvalidStarter"
	ReasonInvalidSubmission    = "InvalidSubmission"
	ReasonScheduled            = "Scheduled"
	ReasonDeadlinePassed       = "DeadlinePassed"
	ReasonInProgress           = "InProgress"
	ReasonAllPassed            = "AllPassed"
	ReasonSuspendedBySpec      = "SuspendedBySpec"
	ReasonNotSuspended         = "NotSuspended"
	ReasonHelpRequested        = "HelpRequested"
	ReasonHelpAcknowledged     = "HelpAcknowledged"
	ReasonNoHelpRequested      = "NoHelpRequested"
	// ReasonLabDeleted: the retention period ended and the lab namespace was deleted.
	ReasonLabDeleted = "LabDeleted"
	// ReasonNotExpired: the deadline is still ahead.
	ReasonNotExpired = "NotExpired"
	// ReasonRegistryUnavailable: the lab image registry has no key or does not answer.
	ReasonRegistryUnavailable = "RegistryUnavailable"
	// ReasonLearnerAPIUnreachable: the apiserver address in learners' kubeconfigs does not answer.
	ReasonLearnerAPIUnreachable = "LearnerAPIUnreachable"
	// ReasonCICDEngineNotInstalled: the rotation has cicd exercises but the
	// cluster does not serve Tekton Pipelines (tekton.dev/v1), a
	// prerequisite of the cicd track (make run installs it on a real node).
	ReasonCICDEngineNotInstalled = "CICDEngineNotInstalled"
	// ReasonInfrastructureReady: the problems seen before are gone.
	ReasonInfrastructureReady = "InfrastructureReady"
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
	// AnnotationHelpAcknowledged, set by a mentor to status.helpRequest.requestedAt
	// (RFC 3339), acknowledges that help request.
	AnnotationHelpAcknowledged = "rotations.handson.dev/help-acknowledged"

	// AnnotationSuspendedReplicas, on a learner's Deployment or StatefulSet
	// scaled to zero while the rotation is suspended, holds its replica count
	// to restore on resume.
	AnnotationSuspendedReplicas = "rotations.handson.dev/suspended-replicas"

	// LabelSubmission marks a learner's submission ConfigMap in the lab; its
	// value is the exercise name. The ConfigMap is named SubmissionPrefix+exercise,
	// its data keys are the file names, and handing in again replaces it: the
	// newest submission is graded, and credit earned earlier is kept.
	LabelSubmission  = "rotations.handson.dev/submission"
	SubmissionPrefix = "submission-"
	// AnnotationSubmittedAt is when a submission was handed in (RFC 3339).
	AnnotationSubmittedAt = "rotations.handson.dev/submitted-at"

	// LabelRequest marks a learner's request to the operator: a ConfigMap in
	// the lab (learners cannot write the LearningRotation). Values:
	//   help:  ConfigMap RequestHelpName, data message and requestedAt;
	//   grade: ConfigMap RequestGradeName, data requestedAt (echoed in status.gradeRequest);
	//   reset: ConfigMap RequestResetPrefix+exercise, data exercise and requestedAt;
	//          the operator deletes it once the exercise is reset.
	LabelRequest       = "rotations.handson.dev/request"
	RequestHelp        = "help"
	RequestGrade       = "grade"
	RequestReset       = "reset"
	RequestHelpName    = "rotation-help"
	RequestGradeName   = "rotation-grade"
	RequestResetPrefix = "rotation-reset-"
	// Data keys of request ConfigMaps.
	RequestKeyMessage     = "message"
	RequestKeyRequestedAt = "requestedAt"
	RequestKeyExercise    = "exercise"
)
