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
		Use:   "status [ROTATION]",
		Short: "Per exercise and per check: ✓/✗, points, messages and the newest hint",
		Long: `Show a rotation's progress: phase, score, deadline and help request, then
every exercise with each check (✓ passed, ✗ failed), its points, the failure
message and the newest unlocked hint.

Without ROTATION, the rotation of the current namespace (lab-<rotation>) is
shown: what a learner's kubeconfig selects. --watch keeps the output up to
date as the operator grades (a watch, no polling); stop it with Ctrl-C.`,
		Example: `  kubectl rotation status alice
  kubectl rotation status              # as the learner, in lab-alice
  kubectl rotation status alice --watch
  kubectl rotation status alice -o yaml`,
		Args: maxArgs(1, "one ROTATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := o.rotationFromArgs(args)
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
