package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// JobOptions describe a runner Job: cluster mode, where the runner grades
// a submission in the lab itself, as the learner. Zero values take the
// defaults named on each field.
type JobOptions struct {
	// Namespace is the lab namespace. Required.
	Namespace string
	// Exercise names the exercise. Required.
	Exercise string
	// SubmissionConfigMap is the ConfigMap in Namespace holding the
	// submitted files (one key per file). Required.
	SubmissionConfigMap string
	// Image is the operator image: it runs the runner subcommand and must
	// hold terraform and the provider mirror. Required.
	Image string
	// Command is the operator binary in Image (default /manager).
	Command string
	// ServiceAccount is the learner's ServiceAccount (default learner): the
	// runner gets exactly the learner's rights in the lab.
	ServiceAccount string
	// Terraform and Mirror are paths in Image (defaults
	// /usr/local/bin/terraform and /opt/terraform/mirror).
	Terraform, Mirror string
	// Deadline is activeDeadlineSeconds (default 5m); the runner's own
	// timeout is 30s less, so it reports rather than being killed.
	Deadline time.Duration
	// TTLAfterFinished is ttlSecondsAfterFinished (default 10m).
	TTLAfterFinished time.Duration
	// LockTimeout is plan's -lock-timeout (default DefaultTimeouts.Lock).
	LockTimeout time.Duration
	// Resources of the runner container (default requests 250m CPU and
	// 256Mi, limits 1 CPU and 1Gi: terraform plus one provider).
	Resources *corev1.ResourceRequirements
	// PodAnnotations are added to the runner pod, e.g. to keep a service
	// mesh from injecting a sidecar (the Job would never complete).
	PodAnnotations map[string]string
	// Digest, when set, names the Job (Digest of the Request) so a
	// submission is graded by one Job at a time.
	Digest string
}

// Labels of runner Jobs and their pods.
const (
	LabelComponent     = "app.kubernetes.io/component"
	ComponentRunner    = "terraform-runner"
	LabelExercise      = "rotations.handson.dev/exercise"
	runnerUID          = 65532 // distroless nonroot
	submissionMount    = "/submission"
	workMount          = "/work"
	defaultJobDeadline = 5 * time.Minute
)

// JobFor builds the runner Job of a submission in cluster mode: the same
// `runner terraform` subcommand as local mode, run in the lab namespace
// under the learner's ServiceAccount (--in-cluster), restricted (non-root,
// read-only root filesystem, no capabilities, no privilege escalation,
// RuntimeDefault seccomp: it passes Pod Security "restricted"), bounded
// (deadline, resources, scratch size) and cleaned up after TTLAfterFinished.
// The submission ConfigMap is mounted read-only; scratch is an emptyDir.
// The facts are the pod's log (stdout).
func JobFor(o JobOptions) (*batchv1.Job, error) {
	var missing []string
	for name, v := range map[string]string{"Namespace": o.Namespace, "Exercise": o.Exercise, "SubmissionConfigMap": o.SubmissionConfigMap, "Image": o.Image} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("terraform runner Job: %s required", strings.Join(missing, ", "))
	}
	if o.Command == "" {
		o.Command = "/manager"
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = "learner"
	}
	if o.Terraform == "" {
		o.Terraform = "/usr/local/bin/terraform"
	}
	if o.Mirror == "" {
		o.Mirror = "/opt/terraform/mirror"
	}
	if o.Deadline <= 0 {
		o.Deadline = defaultJobDeadline
	}
	if o.Deadline < time.Minute {
		return nil, errors.New("terraform runner Job: Deadline under a minute")
	}
	if o.TTLAfterFinished <= 0 {
		o.TTLAfterFinished = 10 * time.Minute
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultTimeouts.Lock
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceEphemeralStorage: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")},
	}
	if o.Resources != nil {
		res = *o.Resources
	}
	name := jobName(o.Exercise, o.Digest)
	labels := map[string]string{
		"app.kubernetes.io/name":       "rotation-operator",
		"app.kubernetes.io/managed-by": "rotation-operator",
		LabelComponent:                 ComponentRunner,
		LabelExercise:                  o.Exercise,
	}
	args := append(append([]string(nil), Subcommand...),
		"--namespace="+o.Namespace,
		"--exercise="+o.Exercise,
		"--submission="+submissionMount,
		"--in-cluster",
		"--work="+workMount,
		"--mirror="+o.Mirror,
		"--terraform="+o.Terraform,
		"--timeout="+(o.Deadline-30*time.Second).String(),
		"--lock-timeout="+o.LockTimeout.String(),
	)
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(o.Deadline.Seconds())),
			TTLSecondsAfterFinished: ptr.To(int32(o.TTLAfterFinished.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: o.PodAnnotations},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: o.ServiceAccount,
					// The learner's token is what the runner uses; mounted
					// as the usual bound, expiring projected token.
					AutomountServiceAccountToken: ptr.To(true),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](runnerUID),
						RunAsGroup:     ptr.To[int64](runnerUID),
						FSGroup:        ptr.To[int64](runnerUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:    "runner",
						Image:   o.Image,
						Command: []string{o.Command},
						Args:    args,
						Env: []corev1.EnvVar{
							{Name: "HOME", Value: workMount + "/home"},
							{Name: "TMPDIR", Value: workMount + "/tmp"},
						},
						Resources: res,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Privileged:               ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "submission", MountPath: submissionMount, ReadOnly: true},
							{Name: "work", MountPath: workMount},
						},
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
					Volumes: []corev1.Volume{
						{Name: "submission", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: o.SubmissionConfigMap},
							DefaultMode:          ptr.To[int32](0o444),
						}}},
						{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							SizeLimit: ptr.To(resource.MustParse("512Mi")),
						}}},
					},
				},
			},
		},
	}, nil
}

// jobName is terraform-<exercise>-<hash>, at most 63 characters (a Job's
// pods get labels with its name).
func jobName(exercise, digest string) string {
	if digest == "" {
		digest = exercise
	}
	sum := sha256.Sum256([]byte(exercise + "\x00" + digest))
	suffix := hex.EncodeToString(sum[:])[:10]
	base := "terraform-" + exercise
	if limit := 63 - len(suffix) - 1; len(base) > limit {
		base = strings.TrimRight(base[:limit], "-.")
	}
	return base + "-" + suffix
}
