package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func newGradeCommand(o *Options) *cobra.Command {
	var wait bool
	var timeout time.Duration
	var asLearner bool
	cmd := &cobra.Command{
		Use:   "grade [ROTATION]",
		Short: "Grade a rotation now, wait for the result and print it",
		Long: `Ask the operator for an immediate grading pass, wait until it answered this
request (status.gradeRequest echoes it) and print the result.

A mentor's request is the annotation rotations.handson.dev/grade-requested on
the LearningRotation. Learners cannot write the rotation: when the annotation
is forbidden (or with --as-learner) the request is the ConfigMap
rotation-grade in the lab. Exit code 3 when the operator did not answer
within --timeout, or when the rotation is not graded now (suspended, expired).`,
		Example: `  kubectl rotation grade alice
  kubectl rotation grade                  # as the learner, in lab-alice
  kubectl rotation grade alice --wait=false`,
		Args: maxArgs(1, "one ROTATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := o.rotationFromArgs(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			lr, err := o.getRotation(ctx, name)
			if err != nil {
				return err
			}
			if err := gradable(lr); err != nil {
				return err
			}
			value := requestTime(o.Now())
			via, err := o.requestGrade(ctx, lr, value, asLearner)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.Streams.ErrOut, "grading of %s requested (%s)\n", lr.Name, via)
			if !wait {
				return nil
			}
			lr, err = o.waitRotation(ctx, lr.Name, timeout, fmt.Sprintf("the operator to grade %s (status.gradeRequest %q)", name, value), func(lr *rotationsv1.LearningRotation) bool {
				return lr.Status.GradeRequest == value || gradable(lr) != nil
			})
			if err != nil {
				return err
			}
			if err := gradable(lr); err != nil && lr.Status.GradeRequest != value {
				return err
			}
			writeStatus(o.Streams.Out, lr, o.exerciseCatalog(ctx), o.Now(), style(o.Color))
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", true, "Wait for the operator's answer and print the result")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait for the operator")
	cmd.Flags().BoolVar(&asLearner, "as-learner", false, "Request through the lab's rotation-grade ConfigMap, as a learner does")
	return cmd
}

// gradable says why the operator will not grade the rotation now.
func gradable(lr *rotationsv1.LearningRotation) error {
	switch lr.Status.Phase {
	case rotationsv1.PhaseSuspended:
		return unmetError{fmt.Errorf("rotation %s is suspended: grading is stopped until spec.suspend is cleared", lr.Name)}
	case rotationsv1.PhaseExpired:
		return unmetError{fmt.Errorf("rotation %s has expired: its grades are final", lr.Name)}
	}
	return nil
}

// requestGrade annotates the rotation, or writes the learner's request
// ConfigMap when the annotation is forbidden. It says which it used.
func (o *Options) requestGrade(ctx context.Context, lr *rotationsv1.LearningRotation, value string, asLearner bool) (string, error) {
	if !asLearner {
		err := o.annotate(ctx, lr.Name, rotationsv1.AnnotationGradeRequested, value)
		if err == nil {
			return "annotation " + rotationsv1.AnnotationGradeRequested, nil
		}
		if !apierrors.IsForbidden(err) {
			return "", err
		}
	}
	cm := requestConfigMap(labNamespace(lr), rotationsv1.RequestGradeName, rotationsv1.RequestGrade,
		map[string]string{rotationsv1.RequestKeyRequestedAt: value})
	if err := o.applyConfigMap(ctx, cm); err != nil {
		return "", forbiddenHint(err, "neither the rotation's annotation nor the lab's request ConfigMap may be written with these credentials")
	}
	return "ConfigMap " + cm.Namespace + "/" + cm.Name, nil
}

// annotate sets one annotation of a rotation with a merge patch (no read-modify-write races).
func (o *Options) annotate(ctx context.Context, name, key, value string) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	lr := &rotationsv1.LearningRotation{}
	lr.Name = name
	return c.Patch(ctx, lr, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager))
}
