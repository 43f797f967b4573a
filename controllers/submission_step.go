package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/submission"
)

// SubmissionCollector turns one exercise's submitted files into the facts of
// a file-graded track (terraform, docker). Mistakes in the learner's files
// are facts that make checks fail with a message; an error means the
// grading infrastructure failed, and the exercise keeps its last result.
type SubmissionCollector interface {
	Collect(ctx context.Context, in SubmissionInput) (map[string]any, error)
}

// ErrGradingPending, from a SubmissionCollector, means the facts are being
// collected in the background (a terraform run, a runner Job): the exercise
// keeps its last result and the rotation is looked at again shortly,
// without holding a reconcile worker for the whole run.
var ErrGradingPending = errors.New("grading in progress")

// pendingPoll is how soon a rotation with grading in progress is looked at
// again at the latest: GradingDone usually brings it back sooner.
const pendingPoll = 10 * time.Second

// submissionOptional is implemented by collectors that need a submission
// only for some of their facts; without it every fact needs one.
type submissionOptional interface {
	NeedsSubmission(facts []string) bool
}

// needsSubmission tells whether sel's checks read a fact that comes from files.
func (r *LearningRotationReconciler) needsSubmission(sel selectedExercise, variables []string) bool {
	for _, v := range variables {
		opt, ok := r.SubmissionCollectors[v].(submissionOptional)
		if !ok || opt.NeedsSubmission(sel.program.Facts) {
			return true
		}
	}
	return false
}

// SubmissionInput is what a SubmissionCollector grades.
type SubmissionInput struct {
	Rotation, Namespace, Exercise string
	Submission                    *submission.Submission
	// Kubeconfig returns a kubeconfig for the lab's learner ServiceAccount
	// with a short-lived token; learner files run with nothing more.
	Kubeconfig func(ctx context.Context) ([]byte, error)
	// labFacts is the pass's memo of lab-wide facts, shared by the
	// exercises graded in one pass (see DockerFacts).
	labFacts map[string]map[string]any
}

// submissionFacts is the outcome of reading and collecting one exercise's submission.
type submissionFacts struct {
	vars   map[string]any // the pass's variables plus the exercise's file-graded ones
	status *rotationsv1.SubmissionStatus
	// blocked, when set, is why the exercise cannot be graded now (no
	// submission, or an invalid one): the learner's next step.
	blocked string
	digest  string
}

// fileVariables are the variables of sel's checks that come from a submission.
func (r *LearningRotationReconciler) fileVariables(sel selectedExercise) []string {
	if sel.program == nil || len(r.SubmissionCollectors) == 0 {
		return nil
	}
	var out []string
	for _, f := range sel.program.Facts {
		variable, _, _ := strings.Cut(f, ".")
		if _, ok := r.SubmissionCollectors[variable]; ok && !slices.Contains(out, variable) {
			out = append(out, variable)
		}
	}
	return out
}

// collectSubmission reads an exercise's submission ConfigMap and runs the
// collectors of its file-graded variables over it. It never writes: the
// submission belongs to the learner.
func (r *LearningRotationReconciler) collectSubmission(ctx context.Context, s *rotationScope, sel selectedExercise,
	variables []string, base map[string]any) (submissionFacts, error) {
	ns := lab.Namespace(s.lr.Name)
	name := submission.ConfigMapName(sel.ex.Name)
	cm := &corev1.ConfigMap{}
	// ConfigMaps are read around the cache: the operator caches only its own.
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) && !r.needsSubmission(sel, variables) {
			return r.runCollectors(ctx, s, sel, variables, base, nil, nil)
		}
		if apierrors.IsNotFound(err) {
			return submissionFacts{blocked: fmt.Sprintf(
				"nothing handed in yet: put your files in a directory and run kubectl rotation submit %s DIR "+
					"(or create ConfigMap %s in %s labelled %s=%s, one key per file)",
				sel.ex.Name, name, ns, rotationsv1.LabelSubmission, sel.ex.Name)}, nil
		}
		return submissionFacts{}, err
	}
	status := &rotationsv1.SubmissionStatus{ConfigMap: name, Files: int32(len(cm.Data) + len(cm.BinaryData))}
	sub, err := submission.FromConfigMap(cm)
	if err != nil {
		all := maps.Clone(cm.Data)
		if all == nil {
			all = map[string]string{}
		}
		for n, b := range cm.BinaryData {
			all[n] = string(b)
		}
		status.Digest = submission.Digest(all)
		status.Error = err.Error()
		return submissionFacts{status: status, digest: status.Digest, blocked: err.Error() + "; fix it and submit again"}, nil
	}
	status.Digest = sub.Digest
	if !sub.SubmittedAt.IsZero() {
		status.SubmittedAt = &metav1.Time{Time: sub.SubmittedAt}
	}
	return r.runCollectors(ctx, s, sel, variables, base, sub, status)
}

