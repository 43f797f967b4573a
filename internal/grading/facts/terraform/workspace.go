package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Bounds on what a runner reads from a submission.
const (
	MaxFiles          = 64
	MaxSubmissionSize = 2 << 20
)

// lockFile is Terraform's dependency lock file. A learner's copy pins what
// their own machine installed; the lab's provider comes from the mirror,
// so it is ignored and init writes a fresh one.
const lockFile = ".terraform.lock.hcl"

// prepare copies the submission into the work dir and writes the CLI
// configuration.
func (r *run) prepare() error {
	cfg := r.cfg
	for name, p := range map[string]string{"--work": cfg.WorkDir, "--submission": cfg.SubmissionDir, "--kubeconfig": cfg.Kubeconfig, "--mirror": cfg.Mirror, "--terraform": cfg.Terraform} {
		if p == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	if _, err := os.Stat(cfg.Terraform); err != nil {
		return fmt.Errorf("terraform binary: %w", err)
	}
	if _, err := os.Stat(cfg.Mirror); err != nil {
		return fmt.Errorf("provider mirror: %w", err)
	}
	r.configDir = filepath.Join(cfg.WorkDir, "config")
	r.home = filepath.Join(cfg.WorkDir, "home")
	for _, d := range []string{r.configDir, r.home, filepath.Join(cfg.WorkDir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	files, ignored, err := readSubmission(cfg.SubmissionDir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(r.configDir, name), data, 0o600); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	r.facts[FactFiles] = stringList(names)
	r.facts[FactIgnoredFiles] = stringList(ignored)

	a := analyze(files, cfg.Namespace)
	r.facts[FactVariables] = a.variables
	r.facts[FactImports] = a.imports
	r.facts[FactRequiredProviders] = a.requiredProviders
	ns := ""
	if a.backendType == "kubernetes" {
		ns = cfg.Namespace
	}
	r.facts[FactBackend] = map[string]any{"type": a.backendType, "secretSuffix": a.secretSuffix, "namespace": ns}
	problems := make([]any, 0, len(a.problems))
	for _, p := range a.problems {
		problems = append(problems, p.fact())
	}
	r.facts[FactPrecheck] = map[string]any{"ok": len(a.problems) == 0, "problems": problems}
	r.runnable = true
	if len(a.problems) > 0 {
		p := a.problems[0]
		r.fail("precheck: %s:%d: %s", p.File, p.Line, p.Message)
		r.runnable = cfg.SkipPrecheck
	}
	if !hasTerraformFile(names) {
		r.fail("no Terraform files (*.tf) were submitted")
		r.runnable = false
	}
	r.backend = a.backendType

	cliConfig := filepath.Join(r.home, ".terraformrc")
	if err := os.WriteFile(cliConfig, []byte(CLIConfig(cfg.Mirror)), 0o600); err != nil {
		return err
	}
	r.env = map[string]string{
		"PATH":               "/usr/local/bin:/usr/bin:/bin",
		"HOME":               r.home,
		"TMPDIR":             filepath.Join(cfg.WorkDir, "tmp"),
		"TF_CLI_CONFIG_FILE": cliConfig,
		"KUBE_CONFIG_PATH":   cfg.Kubeconfig,
		"CHECKPOINT_DISABLE": "1",
		"LANG":               "C.UTF-8",
	}
	_, err = r.newTF() // fails early on a bad binary path
	return err
}

// CLIConfig is the terraform CLI configuration of a grading run: providers
// come only from the mirror (no direct installation, no plugin cache), and
// no checkpoint calls.
func CLIConfig(mirror string) string {
	return fmt.Sprintf(`disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hashicorp/kubernetes"]
  }
}
`, mirror)
}

// readSubmission reads the flat files of dir. Entries starting with ".."
// (a ConfigMap volume's ..data) and directories are skipped; a symlink is
// followed only when it stays inside dir.
func readSubmission(dir string) (map[string][]byte, []string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("submission: %w", err)
	}
	files := map[string][]byte{}
	var ignored []string
	total := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		p := filepath.Join(root, name)
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil || filepath.Dir(resolved) != root && !strings.HasPrefix(resolved, root+string(filepath.Separator)) {
			ignored = append(ignored, name)
			continue
		}
		fi, err := os.Stat(resolved)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if name == lockFile || strings.HasPrefix(name, ".terraform") {
			ignored = append(ignored, name)
			continue
		}
		if len(files) >= MaxFiles {
			return nil, nil, fmt.Errorf("submission: more than %d files", MaxFiles)
		}
		total += int(fi.Size())
		if total > MaxSubmissionSize {
			return nil, nil, fmt.Errorf("submission: over %d bytes", MaxSubmissionSize)
		}
		data, err := os.ReadFile(resolved)
		if err != nil {
			return nil, nil, err
		}
		files[name] = data
	}
	sort.Strings(ignored)
	return files, ignored, nil
}

// newTF returns a terraform-exec handle on the config dir. Commands that
// run at the same time each get their own: a handle's output writers are
// shared state.
func (r *run) newTF() (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(r.configDir, r.cfg.Terraform)
	if err != nil {
		return nil, err
	}
	if err := tf.SetEnv(r.env); err != nil {
		return nil, err
	}
	return tf, nil
}

func hasTerraformFile(names []string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, ".tf") {
			return true
		}
	}
	return false
}
