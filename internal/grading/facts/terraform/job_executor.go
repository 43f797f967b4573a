package terraform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// JobExecutor is the cluster-mode Executor: it grades a submission with a
// runner Job in the lab namespace (JobFor), as the learner's
// ServiceAccount, and reads the facts from the runner pod's log. The
// operator itself never runs learner configuration and never lends it a
// credential.
//
// The learner can create pods and Jobs in the lab too, so nothing there is
// trusted on sight: the facts are read only from a pod that the Job we
// created controls and whose spec is the runner's (image, command, args,
// env, mounts), and the submission copy must still be the ConfigMap we
// wrote. A forged or tampered run is an error, never a grade.
type JobExecutor struct {
	// Client talks to the cluster as the operator: it needs create, get,
	// list, delete on jobs, create and get on configmaps, list on pods and
	// get on pods/log, in lab namespaces.
	Client kubernetes.Interface
	// Job is the template of every runner Job; Namespace, Exercise,
	// SubmissionConfigMap and Digest are filled per request. Image is required.
	Job JobOptions
	// PollInterval is how often the Job is looked at (default 1s).
	PollInterval time.Duration
	Log          logr.Logger
}

// Annotations and labels of runner objects.
const (
	// AnnotationDigest on a runner Job and its submission copy is the
	// Digest of the graded Request.
	AnnotationDigest = "rotations.handson.dev/submission-digest"
	runnerContainer  = "runner"
	// maxLogTail bounds the log excerpt quoted in an error.
	maxLogTail = 2 << 10
)

// Execute runs req as a runner Job and returns the runner's facts. The Job
// and its submission copy are deleted before it returns; their TTL and the
// garbage collector are the backstop when the operator dies mid-run.
func (e *JobExecutor) Execute(ctx context.Context, req Request) (map[string]any, error) {
	if e.Client == nil || e.Job.Image == "" {
		return nil, errors.New("terraform: JobExecutor needs a Client and Job.Image")
	}
	o := e.Job
	o.Namespace, o.Exercise, o.Digest = req.Namespace, req.Exercise, Digest(req)
	o.SubmissionConfigMap = jobName(o.Exercise, o.Digest)
	if dl, ok := ctx.Deadline(); ok {
		// The Job must end (and report) before the caller gives up on it.
		if d := time.Until(dl) - 15*time.Second; o.Deadline <= 0 || d < o.Deadline {
			o.Deadline = max(d, time.Minute)
		}
	}
	job, err := JobFor(o)
	if err != nil {
		return nil, err
	}
	job.Annotations = map[string]string{AnnotationDigest: o.Digest}

	job, err = e.createJob(ctx, job)
	if err != nil {
		return nil, err
	}
	defer e.cleanup(job)
	cm, err := e.createSubmissionCopy(ctx, job, req)
	if err != nil {
		return nil, err
	}
	done, err := e.wait(ctx, job)
	if err != nil {
		return nil, err
	}
	pod, err := e.runnerPod(ctx, done)
	if c := jobCondition(done, batchv1.JobFailed); c != nil {
		detail := "no log"
		if err == nil {
			if logs, lerr := e.logs(ctx, pod); lerr == nil {
				detail = tail(logs)
			}
		}
		return nil, fmt.Errorf("terraform runner Job %s/%s failed (%s: %s): %s", job.Namespace, job.Name, c.Reason, c.Message, detail)
	}
	if err != nil {
		return nil, err
	}
	if err := e.checkSubmissionCopy(ctx, cm); err != nil {
		return nil, err
	}
	logs, err := e.logs(ctx, pod)
	if err != nil {
		return nil, err
	}
	return parseFacts(logs)
}

// createJob creates job, or adopts the runner Job of the same submission
// that an earlier, interrupted call left running.
func (e *JobExecutor) createJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	jobs := e.Client.BatchV1().Jobs(job.Namespace)
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{FieldManager: "rotation-operator"})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating terraform runner Job: %w", err)
	}
	old, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("terraform runner Job: %w", err)
	}
	switch {
	case old.DeletionTimestamp != nil:
		return nil, fmt.Errorf("terraform runner Job %s/%s is still being deleted; grading again shortly", old.Namespace, old.Name)
	case old.Annotations[AnnotationDigest] != job.Annotations[AnnotationDigest] ||
		old.Labels[LabelComponent] != ComponentRunner ||
		// The lab guard keeps learners from setting this label.
		old.Labels["app.kubernetes.io/managed-by"] != "rotation-operator" ||
		!equality.Semantic.DeepEqual(old.Spec.Template.Spec.Containers, job.Spec.Template.Spec.Containers) ||
		!equality.Semantic.DeepEqual(old.Spec.Template.Spec.Volumes, job.Spec.Template.Spec.Volumes):
		// Not ours (the learner may create Jobs in the lab): remove it so
		// the next pass can create the real one.
		_ = jobs.Delete(ctx, old.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		return nil, fmt.Errorf("a Job named %s/%s that is not the operator's runner was in the way; deleted it", old.Namespace, old.Name)
	}
	return old, nil
}

