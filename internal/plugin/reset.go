package plugin

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func newResetCommand(o *Options) *cobra.Command {
	var rotation string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "reset EXERCISE",
		Short: "Reset an exercise to its start (credit already earned is kept)",
		Long: `Ask the operator to reset EXERCISE to its start: its starter objects are
put back as they were. Points already earned are kept, and the reset is
counted in the exercise's status. The request is the ConfigMap
rotation-reset-EXERCISE in the lab; the operator deletes it when done.

By default the command waits for the reset (exit code 3 after --timeout).`,
		Example: `  kubectl rotation reset fix-broken-deployment
  kubectl rotation reset fix-broken-deployment --wait=false`,
		Args: exactArgs(1, "EXERCISE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			exercise := args[0]
			name, err := o.inferRotation(rotation)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			lr, err := o.getRotation(ctx, name)
			if err != nil {
				return err
			}
			r, err := exerciseResult(lr, exercise)
			if err != nil {
				return err
			}
			if lr.Status.Access != "" && lr.Status.Access != rotationsv1.AccessReadWrite {
				return fmt.Errorf("rotation %s cannot be changed now: the learner's access is %s (phase %s)", lr.Name, lr.Status.Access, lr.Status.Phase)
			}
			resets := r.Resets
			cm := requestConfigMap(labNamespace(lr), rotationsv1.RequestResetPrefix+exercise, rotationsv1.RequestReset, map[string]string{
				rotationsv1.RequestKeyExercise:    exercise,
				rotationsv1.RequestKeyRequestedAt: requestTime(o.Now()),
			})
			if err := o.applyConfigMap(ctx, cm); err != nil {
				return forbiddenHint(err, "resets are requested by the rotation's learner, in the lab")
			}
			fmt.Fprintf(o.Streams.ErrOut, "reset of %s requested (ConfigMap %s/%s)\n", exercise, cm.Namespace, cm.Name)
			if !wait {
				return nil
			}
			lr, err = o.waitRotation(ctx, lr.Name, timeout, "the operator to reset "+exercise, func(lr *rotationsv1.LearningRotation) bool {
				r, err := exerciseResult(lr, exercise)
				return err == nil && r.Resets > resets
			})
			if err != nil {
				return err
			}
			r, _ = exerciseResult(lr, exercise)
			fmt.Fprintf(o.Streams.Out, "exercise %s was reset (%d reset%s so far); %d points earned are kept\n", exercise, r.Resets, plural(int(r.Resets)), r.BestPoints)
			return nil
		},
	}
	cmd.Flags().StringVarP(&rotation, "rotation", "r", "", "Rotation (default: the one of the current lab-<rotation> namespace)")
	cmd.Flags().BoolVar(&wait, "wait", true, "Wait until the operator reset the exercise")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait for the operator")
	return cmd
}
