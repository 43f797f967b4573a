package plugin

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// MaxHelpMessage is the longest help message status.helpRequest holds.
const MaxHelpMessage = 1024

func newHelpRequestCommand(o *Options) *cobra.Command {
	var rotation string
	cmd := &cobra.Command{
		Use:   `help "MESSAGE"`,
		Short: "Ask your mentors for help (help on a command is --help)",
		Long: `Pull the andon cord: ask the rotation's mentors for help with MESSAGE. The
request is the ConfigMap rotation-help in your lab; the operator shows it
in the rotation's status and HelpRequested condition, mentors see it in
kubectl rotation list and acknowledge it with kubectl rotation ack. Asking
again replaces the open request.

Help on kubectl rotation's own commands is --help, e.g.
kubectl rotation status --help.`,
		Example: `  kubectl rotation help "the web Service has no endpoints and I do not see why"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(strings.Join(args, " ")) == "" {
				return usageErrorf(fmt.Errorf(`%s needs a MESSAGE for your mentors, e.g. kubectl rotation help "my pods stay Pending"; help on commands is kubectl rotation --help`, cmd.CommandPath()))
			}
			// "kubectl rotation help submit" is far more likely a question
			// about the command than a message for a mentor.
			if len(args) == 1 && cmd.Parent() != nil {
				if sub, _, err := cmd.Parent().Find(args); err == nil && sub != cmd.Parent() && sub != cmd {
					return usageErrorf(fmt.Errorf(`for help on the command, run kubectl rotation %s --help; to ask your mentors, write a sentence: kubectl rotation help "..."`, sub.Name()))
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			msg := strings.TrimSpace(strings.Join(args, " "))
			if n := len([]rune(msg)); n > MaxHelpMessage {
				return usageErrorf(fmt.Errorf("the message has %d characters; at most %d fit", n, MaxHelpMessage))
			}
			name, err := o.inferRotation(rotation)
			if err != nil {
				return err
			}
			at := o.Now()
			cm := requestConfigMap(lab.Namespace(name), rotationsv1.RequestHelpName, rotationsv1.RequestHelp, map[string]string{
				rotationsv1.RequestKeyMessage:     msg,
				rotationsv1.RequestKeyRequestedAt: at.UTC().Format(time.RFC3339),
			})
			if err := o.applyConfigMap(cmd.Context(), cm); err != nil {
				return forbiddenHint(err, "help requests are written by the rotation's learner, into the lab")
			}
			fmt.Fprintf(o.Streams.Out, "help requested at %s; your mentors see it in kubectl rotation list\n", formatTime(at))
			return nil
		},
	}
	cmd.Flags().StringVarP(&rotation, "rotation", "r", "", "Rotation (default: the one of the current lab-<rotation> namespace)")
	return cmd
}

func newAckCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ack ROTATION",
		Short: "Acknowledge the learner's open help request (mentor)",
		Long: `Acknowledge a rotation's open help request: the annotation
rotations.handson.dev/help-acknowledged is set to the request's requestedAt,
and the operator marks the request acknowledged (HelpRequested=False). A
newer request from the learner is open again until acknowledged.`,
		Example: `  kubectl rotation ack alice
  kubectl rotation list                 # the HELP column shows open requests`,
		Args: exactArgs(1, "ROTATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			lr, err := o.getRotation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			h := lr.Status.HelpRequest
			if h == nil {
				return fmt.Errorf("rotation %s has no help request", lr.Name)
			}
			if h.AcknowledgedAt != nil {
				return fmt.Errorf("the help request of rotation %s (asked %s) was already acknowledged %s", lr.Name, formatTime(h.RequestedAt.Time), ago(h.AcknowledgedAt.Time, o.Now()))
			}
			value := h.RequestedAt.UTC().Format(time.RFC3339)
			if err := o.annotate(cmd.Context(), lr.Name, rotationsv1.AnnotationHelpAcknowledged, value); err != nil {
				return forbiddenHint(err, "acknowledging needs patch on the LearningRotation")
			}
			fmt.Fprintf(o.Streams.Out, "acknowledged the help request of %s (asked %s, %s):\n  %s\n", lr.Name, formatTime(h.RequestedAt.Time), ago(h.RequestedAt.Time, o.Now()), h.Message)
			return nil
		},
	}
	return cmd
}
