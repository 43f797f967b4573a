package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// restrictedPod passes Pod Security "restricted"; mutate breaks one rule.
func restrictedPod(ns, name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
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
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

// learnerSAClient acts with the learner kubeconfig the operator issued
// (the lab ServiceAccount's token), as a learner at a terminal would.
func learnerSAClient(t testing.TB, ns string) (client.Client, *rest.Config) {
	t.Helper()
	s := &corev1.Secret{}
	if err := admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: lab.KubeconfigSecret}, s); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(s.Data[lab.KubeconfigKey])
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, cfg
}

type attack struct {
	name string
	do   func(ctx context.Context) error
	want string // part of the exact denial
}

// TestLearnerIsolation attacks as the learner, Capsule-style: every case
// must be denied, with the denial that names the rule that stopped it.
func TestLearnerIsolation(t *testing.T) {
	createExercise(t, scaleExercise("t-iso"))
	createRotation(t, testutil.Rotation("iso-a").Learner("ivy@example.com").Exercises("t-iso").Obj())
	createRotation(t, testutil.Rotation("iso-b").Learner("ike@example.com").Obj())
	waitReady(t, "iso-a")
	waitReady(t, "iso-b")
	ns := "lab-iso-a"
	user := userClient(t, "ivy@example.com")
	sa, saCfg := learnerSAClient(t, ns)
	exerciseResult(t, "iso-a", "t-iso", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.StarterCreatedAt == nil {
			return fmt.Errorf("starter not created yet")
		}
		return nil
	})

	var cases []attack
	for _, c := range []struct {
		who    string
		client client.Client
	}{{"user", user}, {"sa", sa}} {
		learner := c.client
		cases = append(cases, []attack{
			// Escape the namespace or read other labs.
			{c.who + ": create a namespace", func(ctx context.Context) error {
				return learner.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "iso-escape-" + c.who}})
			}, `cannot create resource "namespaces"`},
			{c.who + ": list other labs' ConfigMaps", func(ctx context.Context) error {
				return learner.List(ctx, &corev1.ConfigMapList{}, client.InNamespace("lab-iso-b"))
			}, `cannot list resource "configmaps" in API group "" in the namespace "lab-iso-b"`},
			{c.who + ": read the other lab's kubeconfig", func(ctx context.Context) error {
				return learner.Get(ctx, client.ObjectKey{Namespace: "lab-iso-b", Name: lab.KubeconfigSecret}, &corev1.Secret{})
			}, `cannot get resource "secrets"`},
			{c.who + ": list pods in every namespace", func(ctx context.Context) error {
				return learner.List(ctx, &corev1.PodList{})
			}, `cannot list resource "pods" in API group "" at the cluster scope`},
			{c.who + ": list nodes", func(ctx context.Context) error { return learner.List(ctx, &corev1.NodeList{}) },
				`cannot list resource "nodes"`},
			{c.who + ": list ClusterRoles", func(ctx context.Context) error { return learner.List(ctx, &rbacv1.ClusterRoleList{}) },
				`cannot list resource "clusterroles"`},
			{c.who + ": list CRDs", func(ctx context.Context) error {
				crds := &metav1.PartialObjectMetadataList{}
				crds.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinitionList"))
				return learner.List(ctx, crds)
			}, `cannot list resource "customresourcedefinitions"`},
			{c.who + ": list every rotation", func(ctx context.Context) error {
				return learner.List(ctx, &rotationsv1.LearningRotationList{})
			}, `cannot list resource "learningrotations"`},
			{c.who + ": read another rotation", func(ctx context.Context) error {
				return learner.Get(ctx, client.ObjectKey{Name: "iso-b"}, &rotationsv1.LearningRotation{})
			}, `cannot get resource "learningrotations"`},
			// Loosen the lab's guard rails.
			{c.who + ": label the namespace privileged", func(ctx context.Context) error {
				return learner.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
					client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)))
			}, `cannot patch resource "namespaces"`},
			{c.who + ": annotate the namespace", func(ctx context.Context) error {
				return learner.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
					client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"rotations.handson.dev/learner":"x"}}}`)))
			}, `cannot patch resource "namespaces"`},
			{c.who + ": raise the ResourceQuota", func(ctx context.Context) error {
				return learner.Patch(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lab.QuotaName}},
					client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"hard":{"pods":"1000"}}}`)))
			}, `cannot patch resource "resourcequotas"`},
			{c.who + ": delete the LimitRange", func(ctx context.Context) error {
				return learner.Delete(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lab.LimitRangeName}})
			}, `cannot delete resource "limitranges"`},
			{c.who + ": delete a NetworkPolicy", func(ctx context.Context) error {
				return learner.DeleteAllOf(ctx, &networkingv1.NetworkPolicy{}, client.InNamespace(ns))
			}, `cannot deletecollection resource "networkpolicies"`},
			{c.who + ": add an allow-all NetworkPolicy", func(ctx context.Context) error {
				return learner.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "allow-all-" + c.who},
					Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}})
			}, `cannot create resource "networkpolicies"`},
			{c.who + ": delete the exercise instructions", func(ctx context.Context) error {
				return learner.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exercise-t-iso"}})
			}, "objects managed by rotation-operator cannot be changed or deleted by the learner"},
			{c.who + ": rewrite the exercise instructions", func(ctx context.Context) error {
				return learner.Patch(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exercise-t-iso"}},
					client.RawPatch("application/merge-patch+json", []byte(`{"data":{"instructions.md":"skip it"}}`)))
			}, "objects managed by rotation-operator cannot be changed or deleted by the learner"},
			{c.who + ": delete the learner RoleBinding", func(ctx context.Context) error {
				return learner.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lab.LearnerBinding}})
			}, `cannot delete resource "rolebindings"`},
			// Raise their own rights.
			{c.who + ": bind admin", func(ctx context.Context) error {
				return learner.Create(ctx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "admin-" + c.who, Namespace: ns},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
					Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "learner", Namespace: ns}},
				})
			}, `cannot create resource "rolebindings"`},
			{c.who + ": create a Role with verbs they lack", func(ctx context.Context) error {
				return learner.Create(ctx, &rbacv1.Role{
					ObjectMeta: metav1.ObjectMeta{Name: "all-" + c.who, Namespace: ns},
					Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
				})
			}, `cannot create resource "roles"`},
			{c.who + ": mint a token for another ServiceAccount", func(ctx context.Context) error {
				return learner.SubResource("token").Create(ctx,
					&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}, &authenticationv1.TokenRequest{})
			}, `cannot create resource "serviceaccounts/token"`},
			{c.who + ": create a ServiceAccount", func(ctx context.Context) error {
				return learner.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sneaky-" + c.who}})
			}, `cannot create resource "serviceaccounts"`},
			// Tamper with grading.
			{c.who + ": write the rotation's status", func(ctx context.Context) error {
				lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "iso-a"}}
				return learner.Status().Patch(ctx, lr, client.RawPatch("application/merge-patch+json", []byte(`{"status":{"score":1000}}`)))
			}, `cannot patch resource "learningrotations/status"`},
			{c.who + ": edit the rotation", func(ctx context.Context) error {
				lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "iso-a"}}
				return learner.Patch(ctx, lr, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"schedule":{"duration":"10000h"}}}`)))
			}, `cannot patch resource "learningrotations"`},
			{c.who + ": edit an Exercise's checks", func(ctx context.Context) error {
				return learner.Patch(ctx, &rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: "t-iso"}},
					client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"checks":[{"name":"free","expression":"true","points":100,"message":"x"}]}}`)))
			}, `cannot patch resource "exercises"`},
			// Privileged workloads.
			{c.who + ": privileged pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "priv-"+c.who, func(p *corev1.Pod) {
					p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
					p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
				}))
			}, `privileged (container "app" must not set securityContext.privileged=true)`},
			{c.who + ": hostPath pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "hostpath-"+c.who, func(p *corev1.Pod) {
					p.Spec.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
				}))
			}, `restricted volume types (volume "root" uses restricted volume type "hostPath")`},
			{c.who + ": hostNetwork pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "hostnet-"+c.who, func(p *corev1.Pod) { p.Spec.HostNetwork = true }))
			}, "host namespaces (hostNetwork=true)"},
			{c.who + ": hostPID pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "hostpid-"+c.who, func(p *corev1.Pod) { p.Spec.HostPID = true }))
			}, "host namespaces (hostPID=true)"},
			{c.who + ": hostIPC pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "hostipc-"+c.who, func(p *corev1.Pod) { p.Spec.HostIPC = true }))
			}, "host namespaces (hostIPC=true)"},
			{c.who + ": root pod", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "root-"+c.who, func(p *corev1.Pod) {
					p.Spec.SecurityContext.RunAsNonRoot, p.Spec.SecurityContext.RunAsUser = nil, ptr.To(int64(0))
				}))
			}, "runAsUser=0"},
			{c.who + ": added capabilities", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "caps-"+c.who, func(p *corev1.Pod) {
					p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
				}))
			}, `unrestricted capabilities (container "app" must not include "NET_ADMIN"`},
			// Quota and limits.
			{c.who + ": NodePort Service", func(ctx context.Context) error {
				return learner.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "np-" + c.who},
					Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}})
			}, "exceeded quota: lab-quota, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0"},
			{c.who + ": LoadBalancer Service", func(ctx context.Context) error {
				return learner.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lb-" + c.who},
					Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}})
			}, "limited: services.loadbalancers=0"},
			{c.who + ": container over the LimitRange", func(ctx context.Context) error {
				return learner.Create(ctx, restrictedPod(ns, "huge-"+c.who, func(p *corev1.Pod) {
					p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64")}
				}))
			}, "maximum cpu usage per Container is 2, but limit is 64"},
		}...)
	}
	cases = append(cases,
		attack{"sa: impersonate the operator", func(ctx context.Context) error {
			cfg := rest.CopyConfig(saCfg)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:rotation-system:rotation-operator"}
			c, err := client.New(cfg, client.Options{Scheme: operator.Scheme(), Mapper: admin.RESTMapper()})
			if err != nil {
				return err
			}
			return c.List(ctx, &corev1.SecretList{}, client.InNamespace("lab-iso-b"))
		}, "cannot impersonate"},
		attack{"sa: impersonate a group", func(ctx context.Context) error {
			cfg := rest.CopyConfig(saCfg)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:lab-iso-a:learner", Groups: []string{"system:masters"}}
			c, err := client.New(cfg, client.Options{Scheme: operator.Scheme(), Mapper: admin.RESTMapper()})
			if err != nil {
				return err
			}
			return c.List(ctx, &corev1.NamespaceList{})
		}, `cannot impersonate resource`},
	)

	for _, a := range cases {
		t.Run(a.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := a.do(ctx)
			if err == nil {
				t.Fatal("allowed, want denied")
			}
			if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
				t.Fatalf("error %v is not a denial", err)
			}
			if !strings.Contains(err.Error(), a.want) {
				t.Fatalf("denial %q\n does not say %q", err, a.want)
			}
		})
	}
	t.Logf("isolation: %d attack cases, all denied", len(cases))
}

