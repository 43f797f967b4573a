// Package plugin is kubectl-rotation, the kubectl plugin for rotation-operator:
// mentors list rotations, read progress and grade reports, answer help
// requests; learners read instructions, submit work, ask for grading, hints,
// help or a reset. Learners cannot write LearningRotations, so their
// requests are ConfigMaps in their lab (see api/v1alpha1 LabelRequest).
package plugin

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// EnvNow names the variable that, set to an RFC 3339 time, is the plugin's clock. It exists for
// tests (deterministic "time left"); it is not a user-facing setting.
const EnvNow = "KUBECTL_ROTATION_NOW"

// Version is set at build time (-ldflags "-X .../internal/plugin.Version=v0.1.0").
var Version = "dev"

// FieldManager is the server-side apply field manager of everything the plugin writes.
const FieldManager = "kubectl-rotation"

// Options are shared by every command.
type Options struct {
	Streams genericiooptions.IOStreams
	Config  *genericclioptions.ConfigFlags
	// Now is the clock.
	Now func() time.Time
	// Color enables ANSI styling (a terminal, and NO_COLOR unset).
	Color bool

	client client.WithWatch
}

// Main runs the plugin with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	// controller-runtime and client-go log through these; keep them quiet
	// unless --v is raised (client-go warnings still reach stderr).
	ctrllog.SetLogger(logr.Discard())
	o, err := NewOptions(streams)
	if err != nil {
		fmt.Fprintln(streams.ErrOut, "error:", err)
		return ExitError
	}
	cmd := NewRootCommand(o)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(streams.ErrOut, "error:", err)
	}
	return exitCode(err)
}

// NewOptions builds the shared options: kubeconfig flags and the clock.
func NewOptions(streams genericiooptions.IOStreams) (*Options, error) {
	o := &Options{
		Streams: streams,
		Config:  genericclioptions.NewConfigFlags(true),
		Now:     time.Now,
	}
	if v := os.Getenv(EnvNow); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: %w", EnvNow, v, err)
		}
		o.Now = func() time.Time { return t }
	}
	if f, ok := streams.Out.(*os.File); ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd())) {
		o.Color = true
	}
	return o, nil
}

// NewRootCommand is `kubectl rotation` with every subcommand.
func NewRootCommand(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-rotation",
		Short: "Work with rotation-operator's LearningRotations: progress, grading, hints, help",
		Long: `kubectl rotation is the command line of rotation-operator.

Mentors see every rotation, grade on demand, answer help requests and export
grade reports. Learners read instructions, submit work, ask for grading,
hints, help or a reset. With a learner's kubeconfig (its namespace is
lab-<rotation>) the rotation is inferred and can be left out.

Exit codes: 0 ok, 1 error, 2 usage error, 3 a waited-for condition was not
met (timed out, or the rotation cannot be graded now).`,
		Example: `  # Mentor: every rotation at a glance, then one in detail
  kubectl rotation list
  kubectl rotation status alice

  # Learner (with the lab kubeconfig): read, do, submit, get graded
  kubectl rotation instructions scale-and-expose
  kubectl rotation submit dockerfile-basics ./app
  kubectl rotation grade`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		// Shown as "kubectl rotation" by kubectl's plugin mechanism.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl rotation"},
	}
	root.SetOut(o.Streams.Out)
	root.SetErr(o.Streams.ErrOut)
	root.SetIn(o.Streams.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf(err) })
	o.Config.AddFlags(root.PersistentFlags())
	// klog's -v for client-go request logging, as kubectl has it.
	fs := root.PersistentFlags()
	fs.VarP(klogVerbosity{}, "v", "v", "Log level for client requests, as kubectl -v")

	root.AddCommand(
		newListCommand(o),
		newStatusCommand(o),
		newKubeconfigCommand(o),
		newInstructionsCommand(o),
		newSubmitCommand(o),
		newGradeCommand(o),
		newHintCommand(o),
		newAckCommand(o),
		newResetCommand(o),
		newReportCommand(o),
		newProgramCommand(o),
		newTestCommand(o),
	)
	// `kubectl rotation help "message"` asks a mentor for help; help on a
	// command is `--help`.
	root.SetHelpCommand(newHelpRequestCommand(o))
	return root
}

// Client returns the API client, created on first use.
func (o *Options) Client() (client.WithWatch, error) {
	if o.client != nil {
		return o.client, nil
	}
	cfg, err := o.Config.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "kubectl-rotation"
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, err
	}
	o.client = c
	return c, nil
}

// Namespace is the namespace of the current context, or -n.
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.Config.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// klogFlags holds klog's flags; only -v is exposed.
var klogFlags = func() *flag.FlagSet {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
}()

type klogVerbosity struct{}

func (klogVerbosity) String() string     { return "0" }
func (klogVerbosity) Type() string       { return "int" }
func (klogVerbosity) Set(v string) error { return klogFlags.Set("v", v) }
