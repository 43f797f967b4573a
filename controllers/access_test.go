package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// restrictedDeployment passes the Pod Security "restricted" profile.
func restrictedDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(1000)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "app", Image: "registry.k8s.io/pause:3.10",
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

func TestLearnerAndMentorAccess(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("acc-a").Learner("ann@example.com").Mentors("max@example.com").Obj())
	createRotation(t, testutil.Rotation("acc-b").Learner("ben@example.com").Obj())
	waitReady(t, "acc-a")
	waitReady(t, "acc-b")
	learner := userClient(t, "ann@example.com")
	mentor := userClient(t, "max@example.com")
	ns := "lab-acc-a"

	// Allowed: the learner's work in their lab.
	if err := learner.Create(ctx, restrictedDeployment(ns, "web")); err != nil {
		t.Fatalf("learner cannot create a Deployment in the lab: %v", err)
	}
	helmLike := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.web.v1", Namespace: ns}, StringData: map[string]string{"release": "x"}}
	if err := learner.Create(ctx, helmLike); err != nil {
		t.Fatalf("learner cannot create a Helm-style Secret: %v", err)
	}
	if err := learner.Get(ctx, client.ObjectKey{Name: "acc-a"}, &rotationsv1.LearningRotation{}); err != nil {
		t.Errorf("learner cannot read their own rotation: %v", err)
	}

	denied := []struct {
		name string
		do   func() error
		// want is part of the denial message; RBAC denials say "forbidden".
		want string
	}{
		{"read another lab's Secrets", func() error {
			return learner.List(ctx, &corev1.SecretList{}, client.InNamespace("lab-acc-b"))
		}, "forbidden"},
		{"read another rotation", func() error {
			return learner.Get(ctx, client.ObjectKey{Name: "acc-b"}, &rotationsv1.LearningRotation{})
		}, "forbidden"},
		{"list namespaces", func() error { return learner.List(ctx, &corev1.NamespaceList{}) }, "forbidden"},
		{"create a namespace", func() error {
			return learner.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "escape"}})
		}, "forbidden"},
		{"edit the ResourceQuota", func() error {
			q := &corev1.ResourceQuota{}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "lab-quota"}, q); err != nil {
				return err
			}
			q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
			return learner.Update(ctx, q)
		}, "forbidden"},
		{"delete the NetworkPolicy", func() error {
			return learner.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deny-ingress-from-other-namespaces"}})
		}, "forbidden"},
		{"patch the namespace's labels", func() error {
			patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)
			return learner.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, client.RawPatch("application/merge-patch+json", patch))
		}, "forbidden"},
		{"bind cluster-admin", func() error {
			return learner.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "root", Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "ann@example.com"}},
			})
		}, "forbidden"},
		{"edit the operator's kubeconfig Secret", func() error {
			s := &corev1.Secret{}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, s); err != nil {
				return err
			}
			s.Data["kubeconfig"] = []byte("tampered")
			return learner.Update(ctx, s)
		}, "managed by rotation-operator"},
		{"label a Secret as the operator's", func() error {
			return learner.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "fake", Namespace: ns,
				Labels: map[string]string{rotationsv1.LabelManagedBy: "rotation-operator"}}})
		}, "reserved for the operator"},
		{"mint a legacy token Secret", func() error {
			return learner.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns, Annotations: map[string]string{corev1.ServiceAccountNameKey: "learner"}},
				Type:       corev1.SecretTypeServiceAccountToken,
			})
		}, "legacy ServiceAccount token"},
		{"request a token for the learner ServiceAccount", func() error {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "learner"}}
			return learner.SubResource("token").Create(ctx, sa, &authenticationv1.TokenRequest{})
		}, "forbidden"},
		{"mentor creates a Deployment", func() error { return mentor.Create(ctx, restrictedDeployment(ns, "mentor-web")) }, "forbidden"},
		{"mentor lists the lab's Secrets", func() error {
			return mentor.List(ctx, &corev1.SecretList{}, client.InNamespace(ns))
		}, "forbidden"},
		{"mentor reads another lab", func() error {
			return mentor.List(ctx, &corev1.PodList{}, client.InNamespace("lab-acc-b"))
		}, "forbidden"},
	}
	for _, d := range denied {
		t.Run("learner cannot "+d.name, func(t *testing.T) {
			err := d.do()
			if err == nil {
				t.Fatal("allowed, want denied")
			}
			if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
				t.Fatalf("error %v is not a denial", err)
			}
			if !strings.Contains(err.Error(), d.want) {
				t.Fatalf("denial %q does not mention %q", err, d.want)
			}
		})
	}

	// Mentors read the lab, the rotation and the learner's kubeconfig.
	if err := mentor.List(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns)); err != nil {
		t.Errorf("mentor cannot list Deployments: %v", err)
	}
	if err := mentor.Get(ctx, client.ObjectKey{Name: "acc-a"}, &rotationsv1.LearningRotation{}); err != nil {
		t.Errorf("mentor cannot read the rotation: %v", err)
	}
	if err := mentor.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, &corev1.Secret{}); err != nil {
		t.Errorf("mentor cannot read the learner kubeconfig: %v", err)
	}
}

func TestRestrictedPodIsRejected(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("psa").Obj())
	waitReady(t, "psa")
	learner := userClient(t, "psa@example.com")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "root", Namespace: "lab-psa"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "rotation.local/web:1.0",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
	err := learner.Create(ctx, pod)
	if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("privileged pod: err = %v, want a PodSecurity restricted violation", err)
	}
}

func TestKubeconfigAuthenticatesAndIsScoped(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("kcfg").Obj())
	lr := waitReady(t, "kcfg")
	secret := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "lab-kcfg", Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["kubeconfig"])
	if err != nil {
		t.Fatalf("kubeconfig does not parse: %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		t.Fatalf("the kubeconfig does not authenticate: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != "system:serviceaccount:lab-kcfg:learner" {
		t.Errorf("kubeconfig user = %q", got)
	}
	if err := c.Create(ctx, restrictedDeployment("lab-kcfg", "from-kubeconfig")); err != nil {
		t.Errorf("kubeconfig cannot create in the lab: %v", err)
	}
	if err := c.List(ctx, &corev1.PodList{}, client.InNamespace("default")); !apierrors.IsForbidden(err) {
		t.Errorf("kubeconfig lists pods in default: err = %v, want Forbidden", err)
	}
	// The token is bounded: it expires after the configured TTL, not never.
	if exp := lr.Status.Kubeconfig.ExpiresAt; exp == nil || exp.Sub(lr.CreationTimestamp.Time) > tokenTTL+time.Minute {
		t.Errorf("token expiry %v is not bounded by %s", exp, tokenTTL)
	}
	// No legacy token Secret exists in the lab.
	secrets := &corev1.SecretList{}
	if err := admin.List(ctx, secrets, client.InNamespace("lab-kcfg")); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Type == corev1.SecretTypeServiceAccountToken {
			t.Errorf("legacy token Secret %s in the lab", s.Name)
		}
	}
}