// createSubmissionCopy writes the files being graded into an immutable
// ConfigMap owned by the Job, which the runner pod mounts. Copying pins the
// files to the digest: the learner may change their submission at any time.
func (e *JobExecutor) createSubmissionCopy(ctx context.Context, job *batchv1.Job, req Request) (*corev1.ConfigMap, error) {
	cms := e.Client.CoreV1().ConfigMaps(job.Namespace)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name, Namespace: job.Namespace,
			Labels:      map[string]string{LabelComponent: ComponentRunner, LabelExercise: req.Exercise, "app.kubernetes.io/managed-by": "rotation-operator"},
			Annotations: map[string]string{AnnotationDigest: job.Annotations[AnnotationDigest]},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
			}},
		},
		Data:      req.Files,
		Immutable: ptr.To(true),
	}
	created, err := cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "rotation-operator"})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating the submission copy for the terraform runner: %w", err)
	}
	old, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("submission copy: %w", err)
	}
	if !ownedBy(old.OwnerReferences, job.UID) || !equality.Semantic.DeepEqual(old.Data, cm.Data) {
		_ = cms.Delete(ctx, old.Name, metav1.DeleteOptions{})
		return nil, fmt.Errorf("ConfigMap %s/%s in the way of the terraform runner; deleted it", old.Namespace, old.Name)
	}
	return old, nil
}

// wait polls the Job until it has finished or ctx ends.
func (e *JobExecutor) wait(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	interval := e.PollInterval
	if interval <= 0 {
		interval = time.Second
	}
	var last *batchv1.Job
	err := wait.PollUntilContextCancel(ctx, interval, false, func(ctx context.Context) (bool, error) {
		j, err := e.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("terraform runner Job %s/%s was deleted before it finished", job.Namespace, job.Name)
		}
		if err != nil {
			return false, nil // transient: keep polling until ctx ends
		}
		if j.UID != job.UID {
			return false, fmt.Errorf("terraform runner Job %s/%s was replaced before it finished", job.Namespace, job.Name)
		}
		last = j
		return jobCondition(j, batchv1.JobComplete) != nil || jobCondition(j, batchv1.JobFailed) != nil, nil
	})
	if err == nil {
		return last, nil
	}
	if ctx.Err() == nil {
		return nil, err
	}
	why := "it created no pod yet (is the lab's pod or CPU quota used up?)"
	if last != nil && last.Status.Active > 0 {
		why = "its pod is still running"
	}
	return nil, fmt.Errorf("terraform runner Job %s/%s did not finish in time: %s: %w", job.Namespace, job.Name, why, ctx.Err())
}

// runnerPod returns the finished pod of job that is genuinely the runner.
func (e *JobExecutor) runnerPod(ctx context.Context, job *batchv1.Job) (*corev1.Pod, error) {
	pods, err := e.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the terraform runner's pods: %w", err)
	}
	var rejected []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			continue
		}
		if err := genuineRunnerPod(pod, job); err != nil {
			rejected = append(rejected, pod.Name+": "+err.Error())
			continue
		}
		return pod, nil
	}
	if len(rejected) > 0 {
		e.Log.Info("WARNING: pods posing as the terraform runner were ignored", "namespace", job.Namespace, "job", job.Name, "pods", rejected)
		return nil, fmt.Errorf("terraform runner Job %s/%s: no genuine runner pod (ignored %s)", job.Namespace, job.Name, strings.Join(rejected, "; "))
	}
	return nil, fmt.Errorf("terraform runner Job %s/%s finished but its pod is gone", job.Namespace, job.Name)
}

