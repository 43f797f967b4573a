package plugin

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

func newInstructionsCommand(o *Options) *cobra.Command {
	var rotation string
	var raw bool
	var width int
	var file string
	cmd := &cobra.Command{
		Use:     "instructions EXERCISE",
		Aliases: []string{"instr"},
		Short:   "Show an exercise's instructions, rendered for the terminal",
		Long: `Show an exercise's instructions. They come from the lab's ConfigMap
exercise-<EXERCISE> (what the learner's kubeconfig can read), or from the
Exercise in the catalog when the lab has none yet. Starter files that come
with the exercise are listed at the end; print one with --file.

The rotation is the one of the current namespace (lab-<rotation>) unless
--rotation is given.`,
		Example: `  kubectl rotation instructions scale-and-expose
  kubectl rotation instructions scale-and-expose --raw > scale.md
  kubectl rotation instructions helm-install --rotation alice   # as a mentor`,
		Args: exactArgs(1, "EXERCISE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			exercise := args[0]
			name, err := o.inferRotation(rotation)
			if err != nil {
				return err
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			md, content := "", map[string][]byte{}
			cm := &corev1.ConfigMap{}
			err = c.Get(cmd.Context(), client.ObjectKey{Namespace: lab.Namespace(name), Name: InstructionsConfigMap(exercise)}, cm)
			switch {
			case err == nil:
				md = cm.Data[InstructionsKey]
				for k, v := range cm.Data {
					content[k] = []byte(v)
				}
				for k, v := range cm.BinaryData {
					content[k] = v
				}
			case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
				// No lab yet, or a reader without access to it: the catalog.
				ex := &rotationsv1.Exercise{}
				if exErr := c.Get(cmd.Context(), client.ObjectKey{Name: exercise}, ex); exErr != nil {
					if apierrors.IsNotFound(exErr) {
						return fmt.Errorf("exercise %q: no instructions in lab %s and no such Exercise in the catalog", exercise, lab.Namespace(name))
					}
					return fmt.Errorf("exercise %q: reading the lab's instructions: %v; reading the catalog: %w", exercise, err, exErr) //nolint:errorlint // only the catalog's error decides; the lab's NotFound/Forbidden is context, and wrapping it would change how errors.go reports this
				}
				md = ex.Spec.Instructions
				for k, v := range ex.Spec.Starter.Files {
					content[k] = []byte(v)
				}
			default:
				return err
			}
			delete(content, InstructionsKey)
			if file != "" {
				b, ok := content[file]
				if !ok {
					return fmt.Errorf("exercise %q has no file %q; its files: %s", exercise, file, orNone(sortedKeys(content)))
				}
				_, err := o.Streams.Out.Write(b)
				return err
			}
			files := sortedKeys(content)
			if raw {
				_, err := fmt.Fprint(o.Streams.Out, md)
				return err
			}
			if width <= 0 {
				width = o.terminalWidth()
			}
			st := style(o.Color)
			fmt.Fprint(o.Streams.Out, renderMarkdown(md, width, st))
			if len(files) > 0 {
				fmt.Fprintf(o.Streams.Out, "\n%s\n", st.dim(fmt.Sprintf("Starter files: %s", strings.Join(files, ", "))))
				fmt.Fprintf(o.Streams.Out, "%s\n", st.dim(fmt.Sprintf("Save one with: kubectl rotation instructions %s --file %s > %s", exercise, files[0], files[0])))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&rotation, "rotation", "r", "", "Rotation (default: the one of the current lab-<rotation> namespace)")
	cmd.Flags().BoolVar(&raw, "raw", false, "Print the Markdown source instead of rendering it")
	cmd.Flags().StringVar(&file, "file", "", "Print this starter file of the exercise instead of the instructions")
	cmd.Flags().IntVar(&width, "width", 0, "Wrap text at this many columns (default: the terminal's width, or 80)")
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (o *Options) terminalWidth() int {
	if f, ok := o.Streams.Out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return min(w, 100)
		}
	}
	return 80
}
