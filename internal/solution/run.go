package solution

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/submission"
)

// Lab is where a solution is played, as its learner sees it.
type Lab struct {
	// Exercise is the exercise's name, for submissions.
	Exercise string
	// Namespace is the lab namespace.
	Namespace string
	// Kubeconfig is the path of the lab kubeconfig.
	Kubeconfig string
	// Registry is the lab registry's host, and Username and Password the
	// lab's credentials for it (from the lab-registry Secret).
	Registry, Username, Password string
	// Insecure: the registry speaks plain HTTP (test clusters).
	Insecure bool
	// StarterFiles are the exercise's starter files by name.
	StarterFiles map[string]string
	// Kubectl, Helm and Terraform are the CLIs; empty: found on PATH.
	Kubectl, Helm, Terraform string
	// Env is added to the CLIs' environment (TF_CLI_CONFIG_FILE for a
	// provider mirror, HOME, PATH...).
	Env []string
	// Log receives each step and its output.
	Log io.Writer
}

// Run plays the solution in the lab: the working folder gets the starter
// files, then the steps run in order. It stops at the first step that
// fails (unless marked mayFail).
func (s *Solution) Run(ctx context.Context, l Lab) error {
	work, err := os.MkdirTemp("", "solution-"+l.Exercise+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	v := vars{lab: l.Namespace, registry: l.Registry}
	for n, content := range l.StarterFiles {
		data := []byte(content)
		if strings.HasSuffix(n, ".tgz.b64") {
			// The learner decodes the packaged chart: base64 -d.
			if data, err = base64.StdEncoding.DecodeString(content); err != nil {
				return fmt.Errorf("starter file %s: %w", n, err)
			}
			n = strings.TrimSuffix(n, ".b64")
		} else {
			data = v.fill(data)
		}
		if err := os.WriteFile(filepath.Join(work, n), data, 0o600); err != nil {
			return err
		}
	}
	files := maps.Clone(s.Files)
	for i, st := range s.Steps {
		// The learner's files, with what they know so far filled in.
		for rel, b := range files {
			p := filepath.Join(work, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(p, v.fill(b), 0o600); err != nil {
				return err
			}
		}
		what, _ := st.what()
		start := time.Now()
		err := step(ctx, l, work, files, &v, st)
		fmt.Fprintf(l.Log, "  step %d %s (%s)\n", i+1, describe(st, v), time.Since(start).Round(100*time.Millisecond))
		switch {
		case err != nil && st.MayFail:
			fmt.Fprintf(l.Log, "    failed as expected: %v\n", firstLine(err.Error()))
		case err != nil:
			return fmt.Errorf("step %d (%s): %w", i+1, what, err)
		}
	}
	// Done: the learner asks for grading (kubectl rotation grade). Work
	// the operator does not watch, an image push, is graded now rather
	// than at the next resync.
	return requestGrade(ctx, l, work)
}

// requestGrade writes the learner's grade request as kubectl rotation
// grade does without mentor rights: the request ConfigMap in the lab.
func requestGrade(ctx context.Context, l Lab, work string) error {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: rotationsv1.RequestGradeName, Namespace: l.Namespace, Labels: map[string]string{rotationsv1.LabelRequest: rotationsv1.RequestGrade}},
		Data:       map[string]string{rotationsv1.RequestKeyRequestedAt: time.Now().UTC().Format(time.RFC3339Nano)},
	}
	b, err := yaml.Marshal(cm)
	if err != nil {
		return err
	}
	fmt.Fprintln(l.Log, "  grade requested")
	return l.commandIn(ctx, work, or(l.Kubectl, "kubectl"), []string{"--kubeconfig", l.Kubeconfig, "apply", "-f", "-"}, nil, bytes.NewReader(b))
}

