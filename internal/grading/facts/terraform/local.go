package terraform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// SandboxPolicy says whether LocalExecutor isolates the runner in namespaces.
type SandboxPolicy string

const (
	// SandboxAuto uses namespaces and falls back to a plain subprocess, with
	// a logged warning, where user namespaces are unavailable.
	SandboxAuto SandboxPolicy = ""
	// SandboxRequired fails a run that cannot be sandboxed.
	SandboxRequired SandboxPolicy = "required"
	// SandboxDisabled never uses namespaces.
	SandboxDisabled SandboxPolicy = "disabled"
)

// exitSandbox is the runner's exit code when stage 1 could not set up the
// sandbox (as opposed to failing to grade).
const exitSandbox = 3

// Executor grades one submission and returns its facts.
type Executor interface {
	Execute(ctx context.Context, req Request) (map[string]any, error)
}

// LocalExecutor runs the runner subcommand of the operator binary as a
// subprocess on this machine, sandboxed (see the package doc).
type LocalExecutor struct {
	// Binary is the operator binary (it must dispatch Subcommand to
	// RunnerMain); empty means os.Executable().
	Binary string
	// Terraform is the terraform binary; empty means FindTerraform("").
	Terraform string
	// Mirror is the provider mirror (toolchain.Paths.TerraformProviderMirror). Required.
	Mirror string
	// ScratchDir is where per-run scratch dirs are made; empty means os.TempDir().
	ScratchDir string
	Sandbox    SandboxPolicy
	// Hide are more paths to cover in the sandbox, besides the defaults,
	// the operator's $HOME and the directories of $KUBECONFIG.
	Hide []string
	// Timeouts of the terraform steps; zero fields take DefaultTimeouts'.
	Timeouts Timeouts
	// SkipPrecheck runs terraform even when the pre-check refuses (tests).
	SkipPrecheck bool
	// Trace, if set, receives the runner's stderr with each step's duration.
	Trace io.Writer
	Log   logr.Logger

	mu         sync.Mutex
	noSandbox  bool // namespaces failed once: stop trying
	warnedOnce bool
	staged     string // the mirror as the sandbox's user can reach it
}

// sandboxMirror returns a path of the provider mirror that the sandbox's
// user can walk to. When the operator runs as root the sandbox runs as
// nobody, and a mirror in root's 0700 HOME is out of its reach: the mirror
// is then staged once into a world-readable dir next to the scratch dirs
// (hard links where possible, so it costs no space). A bind mount cannot
// take the operator's own open descriptor instead: it belongs to another
// mount namespace.
func (e *LocalExecutor) sandboxMirror() (string, error) {
	if sandboxOwner() < 0 || reachableByOthers(e.Mirror) {
		return e.Mirror, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.staged != "" {
		if _, err := os.Stat(e.staged); err == nil {
			return e.staged, nil
		}
	}
	sum := sha256.Sum256([]byte(e.Mirror))
	base := e.ScratchDir
	if base == "" {
		base = os.TempDir()
	}
	dst := filepath.Join(base, "rotation-operator-mirror-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(dst); err != nil {
		tmp, err := os.MkdirTemp(base, ".mirror-")
		if err != nil {
			return "", err
		}
		if err := linkTree(e.Mirror, tmp); err != nil {
			_ = os.RemoveAll(tmp)
			return "", fmt.Errorf("staging the provider mirror for the sandbox: %w", err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			_ = os.RemoveAll(tmp)
			if _, statErr := os.Stat(dst); statErr != nil {
				return "", err
			}
		}
	}
	e.staged = dst
	return dst, nil
}

// reachableByOthers reports whether every directory above path (and path)
// lets others in: what the sandbox's nobody needs.
func reachableByOthers(path string) bool {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 && fi.IsDir() {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}

// linkTree recreates src under dst: dirs 0755, files hard-linked (copied
// when links fail), readable by everyone.
//
//nolint:gosec // G122, G703: src is the operator's own provider mirror and dst a directory it just made; no learner writes to either.
func linkTree(src, dst string) error {
	if err := os.Chmod(dst, 0o755); err != nil {
		return err
	}
	return filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			if err := os.Mkdir(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755)
		case fi.Mode().IsRegular():
			if fi.Mode().Perm()&0o004 == 0 {
				return fmt.Errorf("%s is not readable by others", path)
			}
			if os.Link(path, target) == nil {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, fi.Mode().Perm()|0o444)
		}
		return nil
	})
}

// FindTerraform returns explicit if set, else $ROTATION_TERRAFORM, else
// terraform from $PATH.
func FindTerraform(explicit string) (string, error) {
	for _, p := range []string{explicit, os.Getenv("ROTATION_TERRAFORM")} {
		if p != "" {
			if _, err := os.Stat(p); err != nil { //nolint:gosec // G703: the operator's own flag or environment names it.
				return "", fmt.Errorf("terraform binary %s: %w", p, err)
			}
			return filepath.Abs(p)
		}
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		return "", fmt.Errorf("no terraform on PATH (set ROTATION_TERRAFORM or --terraform): %w", err)
	}
	return filepath.Abs(p)
}

