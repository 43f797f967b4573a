package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func newStatusCommand(o *Options) *cobra.Command {
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(Scheme)
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "status [ROTATION] [EXERCISE]",
		Short: "Per exercise and per check: ✓/✗, points, messages and the newest hint",
		Long: `Show a rotation's progress: phase, score, deadline and help request, then
every exercise with each check (✓ passed, ✗ failed), its points, the failure
message and the newest unlocked hint.

Without ROTATION, the rotation of the current namespace (lab-<rotation>) is
shown: what a learner's kubeconfig selects. With EXERCISE (alone, in a lab
namespace, or after ROTATION), only that exercise is shown, every message
whole: a submission's diagnostics, a refusal and its reason, what keeps it
Locked. --watch keeps the output up to date as the operator grades (a watch,
no polling); stop it with Ctrl-C.`,
		Example: `  kubectl rotation status alice
  kubectl rotation status              # as the learner, in lab-alice
  kubectl rotation status terraform-basics   # as the learner: one exercise, whole messages
  kubectl rotation status alice terraform-basics
  kubectl rotation status alice --watch
  kubectl rotation status alice -o yaml`,
		Args: maxArgs(2, "ROTATION and EXERCISE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, exercise, err := o.statusTarget(cmd.Context(), args)
			if err != nil {
				return err
			}
			var p printers.ResourcePrinter
			if *printFlags.OutputFormat != "" {
				if p, err = printFlags.ToPrinter(); err != nil {
					return usageErrorf(err)
				}
			}
			catalog := map[string]*rotationsv1.Exercise{}
			if p == nil {
				catalog = o.exerciseCatalog(cmd.Context())
			}
			render := func(w io.Writer, lr *rotationsv1.LearningRotation) error {
				if p != nil {
					return p.PrintObj(lr, w)
				}
				if exercise != "" {
					e := exerciseResultOf(lr, exercise)
					if e == nil {
						return fmt.Errorf("rotation %s has no exercise %q", lr.Name, exercise)
					}
					writeExercise(w, e, catalog, o.Now(), style(o.Color), true)
					return nil
				}
				writeStatus(w, lr, catalog, o.Now(), style(o.Color))
				return nil
			}
			if !watchFlag {
				lr, err := o.getRotation(cmd.Context(), name)
				if err != nil {
					return err
				}
				return render(o.Streams.Out, lr)
			}
			return o.watchStatus(cmd.Context(), name, render)
		},
	}
	printFlags.AddFlags(cmd)
	setOutputUsage(cmd, "Output format: json, yaml, name, jsonpath=..., go-template=... (default: a readable summary)")
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "Keep watching and print the status again whenever it changes")
	return cmd
}

// watchStatus prints the status, then again on every change that changes
// the output. On a terminal the screen is redrawn; otherwise the renders
// follow each other, separated by a blank line. Ctrl-C ends it (exit 0).
func (o *Options) watchStatus(ctx context.Context, name string, render func(io.Writer, *rotationsv1.LearningRotation) error) error {
	var last []byte
	err := o.watchRotation(ctx, name, func(lr *rotationsv1.LearningRotation) error {
		var buf bytes.Buffer
		if err := render(&buf, lr); err != nil {
			return err
		}
		if bytes.Equal(buf.Bytes(), last) {
			return nil
		}
		switch {
		case o.Color:
			fmt.Fprint(o.Streams.Out, "\x1b[H\x1b[2J")
		case last != nil:
			fmt.Fprintln(o.Streams.Out)
		}
		last = buf.Bytes()
		_, err := o.Streams.Out.Write(last)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil // Ctrl-C
	}
	return err
}

// statusTarget reads status's arguments: [ROTATION] [EXERCISE]. One
// argument in a lab namespace names an exercise of the lab's rotation when
// it has one by that name, else a rotation.
func (o *Options) statusTarget(ctx context.Context, args []string) (rotation, exercise string, err error) {
	switch len(args) {
	case 2:
		return args[0], args[1], nil
	case 1:
		if current, err := o.inferRotation(""); err == nil && current != args[0] {
			if lr, err := o.getRotation(ctx, current); err == nil && exerciseResultOf(lr, args[0]) != nil {
				return current, args[0], nil
			}
		}
	}
	rotation, err = o.rotationFromArgs(args)
	return rotation, "", err
}

func exerciseResultOf(lr *rotationsv1.LearningRotation, name string) *rotationsv1.ExerciseResult {
	for i := range lr.Status.Exercises {
		if lr.Status.Exercises[i].Name == name {
			return &lr.Status.Exercises[i]
		}
	}
	return nil
}
