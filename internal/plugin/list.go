package plugin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func newListCommand(o *Options) *cobra.Command {
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(Scheme)
	var selector string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "Every rotation at a glance: learner, phase, progress, score, deadline, open help requests",
		Long: `List every LearningRotation: learner, phase, a progress bar of the
exercises passed, score out of the maximum, the deadline with the time left,
and open help requests (answer them with kubectl rotation ack).

With list on learningrotations (a platform admin's or mentor lead's right)
it lists every rotation. Without it, it lists the rotations you may read by
name, as the mentor of each: the operator grants mentors their own rotations
and no others, so a mentor sees exactly theirs.`,
		Example: `  kubectl rotation list
  kubectl rotation list -o wide          # + lab, access, Ready and the help message
  kubectl rotation list -l team=payments
  kubectl rotation list -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.Client()
			if err != nil {
				return err
			}
			list := &rotationsv1.LearningRotationList{}
			sel := labels.Everything()
			if selector != "" {
				if sel, err = parseSelector(selector); err != nil {
					return usageErrorf(err)
				}
			}
			if err := c.List(cmd.Context(), list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
				if !apierrors.IsForbidden(err) {
					return err
				}
				mine, ferr := readableRotations(cmd.Context(), c, sel)
				if ferr != nil || mine == nil {
					return forbiddenHint(err, "listing every rotation needs list on learningrotations, and you may read no rotation by name; for one rotation use kubectl rotation status NAME")
				}
				list.Items = mine
			}
			sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
			switch out := *printFlags.OutputFormat; out {
			case "", "wide":
				if len(list.Items) == 0 {
					fmt.Fprintln(o.Streams.ErrOut, "No rotations found.")
					return nil
				}
				return o.writeList(list.Items, out == "wide")
			default:
				p, err := printFlags.ToPrinter()
				if err != nil {
					return usageErrorf(err)
				}
				if out != "name" {
					return p.PrintObj(list, o.Streams.Out)
				}
				for i := range list.Items {
					if err := p.PrintObj(&list.Items[i], o.Streams.Out); err != nil {
						return err
					}
				}
				return nil
			}
		},
	}
	printFlags.AddFlags(cmd)
	setOutputUsage(cmd, "Output format: wide, json, yaml, name, jsonpath=..., go-template=...")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector to filter rotations, e.g. team=payments")
	return cmd
}

// readableRotations are the rotations the caller may get by name, matching
// sel: what a mentor has (a ClusterRole naming their rotations). RBAC gives
// no list for that, so the names come from a SelfSubjectRulesReview, whose
// rules include the cluster-wide ones. Nil when the rules name none.
func readableRotations(ctx context.Context, c client.Client, sel labels.Selector) ([]rotationsv1.LearningRotation, error) {
	review := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: metav1.NamespaceDefault}}
	if err := c.Create(ctx, review); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, r := range review.Status.ResourceRules {
		if anyOf(r.APIGroups, rotationsv1.GroupVersion.Group) && anyOf(r.Resources, "learningrotations") && anyOf(r.Verbs, "get") {
			for _, n := range r.ResourceNames {
				names[n] = true
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	out := []rotationsv1.LearningRotation{}
	for name := range names {
		lr := &rotationsv1.LearningRotation{}
		err := c.Get(ctx, client.ObjectKey{Name: name}, lr)
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
			continue
		case err != nil:
			return nil, err
		}
		if sel.Matches(labels.Set(lr.Labels)) {
			out = append(out, *lr)
		}
	}
	return out, nil
}

// anyOf tells whether values (of an RBAC rule) hold want or the wildcard.
func anyOf(values []string, want string) bool {
	for _, v := range values {
		if v == want || v == "*" {
			return true
		}
	}
	return false
}

func (o *Options) writeList(items []rotationsv1.LearningRotation, wide bool) error {
	now := o.Now()
	w := printers.GetNewTabWriter(o.Streams.Out)
	header := []string{"NAME", "LEARNER", "PHASE", "PROGRESS", "SCORE", "DEADLINE", "HELP"}
	if wide {
		header = append(header, "LAB", "ACCESS", "READY", "HELP MESSAGE")
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	open := 0
	for i := range items {
		lr := &items[i]
		s := &lr.Status
		phase := string(s.Phase)
		if phase == "" {
			phase = "Pending"
		}
		help, msg := "-", ""
		if h := openHelp(lr); h != nil {
			open++
			help = "OPEN " + ago(h.RequestedAt.Time, now)
			msg = oneLine(h.Message, 60)
		}
		deadline := "-"
		if s.Deadline != nil {
			deadline = s.Deadline.Local().Format("2006-01-02") + " (" + shortTimeLeft(lr, now) + ")"
		}
		row := []string{
			lr.Name,
			lr.Spec.Learner.Name,
			phase,
			fmt.Sprintf("%s %d/%d", progressBar(s.Completed, s.Total, barWidth), s.Completed, s.Total),
			fmt.Sprintf("%d/%d", s.Score, s.MaxScore),
			deadline,
			help,
		}
		if wide {
			access := string(s.Access)
			if access == "" {
				access = "-"
			}
			row = append(row, labNamespace(lr), access, conditionText(lr, rotationsv1.ConditionReady), orDash(msg))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if open > 0 {
		fmt.Fprintf(o.Streams.ErrOut, "%d open help request(s): kubectl rotation status NAME, then kubectl rotation ack NAME\n", open)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
