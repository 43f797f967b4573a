package plugin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/solution"
)

// The self-test is a plugin command rather than an operator subcommand:
// it grades with the operator that runs in the cluster (its sources, its
// runner Jobs, its admission rules), which is what the learners will
// meet, and it needs nothing on the author's machine but kubectl, the
// CLIs the solution uses and a mentor's kubeconfig.

func newTestCommand(o *Options) *cobra.Command {
	var (
		dir       string
		timeout   time.Duration
		keep      bool
		insecure  bool
		strict    bool
		tfRC      string
		helmBin   string
		terraform string
	)
	cmd := &cobra.Command{
		Use:   "test EXERCISE --solution DIR",
		Short: "Self-test an exercise: its start fails, its solution passes (authors, CI)",
		Long: `Self-test EXERCISE against its reference solution, in a scratch lab: a
LearningRotation test-EXERCISE-xxxxx that selects only that exercise.

  1. the starting state is graded: the exercise must not pass (with
     --strict, no check may pass);
  2. the solution in DIR is played as the learner would, with only the lab
     kubeconfig: DIR/steps.yaml lists kubectl, helm and terraform commands,
     image pushes to the lab registry and submissions, over the exercise's
     starter files and DIR's own files (see labs/*/*/solution/);
  3. the exercise must then pass with every point.

Each check is printed before and after. The scratch rotation is deleted at
the end (--keep leaves it for a look). Needs a mentor's (or an admin's)
kubeconfig, and the operator running in the cluster.

Exit codes: 0 the exercise behaves, 1 it does not (or an error), 2 usage,
3 grading did not finish within --timeout.`,
		Example: `  # a built-in exercise and its shipped solution
  kubectl rotation test scale-and-expose --solution labs/kubernetes/scale-and-expose/solution

  # your own Exercise, applied to the cluster, with a solution folder
  kubectl rotation test my-exercise --solution ./my-exercise/solution --timeout 10m`,
		Args: exactArgs(1, "EXERCISE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usageErrorf(errors.New("--solution DIR is required: the folder with steps.yaml and the learner's files"))
			}
			env := []string{}
			if tfRC != "" {
				abs, err := filepath.Abs(tfRC)
				if err != nil {
					return err
				}
				env = append(env, "TF_CLI_CONFIG_FILE="+abs)
			}
			return o.selfTest(cmd.Context(), selfTestRun{exercise: args[0], dir: dir, timeout: timeout, keep: keep,
				strict: strict, insecure: insecure, helm: helmBin, terraform: terraform, env: env})
		},
	}
	cmd.Flags().StringVar(&dir, "solution", "", "Folder of the reference solution (steps.yaml and files)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "How long each wait (lab ready, graded before, passed after) may take")
	cmd.Flags().BoolVar(&keep, "keep", false, "Keep the scratch rotation and its lab")
	cmd.Flags().BoolVar(&strict, "strict", false, "Fail when any check passes before the solution, not only the whole exercise")
	cmd.Flags().BoolVar(&insecure, "insecure-registry", false, "The lab registry speaks plain HTTP (test clusters)")
	cmd.Flags().StringVar(&tfRC, "terraform-rc", "", "Terraform CLI configuration for the solution's terraform (a provider mirror)")
	cmd.Flags().StringVar(&helmBin, "helm", "", "helm binary (default: helm on PATH)")
	cmd.Flags().StringVar(&terraform, "terraform", "", "terraform binary (default: terraform on PATH)")
	return cmd
}

type selfTestRun struct {
	exercise, dir          string
	timeout                time.Duration
	keep, strict, insecure bool
	helm, terraform        string
	env                    []string
}