// TestObjectCountQuota fills a count quota as the learner and checks the
// next object is refused.
func TestObjectCountQuota(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("iso-count").Obj())
	waitReady(t, "iso-count")
	learner := userClient(t, "iso-count@example.com")
	ns := "lab-iso-count"
	cronjob := func(i int) *batchv1.CronJob {
		return &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cj-%d", i)},
			Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Template: restrictedPodTemplate(),
			}}},
		}
	}
	for i := range 5 { // the small profile allows 5 CronJobs
		if err := learner.Create(ctx, cronjob(i)); err != nil {
			t.Fatalf("CronJob %d within the quota refused: %v", i, err)
		}
	}
	err := learner.Create(ctx, cronjob(5))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota: lab-quota, requested: count/cronjobs.batch=1, used: count/cronjobs.batch=5, limited: count/cronjobs.batch=5") {
		t.Fatalf("sixth CronJob: %v, want the count quota to refuse it", err)
	}
	// Compute quota: requests.cpu is 2; two pods at the 2-CPU LimitRange maximum do not fit.
	big := func(name string) *corev1.Pod {
		return restrictedPod(ns, name, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			}
		})
	}
	if err := learner.Create(ctx, big("big-1")); err != nil {
		t.Fatalf("a pod within the quota refused: %v", err)
	}
	if err := learner.Create(ctx, big("big-2")); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota: lab-quota, requested: requests.cpu=2, used: requests.cpu=2, limited: requests.cpu=2") {
		t.Fatalf("second 2-CPU pod: %v, want the compute quota to refuse it", err)
	}
}

