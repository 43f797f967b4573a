package plugin

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/submission"
)

func newSubmitCommand(o *Options) *cobra.Command {
	var rotation string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "submit EXERCISE DIR",
		Short: "Hand in the files of DIR for an exercise graded from files (Terraform, Dockerfile)",
		Long: fmt.Sprintf(`Hand in the files at the top of DIR for EXERCISE. They are checked before
anything is uploaded: text files only, flat names (hidden files and
directories such as .terraform are skipped), at most %d files, %d KiB per
file and %d KiB in all. The files become the ConfigMap submission-EXERCISE
in the lab; handing in again replaces it. The newest submission is graded,
and credit earned earlier is kept.

With --wait the command waits until the operator has graded this very
submission and prints the exercise's result (exit code 3 on --timeout).`,
			submission.MaxFiles, submission.MaxFileBytes>>10, submission.MaxTotalBytes>>10),
		Example: `  kubectl rotation submit terraform-basics ./infra
  kubectl rotation submit dockerfile-basics . --wait`,
		Args: exactArgs(2, "EXERCISE and DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			exercise, dir := args[0], args[1]
			// Validate before talking to the cluster: a bad submission is
			// refused with the same message the operator would give.
			files, err := submission.FromDir(dir)
			if err != nil {
				return err
			}
			name, err := o.inferRotation(rotation)
			if err != nil {
				return err
			}
			lr, err := o.getRotation(cmd.Context(), name)
			if err != nil {
				return err
			}
			if _, err := exerciseResult(lr, exercise); err != nil {
				return err
			}
			if lr.Status.Access != "" && lr.Status.Access != rotationsv1.AccessReadWrite {
				return fmt.Errorf("rotation %s does not take submissions now: the learner's access is %s (phase %s)", lr.Name, lr.Status.Access, lr.Status.Phase)
			}
			cm := submission.ConfigMap(labNamespace(lr), exercise, files, o.Now())
			if err := o.applyConfigMap(cmd.Context(), cm); err != nil {
				return err
			}
			digest := submission.Digest(files)
			fmt.Fprintf(o.Streams.Out, "submitted %d files (%s) as %s/%s\n", len(files), shortDigest(digest), cm.Namespace, cm.Name)
			if !wait {
				fmt.Fprintf(o.Streams.Out, "the operator grades it shortly: kubectl rotation status %s\n", lr.Name)
				return nil
			}
			lr, err = o.waitRotation(cmd.Context(), lr.Name, timeout, "the operator to grade the submission", func(lr *rotationsv1.LearningRotation) bool {
				r, err := exerciseResult(lr, exercise)
				return err == nil && r.Submission != nil && r.Submission.Digest == digest
			})
			if err != nil {
				return err
			}
			one := lr.DeepCopy()
			r, _ := exerciseResult(lr, exercise)
			one.Status.Exercises = []rotationsv1.ExerciseResult{*r}
			writeExercises(o.Streams.Out, one, o.exerciseCatalog(cmd.Context()), o.Now(), style(o.Color))
			if r.Submission.Error != "" {
				return fmt.Errorf("the submission was not graded: %s", r.Submission.Error)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&rotation, "rotation", "r", "", "Rotation (default: the one of the current lab-<rotation> namespace)")
	cmd.Flags().BoolVar(&wait, "wait", false, "Wait until the operator graded this submission and print the result")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "How long --wait waits")
	return cmd
}