// genuineRunnerPod says why pod is not the runner of job: anyone who may
// create pods in the lab can label one and point its ownerReference at the
// Job, but only the Job's template runs the real runner on our copy.
func genuineRunnerPod(pod *corev1.Pod, job *batchv1.Job) error {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != "Job" || ref.UID != job.UID {
		return errors.New("not controlled by the runner Job")
	}
	want, got := job.Spec.Template.Spec, pod.Spec
	if len(got.Containers) != 1 || len(got.InitContainers) != 0 || len(got.EphemeralContainers) != 0 {
		return errors.New("not the runner's containers")
	}
	if got.ServiceAccountName != want.ServiceAccountName {
		return errors.New("another ServiceAccount")
	}
	w, g := want.Containers[0], got.Containers[0]
	if g.Name != w.Name || g.Image != w.Image || !equality.Semantic.DeepEqual(g.Command, w.Command) ||
		!equality.Semantic.DeepEqual(g.Args, w.Args) || !equality.Semantic.DeepEqual(g.Env, w.Env) || len(g.EnvFrom) != 0 {
		return errors.New("not the runner's image, command, arguments or environment")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range got.Volumes {
		volumes[v.Name] = v
	}
	for _, v := range want.Volumes {
		if !equality.Semantic.DeepEqual(volumes[v.Name], v) {
			return fmt.Errorf("volume %s is not the runner's", v.Name)
		}
	}
	wantMounts := map[string]corev1.VolumeMount{}
	for _, m := range w.VolumeMounts {
		wantMounts[m.Name] = m
	}
	for _, m := range g.VolumeMounts {
		if wm, ok := wantMounts[m.Name]; ok {
			if !equality.Semantic.DeepEqual(wm, m) {
				return fmt.Errorf("mount %s is not the runner's", m.Name)
			}
			delete(wantMounts, m.Name)
			continue
		}
		// The only mount admission adds: the ServiceAccount's token.
		if m.MountPath != serviceAccountDir || !m.ReadOnly || volumes[m.Name].Projected == nil {
			return fmt.Errorf("extra mount %s at %s", m.Name, m.MountPath)
		}
	}
	if len(wantMounts) > 0 {
		return errors.New("runner mounts missing")
	}
	return nil
}

// checkSubmissionCopy fails when the ConfigMap the runner mounted was
// replaced after we wrote it (it is immutable, but may be deleted and
// recreated by anyone who can write ConfigMaps in the lab).
func (e *JobExecutor) checkSubmissionCopy(ctx context.Context, cm *corev1.ConfigMap) error {
	now, err := e.Client.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the terraform runner's submission copy %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	if now.UID != cm.UID {
		return fmt.Errorf("the terraform runner's submission copy %s/%s was replaced during the run; not graded", cm.Namespace, cm.Name)
	}
	return nil
}

// logs reads the runner container's log through the apiserver, bounded.
func (e *JobExecutor) logs(ctx context.Context, pod *corev1.Pod) ([]byte, error) {
	b, err := e.Client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container:  runnerContainer,
		LimitBytes: ptr.To[int64](MaxFactsSize + 64<<10),
	}).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the terraform runner's log (pod %s/%s): %w", pod.Namespace, pod.Name, err)
	}
	return b, nil
}

// parseFacts finds the facts in a runner log: the runner prints them as the
// one JSON object line on stdout; stderr lines (warnings, traces) are
// interleaved in a pod log and never start with '{'.
func parseFacts(logs []byte) (map[string]any, error) {
	var line []byte
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 64<<10), MaxFactsSize+64<<10)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 && l[0] == '{' {
			line = append(line[:0], l...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("terraform runner log: %w", err)
	}
	if line == nil {
		return nil, fmt.Errorf("terraform runner printed no facts: %s", tail(logs))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var facts map[string]any
	if err := dec.Decode(&facts); err != nil {
		return nil, fmt.Errorf("terraform runner: bad facts JSON: %w", err)
	}
	return normalize(facts).(map[string]any), nil
}

// cleanup deletes the Job (its pod and submission copy go with it), on a
// context of its own: the caller's may be what ended.
func (e *JobExecutor) cleanup(job *batchv1.Job) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Client.BatchV1().Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &job.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		e.Log.Info("could not delete the terraform runner Job; its TTL will", "namespace", job.Namespace, "job", job.Name, "err", err.Error())
	}
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// tail is the end of a log, for error messages.
func tail(logs []byte) string {
	s := strings.TrimSpace(string(logs))
	if len(s) > maxLogTail {
		s = "…" + s[len(s)-maxLogTail:]
	}
	if s == "" {
		return "(empty log)"
	}
	return s
}
