package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// selectedExercise is an exercise of the rotation with its compiled checks;
// program is nil when it does not compile.
type selectedExercise struct {
	ex         *rotationsv1.Exercise
	program    *grading.Program
	compileErr error
	// after: the selected exercises that must pass first (exercise_order.go).
	after []string
}

// reconcileExercises resolves the rotation's selection, gives the lab each
// exercise's instructions and, once, its starter objects.
func (r *LearningRotationReconciler) reconcileExercises(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	all := &rotationsv1.ExerciseList{}
	if err := r.Client.List(ctx, all); err != nil {
		return ctrl.Result{}, err
	}
	selected, missing := selectExercises(lr.Spec.Exercises, all.Items)
	after, orderProblems := exerciseOrder(selected, all.Items)
	s.exercises = nil
	var invalid []string
	for _, ex := range selected {
		prog, err := r.Programs.Get(ex)
		s.exercises = append(s.exercises, selectedExercise{ex: ex, program: prog, compileErr: err, after: after[ex.Name]})
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("%s (%v)", ex.Name, err))
		}
	}

	s.found.exercises = &selectionFinding{selected: len(selected), missing: missing, invalid: invalid, order: orderProblems}

	if err := r.reconcileInstructions(ctx, s); err != nil {
		return ctrl.Result{}, err
	}

	// A starter that cannot be created must not stop the grading of the
	// others; the grading step returns the error so the pass is retried.
	s.starterErr = r.createStarters(ctx, s)
	return ctrl.Result{}, nil
}

// selectExercises returns the named exercises in the given order, then the
// other exercises of the selected tracks by name, and the missing names.
func selectExercises(sel rotationsv1.ExerciseSelection, all []rotationsv1.Exercise) ([]*rotationsv1.Exercise, []string) {
	byName := make(map[string]*rotationsv1.Exercise, len(all))
	for i := range all {
		byName[all[i].Name] = &all[i]
	}
	var out []*rotationsv1.Exercise
	var missing []string
	seen := map[string]bool{}
	for _, n := range sel.Names {
		ex, ok := byName[string(n)]
		if !ok {
			missing = append(missing, string(n))
			continue
		}
		seen[ex.Name] = true
		out = append(out, ex)
	}
	var byTrack []*rotationsv1.Exercise
	for i := range all {
		ex := &all[i]
		for _, t := range sel.Tracks {
			if ex.Spec.Track == t && !seen[ex.Name] {
				seen[ex.Name] = true
				byTrack = append(byTrack, ex)
			}
		}
	}
	sort.Slice(byTrack, func(i, j int) bool { return byTrack[i].Name < byTrack[j].Name })
	return append(out, byTrack...), missing
}

// reconcileInstructions gives the lab one instructions ConfigMap per
// selected exercise and deletes those of exercises no longer selected (their
// results leave the status too; the learner's objects stay, they are the
// learner's). One List serves both: ConfigMaps are read around the cache.
func (r *LearningRotationReconciler) reconcileInstructions(ctx context.Context, s *rotationScope) error {
	list := &corev1.ConfigMapList{}
	if err := r.Client.List(ctx, list, client.InNamespace(lab.Namespace(s.lr.Name)),
		client.MatchingLabels{rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue}, client.HasLabels{rotationsv1.LabelExercise}); err != nil {
		return err
	}
	live := make(map[string]*corev1.ConfigMap, len(list.Items))
	for i := range list.Items {
		// Only the rotation's own instructions: other operator ConfigMaps
		// in the lab may carry the exercise label too (a runner Job's
		// submission copy, owned by its Job).
		if metav1.IsControlledBy(&list.Items[i], s.lr) {
			live[list.Items[i].Name] = &list.Items[i]
		}
	}
	for _, sel := range s.exercises {
		desired := instructionsConfigMap(s.lr, sel.ex)
		var have client.Object
		if cm, ok := live[desired.Name]; ok {
			have = cm
			delete(live, desired.Name)
		}
		if _, err := r.applier.ApplyOver(ctx, desired, have); err != nil {
			return err
		}
	}
	for _, stale := range live {
		if err := r.Client.Delete(ctx, stale); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// InstructionsConfigMap names the ConfigMap holding an exercise's instructions in a lab.
func InstructionsConfigMap(exercise string) string { return "exercise-" + exercise }

func instructionsConfigMap(lr *rotationsv1.LearningRotation, ex *rotationsv1.Exercise) *corev1.ConfigMap {
	data := map[string]string{"instructions.md": ex.Spec.Instructions}
	for name, content := range ex.Spec.Starter.Files {
		data[name] = content
	}
	labels := lab.Labels(lr.Name)
	labels[rotationsv1.LabelExercise] = ex.Name
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: InstructionsConfigMap(ex.Name), Namespace: lab.Namespace(lr.Name), Labels: labels,
			Annotations:     map[string]string{"rotations.handson.dev/title": ex.Spec.Title},
			OwnerReferences: lab.OwnerReferences(lr),
		},
		Data: data,
	}
}

// createStarters creates each exercise's starter objects once, as the
// learner. Objects the learner later changes or deletes are theirs: they
// are never recreated or reverted.
func (r *LearningRotationReconciler) createStarters(ctx context.Context, s *rotationScope) error {
	var learner client.Client
	for _, sel := range s.exercises {
		res := s.result(sel.ex.Name)
		if len(sel.ex.Spec.Starter.Objects) == 0 || res.StarterCreatedAt != nil || sel.compileErr != nil {
			continue
		}
		if learner == nil {
			var err error
			if s.learnerToken != "" {
				learner, err = r.Learners.ForToken(s.learnerToken)
			} else {
				learner, err = r.Learners.For(ctx, s.lr.Name)
			}
			if err != nil {
				return fmt.Errorf("getting learner credentials for starter objects: %w", err)
			}
		}
		var errs []error
		for _, raw := range sel.ex.Spec.Starter.Objects {
			u, err := starterObject(s.lr, sel.ex, raw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r.own.begin(u)
			err = learner.Create(ctx, u)
			r.own.end(u, err)
			if err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("starter %s %s: %w", u.GetKind(), u.GetName(), err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			msg := fmt.Sprintf("exercise %s: starter objects could not be created: %v", sel.ex.Name, err)
			s.events.add(corev1.EventTypeWarning, "StarterFailed", "CreateStarter", msg)
			return errors.New(msg)
		}
		now := metav1.NewTime(r.Clock.Now().UTC().Truncate(time.Second))
		res.StarterCreatedAt = &now
		s.events.add(corev1.EventTypeNormal, reasonStarterCreated, "CreateStarter",
			fmt.Sprintf("exercise %s: %d starter objects created in %s", sel.ex.Name, len(sel.ex.Spec.Starter.Objects), lab.Namespace(s.lr.Name)))
	}
	return nil
}