// runCollectors adds the exercise's file-graded variables to the pass's.
// sub is nil when the exercise's checks need no submission and there is none.
func (r *LearningRotationReconciler) runCollectors(ctx context.Context, s *rotationScope, sel selectedExercise,
	variables []string, base map[string]any, sub *submission.Submission, status *rotationsv1.SubmissionStatus) (submissionFacts, error) {
	vars := maps.Clone(base)
	in := SubmissionInput{
		Rotation: s.lr.Name, Namespace: lab.Namespace(s.lr.Name), Exercise: sel.ex.Name, Submission: sub,
		Kubeconfig: func(ctx context.Context) ([]byte, error) { return r.Learners.Kubeconfig(ctx, s.lr.Name) },
	}
	if s.labFacts == nil {
		s.labFacts = map[string]map[string]any{}
	}
	in.labFacts = s.labFacts
	for _, v := range variables {
		if sub == nil && v == grading.VarSubmission {
			vars[v] = map[string]any{"files": map[string]any{}, "digest": ""}
			continue
		}
		facts, err := r.SubmissionCollectors[v].Collect(ctx, in)
		if errors.Is(err, ErrGradingPending) {
			return submissionFacts{}, fmt.Errorf("exercise %s: %w", sel.ex.Name, err)
		}
		if err != nil {
			return submissionFacts{}, fmt.Errorf("collecting %s facts of exercise %s: %w", v, sel.ex.Name, err)
		}
		vars[v] = facts
	}
	out := submissionFacts{vars: vars, status: status}
	if sub != nil {
		out.digest = sub.Digest
	}
	return out, nil
}

// blockedResult fails every check of an exercise that cannot be graded yet,
// the first with the learner's next step.
func blockedResult(p *grading.Program, why string) grading.Result {
	res := grading.Result{MaxPoints: p.MaxPoints}
	for i, c := range p.Checks {
		msg := "not graded until the submission can be graded"
		if i == 0 {
			msg = why
		}
		res.Checks = append(res.Checks, rotationsv1.CheckResult{Name: c.Name, Message: msg})
	}
	return res
}

// gradeSubmission grades an exercise whose checks read file-graded facts.
// An infrastructure error leaves the exercise's last result in place.
func (r *LearningRotationReconciler) gradeSubmission(ctx context.Context, s *rotationScope, sel selectedExercise,
	prev rotationsv1.ExerciseResult, variables []string, vars map[string]any, now time.Time) (rotationsv1.ExerciseResult, error) {
	sf, err := r.collectSubmission(ctx, s, sel, variables, vars)
	if err != nil {
		return prev, err
	}
	// A new submission is announced by notify.go, from status.exercises[].submission.
	var next rotationsv1.ExerciseResult
	if sf.blocked != "" {
		next, _ = grading.Advance(prev, blockedResult(sel.program, sf.blocked), "blocked:"+sf.digest, sel.ex.Spec.Hints, now)
	} else {
		next = r.gradeOne(ctx, s, sel, prev, sf.vars, grading.NewFactHasher(sf.vars), sf.digest, now)
	}
	next.Submission = sf.status
	return next, nil
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return hex[:12]
	}
	return d
}

// FilesCollector provides the "submission" variable: the submitted files'
// text, for checks such as submission.files['main.tf'].contains('backend').
type FilesCollector struct{}

// Collect returns the submission's own facts.
func (FilesCollector) Collect(_ context.Context, in SubmissionInput) (map[string]any, error) {
	return in.Submission.Facts(), nil
}
