package lab

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Objects returns every object of a rotation's lab except the kubeconfig
// Secret, which needs a token. Each has TypeMeta, labels and a controller
// owner reference to the rotation, so garbage collection removes the lab
// with the rotation. The order is the order of creation: namespace first.
func Objects(lr *rotationsv1.LearningRotation) []client.Object {
	ns := Namespace(lr.Name)
	owner := OwnerReferences(lr)
	meta := func(name, namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: Labels(lr.Name), OwnerReferences: owner}
	}

	objs := []client.Object{namespace(lr, meta(ns, ""))}
	learners := learnerSubjects(lr)
	// The learner ServiceAccount always exists: the operator acts as it to
	// create starter objects, so they get no more rights than the learner.
	objs = append(objs, &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(LearnerServiceAccount, ns),
		// The token is only ever issued through TokenRequest, never mounted.
		AutomountServiceAccountToken: ptr.To(false),
	})
	objs = append(objs,
		// status.access picks the learner's role: read-only once suspended or expired.
		roleBinding(meta(LearnerBinding, ns), LearnerRole(lr.Status.Access), "ClusterRole", learners),
		roleBinding(meta(MentorBinding, ns), MentorClusterRole, "ClusterRole", subjects(lr.Spec.Mentors)),
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: meta(MentorKubeconfigRole, ns),
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{""}, Resources: []string{"secrets"},
				ResourceNames: []string{KubeconfigSecret}, Verbs: []string{"get"},
			}},
		},
		roleBinding(meta(MentorKubeconfigRole, ns), MentorKubeconfigRole, "Role", subjects(lr.Spec.Mentors)),
		&rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: meta(ReaderClusterRole(lr.Name), ""),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{rotationsv1.GroupVersion.Group}, Resources: []string{"learningrotations"},
					ResourceNames: []string{lr.Name}, Verbs: []string{"get", "watch"}},
				{APIGroups: []string{rotationsv1.GroupVersion.Group}, Resources: []string{"exercises"},
					Verbs: []string{"get", "list", "watch"}},
			},
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: meta(ReaderClusterRole(lr.Name), ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ReaderClusterRole(lr.Name)},
			Subjects:   append(learners, subjects(lr.Spec.Mentors)...),
		},
		&rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: meta(MentorRequestsClusterRole(lr.Name), ""),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{rotationsv1.GroupVersion.Group}, Resources: []string{"learningrotations"},
				ResourceNames: []string{lr.Name}, Verbs: []string{"patch"}}},
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: meta(MentorRequestsClusterRole(lr.Name), ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: MentorRequestsClusterRole(lr.Name)},
			Subjects:   subjects(lr.Spec.Mentors),
		},
	)

	profile := ProfileFor(lr.Spec.Size)
	objs = append(objs,
		&corev1.ResourceQuota{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
			ObjectMeta: meta(QuotaName, ns),
			Spec:       corev1.ResourceQuotaSpec{Hard: profile.Quota},
		},
		&corev1.LimitRange{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
			ObjectMeta: meta(LimitRangeName, ns),
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type:           corev1.LimitTypeContainer,
				Default:        profile.DefaultLimit,
				DefaultRequest: profile.DefaultRequest,
				Max:            profile.MaxLimit,
			}}},
		},
		&networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: meta(IngressPolicyName, ns),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				// Only pods of this namespace may connect: other labs are denied.
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				}},
			},
		},
		&networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: meta(MetadataEgressPolicy, ns),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				// Everything but the cloud metadata service, which hands out node credentials.
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To: []networkingv1.NetworkPolicyPeer{
						{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"169.254.169.254/32"}}},
						{IPBlock: &networkingv1.IPBlock{CIDR: "::/0", Except: []string{"fd00:ec2::254/128"}}},
					},
				}},
			},
		},
	)
	return objs
}

// OwnerReferences make the rotation the controller of a lab object, so
// garbage collection removes the object with the rotation.
func OwnerReferences(lr *rotationsv1.LearningRotation) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(lr, rotationsv1.GroupVersion.WithKind("LearningRotation"))}
}

// IssuesKubeconfig tells whether the rotation asks for a ServiceAccount kubeconfig.
func IssuesKubeconfig(lr *rotationsv1.LearningRotation) bool {
	return lr.Spec.Learner.IssueKubeconfig == nil || *lr.Spec.Learner.IssueKubeconfig
}

func namespace(lr *rotationsv1.LearningRotation, meta metav1.ObjectMeta) *corev1.Namespace {
	meta.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	meta.Labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	meta.Labels["pod-security.kubernetes.io/warn"] = "restricted"
	meta.Labels["pod-security.kubernetes.io/audit"] = "restricted"
	// The admission policy reads who the learner is from here, so that it
	// applies to the learner's requests and to nobody else's.
	meta.Annotations = map[string]string{}
	switch lr.Spec.Learner.Kind {
	case rotationsv1.GroupKind:
		meta.Annotations[AnnotationLearnerGroup] = lr.Spec.Learner.Name
	default:
		meta.Annotations[AnnotationLearnerUser] = lr.Spec.Learner.Name
	}
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: meta}
}

func roleBinding(meta metav1.ObjectMeta, role, kind string, subjects []rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   subjects,
	}
}

func learnerSubjects(lr *rotationsv1.LearningRotation) []rbacv1.Subject {
	return append(subjects([]rotationsv1.Subject{lr.Spec.Learner.Subject}),
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: LearnerServiceAccount, Namespace: Namespace(lr.Name)})
}

func subjects(in []rotationsv1.Subject) []rbacv1.Subject {
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
