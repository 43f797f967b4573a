package terraform_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

func TestJobFor(t *testing.T) {
	job, err := tf.JobFor(tf.JobOptions{
		Namespace: "lab-alice", Exercise: "tf-basics", SubmissionConfigMap: "submission-tf-basics",
		Image: "registry.example.com/rotation-operator:v1", Digest: "abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	if job.Namespace != "lab-alice" || !strings.HasPrefix(job.Name, "terraform-tf-basics-") || len(job.Name) > 63 {
		t.Errorf("job %s/%s", job.Namespace, job.Name)
	}
	s := job.Spec
	if *s.ActiveDeadlineSeconds != 300 || *s.TTLSecondsAfterFinished != 600 || *s.BackoffLimit != 0 {
		t.Errorf("deadline %d, ttl %d, backoff %d", *s.ActiveDeadlineSeconds, *s.TTLSecondsAfterFinished, *s.BackoffLimit)
	}
	pod := s.Template.Spec
	if pod.ServiceAccountName != "learner" || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("serviceAccount %q restartPolicy %q", pod.ServiceAccountName, pod.RestartPolicy)
	}
	psc := pod.SecurityContext
	if !*psc.RunAsNonRoot || *psc.RunAsUser == 0 || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || *sc.Privileged || !*sc.RunAsNonRoot ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v", sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		limit, request := c.Resources.Limits[r], c.Resources.Requests[r]
		if limit.IsZero() || request.IsZero() {
			t.Errorf("no %s request or limit: %+v", r, c.Resources)
		}
	}
	if c.Image != "registry.example.com/rotation-operator:v1" || !slices.Equal(c.Command, []string{"/manager"}) {
		t.Errorf("image %s command %v", c.Image, c.Command)
	}
	if !slices.Equal(c.Args[:2], tf.Subcommand) {
		t.Errorf("args %v do not start with %v", c.Args, tf.Subcommand)
	}
	for _, want := range []string{"--namespace=lab-alice", "--exercise=tf-basics", "--submission=/submission", "--in-cluster", "--work=/work", "--timeout=4m30s"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if m := mounts["submission"]; m.MountPath != "/submission" || !m.ReadOnly {
		t.Errorf("submission mount %+v", m)
	}
	if m := mounts["work"]; m.MountPath != "/work" || m.ReadOnly {
		t.Errorf("work mount %+v", m)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if v := vols["submission"]; v.ConfigMap == nil || v.ConfigMap.Name != "submission-tf-basics" {
		t.Errorf("submission volume %+v", v)
	}
	if v := vols["work"]; v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
		t.Errorf("work volume %+v", v)
	}

	// Same submission, same name; another one, another name.
	again, _ := tf.JobFor(tf.JobOptions{Namespace: "lab-alice", Exercise: "tf-basics", SubmissionConfigMap: "s", Image: "i", Digest: "abc"})
	other, _ := tf.JobFor(tf.JobOptions{Namespace: "lab-alice", Exercise: "tf-basics", SubmissionConfigMap: "s", Image: "i", Digest: "abd"})
	if again.Name != job.Name || other.Name == job.Name {
		t.Errorf("names %s %s %s: want deterministic per digest", job.Name, again.Name, other.Name)
	}
	long, _ := tf.JobFor(tf.JobOptions{Namespace: "n", Exercise: strings.Repeat("x", 70), SubmissionConfigMap: "s", Image: "i"})
	if len(long.Name) > 63 {
		t.Errorf("name %q over 63 characters", long.Name)
	}
	if _, err := tf.JobFor(tf.JobOptions{Namespace: "n"}); err == nil || !strings.Contains(err.Error(), "Image") {
		t.Errorf("missing fields: %v", err)
	}
	if _, err := tf.JobFor(tf.JobOptions{Namespace: "n", Exercise: "e", SubmissionConfigMap: "s", Image: "i", Deadline: 10 * time.Second}); err == nil {
		t.Error("a 10s deadline was accepted")
	}
}

// The runner pod passes Pod Security "restricted" and the lab's RBAC for
// the learner's ServiceAccount: a server-side dry run in a lab labelled
// like the operator's.
func TestJobPodAdmittedInRestrictedLab(t *testing.T) {
	l := newLab(t, "job")
	ctx := context.Background()
	ns := &corev1.Namespace{}
	if err := admin.Get(ctx, client.ObjectKey{Name: l.namespace}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
	if err := admin.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	job, err := tf.JobFor(tf.JobOptions{Namespace: l.namespace, Exercise: "tf-basics", SubmissionConfigMap: "submission", Image: "rotation-operator:test"})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "runner-", Namespace: l.namespace, Labels: job.Spec.Template.Labels}, Spec: job.Spec.Template.Spec}
	if err := admin.Create(ctx, pod, client.DryRunAll); err != nil {
		t.Fatalf("runner pod refused in a restricted lab: %v", err)
	}
	// A pod that is not restricted is refused there, so the check bites.
	pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	if err := admin.Create(ctx, pod, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "allowPrivilegeEscalation") {
		t.Errorf("an unrestricted pod was admitted: %v", err)
	}
	// The Job itself is created with the admin here; the operator creates
	// it the same way (it may create Jobs in labs).
	if err := admin.Create(ctx, job, client.DryRunAll); err != nil {
		t.Fatalf("job: %v", err)
	}
}
