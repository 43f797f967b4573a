package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Subcommand is how the operator binary is invoked as a runner:
// `rotation-operator runner terraform [flags]`.
var Subcommand = []string{"runner", "terraform"}

// DefaultRunTimeout bounds a whole run when --timeout is not given.
const DefaultRunTimeout = 4 * time.Minute

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// RunnerMain is the runner subcommand: it grades the submission its flags
// name and prints the facts as one JSON object on stdout. It exits 0 when it
// printed facts (whatever they say about the learner's configuration), 1
// when it could not grade, 2 on bad usage. args exclude "runner terraform".
//
//	--namespace NS          lab namespace (required)
//	--exercise NAME         exercise name
//	--submission DIR        the submitted files, flat (required)
//	--kubeconfig FILE       the lab kubeconfig (required unless --in-cluster)
//	--in-cluster            write a kubeconfig from the pod's ServiceAccount (Job mode)
//	--service-account-dir D where --in-cluster finds token and ca.crt (default
//	                        the standard mount; for runtimes that mount it elsewhere)
//	--work DIR              scratch dir (default: a new temp dir, removed after)
//	--mirror DIR            provider filesystem mirror (required)
//	--terraform FILE        terraform binary (default: $PATH)
//	--timeout D             whole run (default 4m)
//	--lock-timeout D        plan's -lock-timeout (default 10s)
//	--sandbox               enter the namespace sandbox first (local mode; the
//	                        process must have been started in new user, mount
//	                        and PID namespaces, as LocalExecutor does)
//	--hide PATH             also cover PATH in the sandbox (repeatable)
//	--skip-precheck         run terraform even if the static pre-check refuses (tests)
func RunnerMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotation-operator runner terraform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         RunConfig
		timeout     time.Duration
		lockTimeout time.Duration
		sandbox     bool
		sandboxed   bool
		inCluster   bool
		saDir       string
		hide        stringsFlag
	)
	fs.StringVar(&cfg.Namespace, "namespace", "", "lab namespace")
	fs.StringVar(&cfg.Exercise, "exercise", "", "exercise name")
	fs.StringVar(&cfg.SubmissionDir, "submission", "", "directory of the submitted files")
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "the lab kubeconfig")
	fs.BoolVar(&inCluster, "in-cluster", false, "build the lab kubeconfig from the pod's ServiceAccount")
	fs.StringVar(&saDir, "service-account-dir", serviceAccountDir, "where --in-cluster finds the ServiceAccount token and ca.crt")
	fs.StringVar(&cfg.WorkDir, "work", "", "scratch directory (default: a new temp dir)")
	fs.StringVar(&cfg.Mirror, "mirror", "", "terraform provider filesystem mirror")
	fs.StringVar(&cfg.Terraform, "terraform", "", "terraform binary (default: from PATH)")
	fs.DurationVar(&timeout, "timeout", DefaultRunTimeout, "timeout of the whole run")
	fs.DurationVar(&lockTimeout, "lock-timeout", DefaultTimeouts.Lock, "how long plan waits for a state lock")
	fs.BoolVar(&sandbox, "sandbox", false, "enter the namespace sandbox (local mode)")
	fs.BoolVar(&sandboxed, "sandboxed", false, "internal: stage 2, inside the sandbox")
	fs.Var(&hide, "hide", "path to cover in the sandbox (repeatable)")
	fs.BoolVar(&cfg.SkipPrecheck, "skip-precheck", false, "run terraform even if the pre-check refuses the configuration")
	trace := fs.Bool("trace", false, "print each step's duration on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.Namespace == "" {
		fmt.Fprintln(stderr, "runner terraform: --namespace is required")
		return 2
	}
	cfg.Timeouts.Lock = lockTimeout
	if *trace {
		cfg.Trace = stderr
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "runner terraform:", err)
		return 1
	}
	if cfg.Terraform == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			return fail(fmt.Errorf("no terraform binary: pass --terraform: %w", err))
		}
		cfg.Terraform = p
	}
	if cfg.WorkDir == "" && !sandboxed {
		d, err := os.MkdirTemp("", "terraform-runner-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(d)
		cfg.WorkDir = d
	}
	if inCluster {
		p, err := writeInClusterKubeconfig(cfg.WorkDir, cfg.Namespace, saDir)
		if err != nil {
			return fail(err)
		}
		cfg.Kubeconfig = p
	}

	if sandbox && !sandboxed {
		// Stage 1: set up the mounts, drop every capability and become
		// stage 2 (this process, exec'd again) with the sandbox's paths.
		warnings, err := enterSandbox(&cfg, hide)
		for _, w := range warnings {
			fmt.Fprintln(stderr, "runner terraform: warning:", w)
		}
		if err != nil {
			fail(fmt.Errorf("sandbox: %w", err))
			return exitSandbox
		}
		argv := append([]string{"rotation-operator"}, Subcommand...)
		argv = append(argv, stage2Args(cfg, timeout, lockTimeout)...)
		err = dropCapabilitiesAndExec(argv, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + filepath.Join(cfg.WorkDir, "home")})
		fail(fmt.Errorf("sandbox: %w", err))
		return exitSandbox
	}
	cfg.Sandbox = SandboxNone
	switch {
	case sandboxed:
		if err := verifyNoCapabilities(); err != nil {
			return fail(err)
		}
		cfg.Sandbox = SandboxNamespaces
	case inCluster:
		cfg.Sandbox = SandboxJob
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	facts, err := Run(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	if ctx.Err() != nil {
		if f, ok := facts[FactError].(string); ok && f == "" {
			facts[FactError] = fmt.Sprintf("grading timed out after %s", timeout)
		}
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(facts); err != nil {
		return fail(err)
	}
	return 0
}

// stage2Args are the flags of the sandboxed stage 2, with the paths
// enterSandbox rewrote.
func stage2Args(cfg RunConfig, timeout, lockTimeout time.Duration) []string {
	args := []string{
		"--sandboxed",
		"--namespace=" + cfg.Namespace,
		"--exercise=" + cfg.Exercise,
		"--submission=" + cfg.SubmissionDir,
		"--kubeconfig=" + cfg.Kubeconfig,
		"--work=" + cfg.WorkDir,
		"--mirror=" + cfg.Mirror,
		"--terraform=" + cfg.Terraform,
		"--timeout=" + timeout.String(),
		"--lock-timeout=" + lockTimeout.String(),
	}
	if cfg.SkipPrecheck {
		args = append(args, "--skip-precheck")
	}
	if cfg.Trace != nil {
		args = append(args, "--trace")
	}
	return args
}

// serviceAccountDir is where a pod's ServiceAccount token is mounted.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// writeInClusterKubeconfig writes a kubeconfig for the pod's own
// ServiceAccount (the learner's, in a runner Job) into dir: terraform and
// its kubernetes provider and backend read a kubeconfig file, and the
// token file is re-read, so a refreshed projected token keeps working.
func writeInClusterKubeconfig(dir, namespace, saDir string) (string, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", errors.New("--in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://%s:%s
    certificate-authority: %s/ca.crt
users:
- name: learner
  user:
    tokenFile: %s/token
contexts:
- name: lab
  context: {cluster: lab, user: learner, namespace: %s}
current-context: lab
`, host, port, saDir, saDir, namespace)
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, []byte(kc), 0o600) //nolint:gosec // G703: dir is the runner's own work directory; only the content comes from the environment.
}
