package program

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/apply"
)

// ReaderClusterRole lets the template's mentors read one program: they
// mentor every participant, so the cohort status shows them nothing they
// cannot already read on the rotations. A participant's own mentors are
// not bound: the cohort status shows the other participants too. Mentor
// leads who follow every program get rotation-operator:program-viewer
// (config/rbac/lab_roles.yaml) from an admin.
func ReaderClusterRole(program string) string { return "rotation-operator:program-reader:" + program }

// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch

// reconcileAccess applies the program's reader ClusterRole and its binding
// to the template's mentors, owned by the program (deleted with it).
// Checked on every pass; unchanged, nothing is written.
func (r *Reconciler) reconcileAccess(ctx context.Context, s *pass) error {
	p := s.p
	name := ReaderClusterRole(p.Name)
	meta := metav1.ObjectMeta{
		Name:            name,
		Labels:          map[string]string{rotationsv1.LabelProgram: p.Name, rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p, rotationsv1.GroupVersion.WithKind("RotationProgram"))},
	}
	role := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: meta,
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{rotationsv1.GroupVersion.Group}, Resources: []string{"rotationprograms"},
			ResourceNames: []string{p.Name}, Verbs: []string{"get", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   mentorSubjects(p.Spec.Template.Mentors),
	}
	applier := apply.Applier{Client: r.Client, FieldOwner: FieldOwner}
	for _, obj := range []client.Object{role, binding} {
		if _, err := applier.Apply(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func mentorSubjects(in []rotationsv1.Subject) []rbacv1.Subject {
	out := make([]rbacv1.Subject, 0, len(in))
	for _, s := range in {
		kind := rbacv1.UserKind
		if s.Kind == rotationsv1.GroupKind {
			kind = rbacv1.GroupKind
		}
		out = append(out, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: kind, Name: s.Name})
	}
	return out
}
