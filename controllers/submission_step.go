package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/submission"
)

// ErrGradingPending is factsource.ErrPending: a source collects in the
// background, the exercise keeps its last result.
var ErrGradingPending = factsource.ErrPending

// pendingPoll is how soon a rotation with grading in progress is looked at
// again at the latest: GradingDone usually brings it back sooner.
const pendingPoll = 10 * time.Second

// needsSubmission tells whether sel's checks read a fact of srcs that comes from files.
func needsSubmission(sel selectedExercise, srcs []factsource.Source) bool {
	for _, src := range srcs {
		if src.NeedsSubmission(factsOf(src.Variable(), sel.program.Facts)) {
			return true
		}
	}
	return false
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

// submissionSources are the sources of sel's checks that read a
// submission, collected for sel alone.
func (r *LearningRotationReconciler) submissionSources(sel selectedExercise) []factsource.Source {
	if sel.program == nil {
		return nil
	}
	var out []factsource.Source
	for _, src := range r.Sources {
		if src.ReadsSubmission() && len(factsOf(src.Variable(), sel.program.Facts)) > 0 {
			out = append(out, src)
		}
	}
	return out
}

// collectSubmission reads an exercise's submission ConfigMap and runs the
// sources of its file-graded variables over it. It never writes: the
// submission belongs to the learner.
func (r *LearningRotationReconciler) collectSubmission(ctx context.Context, s *rotationScope, sel selectedExercise,
	srcs []factsource.Source, base map[string]any) (submissionFacts, error) {
	ns := lab.Namespace(s.lr.Name)
	name := submission.ConfigMapName(sel.ex.Name)
	cm := &corev1.ConfigMap{}
	// ConfigMaps are read around the cache: the operator caches only its own.
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) && !needsSubmission(sel, srcs) {
			return r.runCollectors(ctx, s, sel, srcs, base, nil, nil)
		}
		if apierrors.IsNotFound(err) {
			return submissionFacts{blocked: fmt.Sprintf(
				"nothing handed in yet: put your files in a directory and run kubectl rotation submit %s DIR "+
					"(or create ConfigMap %s in %s labelled %s=%s, one key per file)",
				sel.ex.Name, name, ns, rotationsv1.LabelSubmission, sel.ex.Name)}, nil
		}
		return submissionFacts{}, err
	}
	status := &rotationsv1.SubmissionStatus{ConfigMap: name, Files: int32(len(cm.Data) + len(cm.BinaryData))} //nolint:gosec // G115: a ConfigMap's 1 MiB bounds its keys far below MaxInt32.
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
	return r.runCollectors(ctx, s, sel, srcs, base, sub, status)
}

// runCollectors adds the exercise's file-graded variables to the pass's.
// sub is nil when the exercise's checks need no submission and there is none.
func (r *LearningRotationReconciler) runCollectors(ctx context.Context, s *rotationScope, sel selectedExercise,
	srcs []factsource.Source, base map[string]any, sub *submission.Submission, status *rotationsv1.SubmissionStatus) (submissionFacts, error) {
	vars := maps.Clone(base)
	if s.labFacts == nil {
		s.labFacts = map[string]any{}
	}
	for _, src := range srcs {
		v := src.Variable()
		facts, err := src.Collect(ctx, factsource.Request{
			Rotation: s.lr.Name, Namespace: lab.Namespace(s.lr.Name), Facts: factsOf(v, sel.program.Facts),
			Exercise: sel.ex.Name, Submission: sub, Memo: s.labFacts,
			Kubeconfig: func(ctx context.Context) ([]byte, error) { return r.Learners.Kubeconfig(ctx, s.lr.Name) },
		})
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
	prev rotationsv1.ExerciseResult, srcs []factsource.Source, vars map[string]any, now time.Time) (rotationsv1.ExerciseResult, error) {
	sf, err := r.collectSubmission(ctx, s, sel, srcs, vars)
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