// Execute writes req into a scratch dir, runs the runner and parses its facts.
func (e *LocalExecutor) Execute(ctx context.Context, req Request) (map[string]any, error) {
	if e.Mirror == "" {
		return nil, errors.New("terraform: LocalExecutor.Mirror is not set")
	}
	bin := e.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	tfBin, err := FindTerraform(e.Terraform)
	if err != nil {
		return nil, err
	}
	if len(req.Kubeconfig) == 0 {
		if req.KubeconfigFunc == nil {
			return nil, errors.New("terraform: the request has no lab kubeconfig")
		}
		if req.Kubeconfig, err = req.KubeconfigFunc(ctx); err != nil {
			return nil, fmt.Errorf("terraform: lab kubeconfig: %w", err)
		}
	}
	scratch, err := os.MkdirTemp(e.ScratchDir, "terraform-"+req.Namespace+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	paths, err := writeScratch(scratch, req)
	if err != nil {
		return nil, err
	}

	e.mu.Lock()
	sandbox := e.Sandbox != SandboxDisabled && !e.noSandbox && namespacesSupported
	e.mu.Unlock()
	if sandbox {
		facts, err := e.run(ctx, bin, tfBin, req, paths, true)
		var se *sandboxError
		if !errors.As(err, &se) || e.Sandbox == SandboxRequired {
			return facts, err
		}
		e.mu.Lock()
		e.noSandbox = true
		if !e.warnedOnce {
			e.warnedOnce = true
			e.Log.Error(se, "WARNING: Terraform grading runs WITHOUT the namespace sandbox (user namespaces unavailable): learner configurations run as the operator's user with a clean environment only")
		}
		e.mu.Unlock()
	} else if e.Sandbox == SandboxRequired {
		return nil, errors.New("terraform: the runner sandbox is required but unavailable")
	}
	return e.run(ctx, bin, tfBin, req, paths, false)
}

// sandboxAttr is sandboxSysProcAttr; tests replace it to see the fallback.
var sandboxAttr = sandboxSysProcAttr

// sandboxError is a failure to set up the sandbox, not to grade.
type sandboxError struct{ err error }

func (e *sandboxError) Error() string { return "runner sandbox: " + e.err.Error() }
func (e *sandboxError) Unwrap() error { return e.err }

type scratchPaths struct{ submission, kubeconfig, work string }

// chownTree gives dir and everything in it to uid and gid owner, through
// an os.Root so that no path can lead out of dir.
func chownTree(dir string, owner int) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return root.Lchown(path, owner, owner)
	})
}