func step(ctx context.Context, l Lab, work string, files map[string][]byte, v *vars, st Step) error {
	r := v.replacer()
	args := func(in []string) []string {
		out := make([]string, len(in))
		for i, a := range in {
			out[i] = r.Replace(a)
		}
		return out
	}
	switch {
	case st.Kubectl != nil:
		return l.command(ctx, work, or(l.Kubectl, "kubectl"), append([]string{"--kubeconfig", l.Kubeconfig}, args(st.Kubectl)...), nil)
	case st.Helm != nil:
		return l.command(ctx, work, or(l.Helm, "helm"), append(args(st.Helm), "--kubeconfig", l.Kubeconfig, "--namespace", l.Namespace), nil)
	case st.Terraform != nil:
		return l.command(ctx, work, or(l.Terraform, "terraform"), args(st.Terraform),
			[]string{"KUBE_CONFIG_PATH=" + l.Kubeconfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"})
	case st.Copy != nil:
		b, err := os.ReadFile(filepath.Join(work, st.Copy[0]))
		if err != nil {
			return err
		}
		// Later steps write the solution's files again: the copy wins.
		files[st.Copy[1]] = b
		return os.WriteFile(filepath.Join(work, st.Copy[1]), b, 0o600) //nolint:gosec // G703: a path of the catalog's own reference solution, in its scratch directory.
	case st.Submit != nil:
		files, err := submitted(work, st.Submit)
		if err != nil {
			return err
		}
		cm := submission.ConfigMap(l.Namespace, l.Exercise, files, time.Now())
		b, err := yaml.Marshal(cm)
		if err != nil {
			return err
		}
		return l.commandIn(ctx, work, or(l.Kubectl, "kubectl"), []string{"--kubeconfig", l.Kubeconfig, "apply", "-f", "-"}, nil, bytes.NewReader(b))
	case st.Push != nil:
		digest, err := l.push(ctx, work, st.Push)
		if err != nil {
			return err
		}
		v.digest = digest
		return nil
	}
	return fmt.Errorf("a step without an action")
}

func (l Lab) command(ctx context.Context, dir, bin string, args, env []string) error {
	return l.commandIn(ctx, dir, bin, args, env, nil)
}

func (l Lab) commandIn(ctx context.Context, dir, bin string, args, env []string, stdin io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // G204: the tool binary and steps of the catalog's reference solution.
	cmd.Dir = dir
	cmd.Stdin = stdin
	// Only the lab's credentials: no KUBECONFIG of the caller's.
	cmd.Env = append(filteredEnv(), append(l.Env, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", path.Base(bin), strings.Join(args, " "), err, out)
	}
	return nil
}

// filteredEnv is the caller's environment without what would point the
// CLIs at another cluster or state than the lab's.
func filteredEnv() []string {
	var out []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch k {
		case "KUBECONFIG", "KUBE_CONFIG_PATH", "HELM_NAMESPACE", "HELM_KUBECONTEXT":
			continue
		}
		out = append(out, e)
	}
	return out
}

// push builds the program into an image and pushes it with the lab's
// credentials; it returns the pushed digest.
func (l Lab) push(ctx context.Context, work string, p *Push) (string, error) {
	bin := filepath.Join(work, ".build", path.Base(p.Binary))
	ldflags := ""
	if p.Version != "" {
		ldflags = "-X main.version=" + p.Version
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, filepath.Join(work, p.Main)) //nolint:gosec // G204: builds the catalog's own program.
	build.Dir = work
	build.Env = append(os.Environ(), labimages.BuildEnv(runtime.GOARCH)...)
	build.Env = append(build.Env, "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", p.Main, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	layer, err := labimages.Layer([]labimages.File{{Name: strings.TrimPrefix(p.Binary, "/"), Data: data, Mode: 0o755}})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{p.Binary}
	cf.Config.User = p.User
	cf.Config.Labels = p.Labels
	if len(p.Expose) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, e := range p.Expose {
			cf.Config.ExposedPorts[e] = struct{}{}
		}
	}
	if len(p.Healthcheck) > 0 {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: append([]string{"CMD"}, p.Healthcheck...), Interval: 30 * time.Second}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	var opts []name.Option
	if l.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(l.Registry+"/"+l.Namespace+"/"+p.Ref, opts...)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: l.Username, Password: l.Password})); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func describe(st Step, v vars) string {
	r := v.replacer()
	switch {
	case st.Kubectl != nil:
		return "kubectl " + r.Replace(strings.Join(st.Kubectl, " "))
	case st.Helm != nil:
		return "helm " + r.Replace(strings.Join(st.Helm, " "))
	case st.Terraform != nil:
		return "terraform " + strings.Join(st.Terraform, " ")
	case st.Push != nil:
		return "push " + st.Push.Ref
	case st.Submit != nil:
		return "submit " + strings.Join(st.Submit, " ")
	case st.Copy != nil:
		return "copy " + strings.Join(st.Copy, " ")
	}
	return "?"
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