func restrictedPodTemplate() corev1.PodTemplateSpec {
	p := restrictedPod("", "", nil)
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	return corev1.PodTemplateSpec{Spec: p.Spec}
}

// TestDriftIsRevertedEvenWithExtraRights: someone with more rights than the
// learner (a mentor who granted them, or the mentor themself) loosens the
// lab; the operator puts it back.
func TestDriftIsRevertedEvenWithExtraRights(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("iso-drift").Obj())
	waitReady(t, "iso-drift")
	ns := "lab-iso-drift"
	// A mentor grants the learner edit on ResourceQuotas and NetworkPolicies.
	extra := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mentor-grant"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"", "networking.k8s.io"}, Resources: []string{"resourcequotas", "networkpolicies", "limitranges"}, Verbs: []string{"*"}}}}
	grant := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mentor-grant"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "mentor-grant"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "iso-drift@example.com"}}}
	for _, o := range []client.Object{extra, grant} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	learner := userClient(t, "iso-drift@example.com")
	// The admission policy still stops the learner...
	err := learner.Patch(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lab.QuotaName}},
		client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"hard":{"pods":"1000"}}}`)))
	if err == nil || !strings.Contains(err.Error(), "managed by rotation-operator cannot be changed") {
		t.Fatalf("learner with extra RBAC raised the quota: %v", err)
	}
	// ...and when someone it does not cover changes the lab, the operator reverts it.
	if err := admin.Patch(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lab.QuotaName}},
		client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"hard":{"pods":"1000"}}}`))); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteAllOf(ctx, &networkingv1.NetworkPolicy{}, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func(ctx context.Context) error {
		q := &corev1.ResourceQuota{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.QuotaName}, q); err != nil {
			return err
		}
		if p := q.Spec.Hard[corev1.ResourcePods]; p.String() != "30" {
			return fmt.Errorf("quota pods = %s, want 30 restored", p.String())
		}
		nps := &networkingv1.NetworkPolicyList{}
		if err := admin.List(ctx, nps, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(nps.Items) != 2 {
			return fmt.Errorf("%d NetworkPolicies, want both restored", len(nps.Items))
		}
		return nil
	})
}