// writeScratch lays out a run's scratch dir: submission/<files>,
// kubeconfig, work/. File names that are not flat are left out (the
// submission API refuses them before this).
func writeScratch(dir string, req Request) (scratchPaths, error) {
	p := scratchPaths{
		submission: filepath.Join(dir, "submission"),
		kubeconfig: filepath.Join(dir, "kubeconfig"),
		work:       filepath.Join(dir, "work"),
	}
	for _, d := range []string{p.submission, p.work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return p, err
		}
	}
	for name, content := range req.Files {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			continue
		}
		if err := os.WriteFile(filepath.Join(p.submission, name), []byte(content), 0o600); err != nil {
			return p, err
		}
	}
	if err := os.WriteFile(p.kubeconfig, req.Kubeconfig, 0o600); err != nil {
		return p, err
	}
	if owner := sandboxOwner(); owner >= 0 {
		if err := chownTree(dir, owner); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (e *LocalExecutor) run(ctx context.Context, bin, tfBin string, req Request, p scratchPaths, sandbox bool) (map[string]any, error) {
	args := append([]string(nil), Subcommand...)
	timeout := DefaultRunTimeout
	if dl, ok := ctx.Deadline(); ok {
		// Leave the runner time to print what it has before we kill it.
		timeout = time.Until(dl) - 3*time.Second
		if timeout < time.Second {
			timeout = time.Second
		}
	}
	t := e.Timeouts.withDefaults()
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	mirrorDir := e.Mirror
	if sandbox {
		var err error
		if mirrorDir, err = e.sandboxMirror(); err != nil {
			return nil, err
		}
	}
	for _, fp := range []struct{ flag, path string }{
		{"--submission", p.submission}, {"--kubeconfig", p.kubeconfig}, {"--work", p.work},
		{"--mirror", mirrorDir}, {"--terraform", tfBin},
	} {
		args = append(args, fp.flag+"="+fp.path)
	}
	args = append(args,
		"--namespace="+req.Namespace, "--exercise="+req.Exercise, "--timeout="+timeout.String(), "--lock-timeout="+t.Lock.String())
	if e.SkipPrecheck {
		args = append(args, "--skip-precheck")
	}
	if e.Trace != nil {
		args = append(args, "--trace")
	}
	if sandbox {
		args = append(args, "--sandbox")
		for _, h := range e.hidden() {
			args = append(args, "--hide="+h)
		}
	}
	path := bin
	if sandbox {
		// Exec the runner through an open descriptor: the sandbox's user
		// (nobody, when the operator is root) may not be able to walk to
		// the binary (a test binary in a 0700 build dir).
		f, err := os.Open(bin)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		path = "/proc/self/fd/" + strconv.Itoa(2+len(files))
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = "rotation-operator"
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.ExtraFiles = files
	if sandbox {
		cmd.SysProcAttr = sandboxAttr()
	} else {
		cmd.SysProcAttr = plainSysProcAttr()
		cmd.Cancel = func() error {
			// The runner leads its process group; terraform and its
			// providers die with it (Pdeathsig) or with the group.
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	cmd.WaitDelay = 5 * time.Second
	var err error
	stdout := &limitedBuffer{limit: MaxFactsSize}
	stderr := &limitedBuffer{limit: 16 << 10, keepTail: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err = cmd.Start(); err != nil {
		if sandbox {
			return nil, &sandboxError{err}
		}
		return nil, fmt.Errorf("starting the terraform runner: %w", err)
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("terraform runner: %w (stderr: %s)", ctx.Err(), stderr.String())
	}
	if err != nil {
		var ee *exec.ExitError
		if sandbox && errors.As(err, &ee) && ee.ExitCode() == exitSandbox {
			return nil, &sandboxError{fmt.Errorf("%s", strings.TrimSpace(stderr.String()))}
		}
		return nil, fmt.Errorf("terraform runner: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if stdout.overflow {
		return nil, fmt.Errorf("terraform runner: facts over %d bytes", MaxFactsSize)
	}
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	dec.UseNumber()
	var facts map[string]any
	if err := dec.Decode(&facts); err != nil {
		return nil, fmt.Errorf("terraform runner: bad facts JSON: %w (stderr: %s)", err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		e.Log.V(1).Info("terraform runner stderr", "stderr", s)
		if e.Trace != nil {
			fmt.Fprintln(e.Trace, s)
		}
	}
	return normalize(facts).(map[string]any), nil
}

// hidden are the paths covered in the sandbox besides defaultHidden: the
// operator's HOME and kubeconfig dirs, and Hide.
func (e *LocalExecutor) hidden() []string {
	var out []string
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, h)
	}
	for _, kc := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
		if kc == "" {
			continue
		}
		d := filepath.Dir(kc)
		switch d {
		case "/", "/etc", "/usr", "/var", "/opt", "/bin", "/lib", "/usr/local", "/usr/local/bin":
			out = append(out, kc) // hide the file alone
		default:
			out = append(out, d)
		}
	}
	if d := os.Getenv("ROTATION_CACHE_DIR"); d != "" {
		out = append(out, d)
	}
	return append(out, e.Hide...)
}

// limitedBuffer keeps the first limit bytes (or, with keepTail, the last).
type limitedBuffer struct {
	bytes.Buffer
	limit    int
	keepTail bool
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if b.keepTail {
		b.Buffer.Write(p)
		if over := b.Len() - b.limit; over > 0 {
			rest := append([]byte(nil), b.Bytes()[over:]...)
			b.Reset()
			b.Buffer.Write(rest)
		}
		return n, nil
	}
	if room := b.limit - b.Len(); room < len(p) {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return n, nil
	}
	b.Buffer.Write(p)
	return n, nil
}

var _ io.Writer = (*limitedBuffer)(nil)

// LocalMirror returns the provider mirror for local mode:
// $ROTATION_TERRAFORM_MIRROR when set (a mirror laid out as
// toolchain.Paths.TerraformProviderMirror, e.g. baked into an image), else
// the toolchain's, built from hack/tools/terraform-provider-kubernetes on
// first use (about 3 minutes) and cached.
func LocalMirror(ctx context.Context, progress io.Writer) (string, error) {
	if d := os.Getenv("ROTATION_TERRAFORM_MIRROR"); d != "" {
		if _, err := os.Stat(d); err != nil { //nolint:gosec // G703: the operator's own environment names it.
			return "", fmt.Errorf("ROTATION_TERRAFORM_MIRROR: %w", err)
		}
		return filepath.Abs(d)
	}
	p, err := toolchain.Ensure(ctx, progress, toolchain.TerraformProviderKubernetes)
	if err != nil {
		return "", err
	}
	return p.TerraformProviderMirror, nil
}
