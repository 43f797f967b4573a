package lab

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// The learner's RoleBinding follows status.access: read-only while
// suspended or expired, read-write otherwise (also before the operator has
// set an access level).
func TestLearnerBindingFollowsAccess(t *testing.T) {
	for access, want := range map[rotationsv1.LearnerAccess]string{
		"":                          LearnerClusterRole,
		rotationsv1.AccessReadWrite: LearnerClusterRole,
		rotationsv1.AccessReadOnly:  LearnerReadOnlyClusterRole,
	} {
		lr := &rotationsv1.LearningRotation{}
		lr.Name = "alice"
		lr.Spec.Learner.Name = "alice@example.com"
		lr.Status.Access = access
		found := false
		for _, obj := range Objects(lr) {
			if rb, ok := obj.(*rbacv1.RoleBinding); ok && rb.Name == LearnerBinding {
				found = true
				if rb.RoleRef.Name != want || len(rb.Subjects) != 2 {
					t.Errorf("access %q: roleRef %s with %d subjects, want %s for the user and the ServiceAccount", access, rb.RoleRef.Name, len(rb.Subjects), want)
				}
			}
		}
		if !found {
			t.Errorf("access %q: no learner RoleBinding", access)
		}
	}
}