func (o *Options) selfTest(ctx context.Context, r selfTestRun) error {
	// A missing or invalid folder is reported before the cluster is asked.
	if _, err := solution.Load(r.dir, nil); err != nil {
		return err
	}
	c, err := o.Client()
	if err != nil {
		return err
	}
	out := o.Streams.Out
	ex := &rotationsv1.Exercise{}
	if err := c.Get(ctx, client.ObjectKey{Name: r.exercise}, ex); err != nil {
		return fmt.Errorf("exercise %s: %w", r.exercise, err)
	}
	var starter []string
	for f := range ex.Spec.Starter.Files {
		starter = append(starter, strings.TrimSuffix(f, ".b64"))
	}
	sol, err := solution.Load(r.dir, starter)
	if err != nil {
		return err
	}

	lr := scratchRotation(ex.Name)
	if err := c.Create(ctx, lr); err != nil {
		return fmt.Errorf("creating the scratch rotation: %w", err)
	}
	fmt.Fprintf(out, "scratch rotation %s (lab %s)\n", lr.Name, lab.Namespace(lr.Name))
	if !r.keep {
		defer func() {
			_ = c.Delete(context.WithoutCancel(ctx), lr)
			fmt.Fprintf(out, "deleted the scratch rotation %s\n", lr.Name)
		}()
	}
	start := time.Now()
	lr, err = o.waitRotation(ctx, lr.Name, r.timeout, "the scratch lab to be Ready and graded", func(lr *rotationsv1.LearningRotation) bool {
		res, err := exerciseResult(lr, ex.Name)
		return err == nil && meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) &&
			lr.Status.Kubeconfig != nil && res.LastGradedAt != nil && len(res.Checks) > 0
	})
	if err != nil {
		return err
	}
	before, _ := exerciseResult(lr, ex.Name)
	fmt.Fprintf(out, "before the solution (lab ready in %s):\n", time.Since(start).Round(time.Second))
	var problems []string
	for _, ch := range before.Checks {
		printCheck(out, ch)
		if ch.Passed && r.strict {
			problems = append(problems, fmt.Sprintf("check %s passes before the solution", ch.Name))
		}
	}
	if before.Points == before.MaxPoints || before.State == rotationsv1.ExercisePassed {
		problems = append(problems, "the exercise passes before the solution: its checks do not test the learner's work")
	}

	l, cleanup, err := o.labFor(ctx, c, lr, ex, r)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(out, "playing %s:\n", r.dir)
	solveStart := time.Now()
	if err := sol.Run(ctx, l); err != nil {
		return fmt.Errorf("the solution failed: %w", err)
	}
	fmt.Fprintf(out, "solved in %s; waiting for the grade\n", time.Since(solveStart).Round(100*time.Millisecond))
	lr, err = o.waitRotation(ctx, lr.Name, r.timeout, "the exercise to pass", func(lr *rotationsv1.LearningRotation) bool {
		res, err := exerciseResult(lr, ex.Name)
		return err == nil && res.State == rotationsv1.ExercisePassed && res.Points == res.MaxPoints
	})
	after, _ := exerciseResult(lr, ex.Name)
	fmt.Fprintf(out, "after the solution (%s after its start):\n", time.Since(solveStart).Round(100*time.Millisecond))
	if after != nil {
		for _, ch := range after.Checks {
			printCheck(out, ch)
			if !ch.Passed {
				problems = append(problems, fmt.Sprintf("check %s fails after the solution", ch.Name))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", ex.Name, strings.Join(problems, "; "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ok: %s fails before its solution and passes with %d/%d points after it\n", ex.Name, after.Points, after.MaxPoints)
	return nil
}

func printCheck(w io.Writer, ch rotationsv1.CheckResult) {
	mark := "FAIL"
	if ch.Passed {
		mark = "pass"
	}
	fmt.Fprintf(w, "  %s %-28s %3d points", mark, ch.Name, ch.Points)
	if !ch.Passed && ch.Message != "" {
		fmt.Fprintf(w, "  %s", firstLineOf(ch.Message))
	}
	fmt.Fprintln(w)
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(l) > 100 {
		l = l[:97] + "..."
	}
	return l
}

// scratchRotation selects only the exercise, for a learner nobody is.
func scratchRotation(exercise string) *rotationsv1.LearningRotation {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("test-%s-%s", exercise, hex.EncodeToString(b))
	if len(name) > 52 { // lab-<name> must stay a valid namespace with room for suffixes
		name = name[len(name)-52:]
		name = strings.TrimLeft(name, "-")
	}
	return &rotationsv1.LearningRotation{
		TypeMeta:   metav1.TypeMeta{APIVersion: rotationsv1.GroupVersion.String(), Kind: "LearningRotation"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"rotations.handson.dev/self-test": exercise}},
		Spec: rotationsv1.LearningRotationSpec{
			Learner:   rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: "self-test@" + name}},
			Exercises: rotationsv1.ExerciseSelection{Names: []rotationsv1.ExerciseName{rotationsv1.ExerciseName(exercise)}},
		},
	}
}

// labFor writes the lab kubeconfig to a scratch file and reads the lab's
// registry credentials, as the learner would with kubectl.
func (o *Options) labFor(ctx context.Context, c client.Client, lr *rotationsv1.LearningRotation, ex *rotationsv1.Exercise, r selfTestRun) (solution.Lab, func(), error) {
	ns := lab.Namespace(lr.Name)
	var kc corev1.Secret
	ref := lr.Status.Kubeconfig.SecretRef
	if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &kc); err != nil {
		return solution.Lab{}, nil, fmt.Errorf("the lab kubeconfig: %w", err)
	}
	tmp, err := os.MkdirTemp("", "rotation-test-")
	if err != nil {
		return solution.Lab{}, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	path := filepath.Join(tmp, "lab.kubeconfig")
	if err := os.WriteFile(path, kc.Data[lab.KubeconfigKey], 0o600); err != nil {
		cleanup()
		return solution.Lab{}, nil, err
	}
	l := solution.Lab{Exercise: ex.Name, Namespace: ns, Kubeconfig: path, StarterFiles: ex.Spec.Starter.Files,
		Insecure: r.insecure, Helm: r.helm, Terraform: r.terraform, Env: append([]string{"HOME=" + tmp}, r.env...), Log: o.Streams.Out}
	var reg corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.RegistrySecret}, &reg); err == nil {
		l.Registry, l.Username, l.Password, err = registryAuth(reg.Data[corev1.DockerConfigJsonKey])
		if err != nil {
			cleanup()
			return solution.Lab{}, nil, fmt.Errorf("the lab registry Secret: %w", err)
		}
	}
	return l, cleanup, nil
}

// registryAuth reads the one registry of a .dockerconfigjson.
func registryAuth(data []byte) (host, user, pass string, err error) {
	var cfg struct {
		Auths map[string]struct {
			Username, Password, Auth string
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", "", "", err
	}
	hosts := make([]string, 0, len(cfg.Auths))
	for h := range cfg.Auths {
		hosts = append(hosts, h)
	}
	if len(hosts) != 1 {
		return "", "", "", fmt.Errorf("%d registries, want 1", len(hosts))
	}
	slices.Sort(hosts)
	a := cfg.Auths[hosts[0]]
	user, pass = a.Username, a.Password
	if user == "" && a.Auth != "" {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return "", "", "", err
		}
		user, pass, _ = strings.Cut(string(dec), ":")
	}
	return hosts[0], user, pass, nil
}
