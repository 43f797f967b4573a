package lab

import (
	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Names of the objects in every lab. They are fixed so that RBAC and the
// admission policy can refer to them.
const (
	NamespacePrefix        = "lab-"
	LearnerServiceAccount  = "learner"
	LearnerBinding         = "learner"
	MentorBinding          = "mentor"
	MentorKubeconfigRole   = "mentor-kubeconfig"
	KubeconfigSecret       = "learner-kubeconfig" //nolint:gosec // G101: the Secret's name, not a credential
	KubeconfigKey          = "kubeconfig"
	QuotaName              = "lab-quota"
	LimitRangeName         = "lab-limits"
	IngressPolicyName      = "deny-ingress-from-other-namespaces"
	MetadataEgressPolicy   = "deny-cloud-metadata-egress"
	LearnerClusterRole     = "rotation-operator:learner"
	MentorClusterRole      = "rotation-operator:mentor"
	AnnotationLearnerUser  = "rotations.handson.dev/learner-user"
	AnnotationLearnerGroup = "rotations.handson.dev/learner-group"
	// AnnotationTokenExpiresAt on the kubeconfig Secret records the token's expiry (RFC 3339).
	AnnotationTokenExpiresAt = "rotations.handson.dev/token-expires-at"
	// AnnotationTokenRenewAt on the kubeconfig Secret is when the operator replaces the token.
	AnnotationTokenRenewAt = "rotations.handson.dev/token-renew-at"
)

// Namespace is the lab namespace of a rotation.
func Namespace(rotation string) string { return NamespacePrefix + rotation }

// ReaderClusterRole lets the learner and mentors read this one rotation and the catalog.
func ReaderClusterRole(rotation string) string { return "rotation-operator:reader:" + rotation }

// Labels are set on every object the operator manages for a rotation.
func Labels(rotation string) map[string]string {
	return map[string]string{
		rotationsv1.LabelRotation:  rotation,
		rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue,
	}
}

// LearnerReadOnlyClusterRole is bound instead of LearnerClusterRole while the
// rotation is suspended or past its deadline.
const LearnerReadOnlyClusterRole = "rotation-operator:learner-readonly"

// LearnerRole is the ClusterRole the learner's RoleBinding refers to for an
// access level: read-only while suspended or expired, read-write otherwise
// (an empty access, from a rotation the operator has not classified yet,
// counts as read-write).
func LearnerRole(access rotationsv1.LearnerAccess) string {
	if access == rotationsv1.AccessReadOnly {
		return LearnerReadOnlyClusterRole
	}
	return LearnerClusterRole
}

// MentorRequestsClusterRole lets a rotation's mentors patch it, for the
// protocol annotations only (help-acknowledged, grade-requested): the
// admission policy rotation-operator-mentor-guard refuses any other change
// by someone who may patch the rotation but not update it.
func MentorRequestsClusterRole(rotation string) string {
	return "rotation-operator:mentor-requests:" + rotation
}
