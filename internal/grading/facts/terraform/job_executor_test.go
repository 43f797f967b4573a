package terraform

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// runnerJobAndPod is a runner Job as created, and the pod the Job
// controller makes from it, with the token mount admission adds.
func runnerJobAndPod(t *testing.T) (*batchv1.Job, *corev1.Pod) {
	t.Helper()
	job, err := JobFor(JobOptions{Namespace: "lab-a", Exercise: "tf-basics", SubmissionConfigMap: "copy", Image: "example.com/op@sha256:" + strings.Repeat("a", 64), Digest: "d"})
	if err != nil {
		t.Fatal(err)
	}
	job.UID = "job-uid"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x", Namespace: "lab-a", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true),
		}}},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}},
	}})
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "kube-api-access-abcde", MountPath: serviceAccountDir, ReadOnly: true})
	return job, pod
}

// TestGenuineRunnerPod: only a pod the runner Job controls, with the
// runner's spec, is trusted; each way a learner could dress up a pod of
// their own is refused with a reason.
func TestGenuineRunnerPod(t *testing.T) {
	job, pod := runnerJobAndPod(t)
	if err := genuineRunnerPod(pod, job); err != nil {
		t.Fatalf("the Job's own pod refused: %v", err)
	}
	for name, tamper := range map[string]func(p *corev1.Pod){
		"no controller": func(p *corev1.Pod) { p.OwnerReferences = nil },
		"another Job":   func(p *corev1.Pod) { p.OwnerReferences[0].UID = "other" },
		"other image":   func(p *corev1.Pod) { p.Spec.Containers[0].Image = "evil/printer" },
		"other command": func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"/bin/echo"} },
		"other args":    func(p *corev1.Pod) { p.Spec.Containers[0].Args = append(p.Spec.Containers[0].Args, "--skip-precheck") },
		"extra env": func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: "TF_CLI_CONFIG_FILE", Value: "/x"})
		},
		"envFrom":              func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "X"}} },
		"other ServiceAccount": func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" },
		"init container": func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "rotation.local/web:1.0"}}
		},
		"second container":    func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side"}) },
		"other submission":    func(p *corev1.Pod) { p.Spec.Volumes[0].ConfigMap.Name = "submission-forged" },
		"writable submission": func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].ReadOnly = false },
		"missing mount":       func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts = p.Spec.Containers[0].VolumeMounts[1:] },
		"fake token from a CM": func(p *corev1.Pod) {
			p.Spec.Volumes[len(p.Spec.Volumes)-1].VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}
		},
		"extra mount elsewhere": func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts[len(p.Spec.Containers[0].VolumeMounts)-1].MountPath = "/opt/terraform/mirror"
		},
	} {
		t.Run(name, func(t *testing.T) {
			job, pod := runnerJobAndPod(t)
			tamper(pod)
			if err := genuineRunnerPod(pod, job); err == nil {
				t.Errorf("tampered pod (%s) accepted as the runner", name)
			}
		})
	}
}

// TestParseFacts: the facts are the JSON object line of the log, whatever
// stderr lines surround it; a log without one is an error that quotes it.
func TestParseFacts(t *testing.T) {
	log := "runner terraform: warning: something\n{\"error\":\"\",\"outputs\":{\"n\":3}}\ntrace: plan 1.2s\n"
	facts, err := parseFacts([]byte(log))
	if err != nil {
		t.Fatal(err)
	}
	if facts["error"] != "" || facts["outputs"].(map[string]any)["n"] != int64(3) {
		t.Errorf("facts %#v", facts)
	}
	_, err = parseFacts([]byte("runner terraform: no terraform binary\n"))
	if err == nil || !strings.Contains(err.Error(), "no terraform binary") {
		t.Errorf("log without facts: %v", err)
	}
	if _, err := parseFacts([]byte("{not json\n")); err == nil {
		t.Error("bad JSON accepted")
	}
}
