// Package solution reads an exercise's reference solution and plays it in a
// lab as its learner would: with the real kubectl, helm and terraform, only
// the lab kubeconfig, images pushed to the lab registry with the lab's
// credentials, and files handed in as `kubectl rotation submit` does.
//
// A solution is a folder (labs/<track>/<exercise>/solution/ for the
// built-ins) holding steps.yaml and the files the learner wrote. The steps
// run in a scratch working folder that first gets the exercise's starter
// files (as `kubectl get configmap exercise-<name>` gives them, charts
// decoded from .tgz.b64 to .tgz), then the solution's files. In the
// solution's files and in the steps' arguments $LAB is the lab namespace,
// $REGISTRY the lab registry host and $DIGEST the digest of the image
// pushed last; the starter files' placeholders lab-CHANGE-ME and
// REGISTRY/LAB are filled in too, as the instructions ask the learner to.
package solution

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/handson-dev/rotation-operator/internal/submission"
)

// StepsFile lists a solution's steps.
const StepsFile = "steps.yaml"

// Solution is a loaded solution folder.
type Solution struct {
	// Dir is the folder.
	Dir string
	// Steps run in order.
	Steps []Step `json:"steps"`
	// Files are the solution's own files by slash path, not steps.yaml.
	Files map[string][]byte `json:"-"`
}

// Step is one thing the learner does; exactly one field is set.
type Step struct {
	// Kubectl runs kubectl with these arguments and the lab kubeconfig.
	Kubectl []string `json:"kubectl,omitempty"`
	// Helm runs helm with these arguments and the lab kubeconfig.
	Helm []string `json:"helm,omitempty"`
	// Terraform runs terraform with these arguments, KUBE_CONFIG_PATH set
	// to the lab kubeconfig.
	Terraform []string `json:"terraform,omitempty"`
	// Push builds an image as `crane append` + `crane mutate` would and
	// pushes it to the lab registry.
	Push *Push `json:"push,omitempty"`
	// Submit hands in these files of the working folder for the exercise.
	Submit []string `json:"submit,omitempty"`
	// Copy copies a file of the working folder over another: [from, to],
	// the learner's next edit of a file.
	Copy []string `json:"copy,omitempty"`
	// MayFail: the command is expected to fail (a failed helm install the
	// exercise asks for); it is logged and the solution goes on.
	MayFail bool `json:"mayFail,omitempty"`
}

// Push is an image built from a Go program and pushed to the lab registry.
type Push struct {
	// Ref is <repository>:<tag> in the lab, e.g. hello:v1.
	Ref string `json:"ref"`
	// Main is the program's main.go in the working folder, built with
	// CGO_ENABLED=0 into /<base name of the repository's first segment>.
	Main string `json:"main"`
	// Binary is the path of the program in the image, e.g. /hello.
	Binary string `json:"binary"`
	// User, e.g. 65532:65532.
	User string `json:"user,omitempty"`
	// Labels of the image config.
	Labels map[string]string `json:"labels,omitempty"`
	// Expose lists ports, e.g. 8080/tcp.
	Expose []string `json:"expose,omitempty"`
	// Healthcheck is the HEALTHCHECK CMD in exec form.
	Healthcheck []string `json:"healthcheck,omitempty"`
	// Version is set with -ldflags -X main.version=.
	Version string `json:"version,omitempty"`
}

// what returns the name of the step's one action, or an error.
func (s Step) what() (string, error) {
	var set []string
	if s.Kubectl != nil {
		set = append(set, "kubectl")
	}
	if s.Helm != nil {
		set = append(set, "helm")
	}
	if s.Terraform != nil {
		set = append(set, "terraform")
	}
	if s.Push != nil {
		set = append(set, "push")
	}
	if s.Submit != nil {
		set = append(set, "submit")
	}
	if s.Copy != nil {
		set = append(set, "copy")
	}
	switch len(set) {
	case 1:
		return set[0], nil
	case 0:
		return "", errors.New("no action: set one of kubectl, helm, terraform, push, submit, copy")
	default:
		return "", fmt.Errorf("%s in one step: one action per step", strings.Join(set, " and "))
	}
}

// Load reads a solution folder and checks it: steps.yaml parses strictly,
// every step has one action, and every file a step names is in the folder
// or among the exercise's starter files (starter: their names; nil skips
// that check for files not in the folder).
func Load(dir string, starter []string) (*Solution, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("solution folder %s does not exist", dir)
	case err != nil:
		return nil, fmt.Errorf("solution folder %s: %w", dir, err)
	case !info.IsDir():
		return nil, fmt.Errorf("solution %s is not a folder; it holds %s and the learner's files", dir, StepsFile)
	}
	data, err := os.ReadFile(filepath.Join(dir, StepsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("solution folder %s has no %s listing the learner's steps", dir, StepsFile)
	}
	if err != nil {
		return nil, err
	}
	s := &Solution{Dir: dir, Files: map[string][]byte{}}
	if err := yaml.UnmarshalStrict(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StepsFile), err)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", filepath.Join(dir, StepsFile))
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == StepsFile {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		b, err := os.ReadFile(p) //nolint:gosec // G122: the catalog's own files, regular files only (checked above).
		s.Files[rel] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	have := func(f string) bool {
		_, ok := s.Files[f]
		return ok || starter == nil || slices.Contains(starter, f) || slices.Contains(starter, f+".b64") || written(s.Steps, f)
	}
	var errs []error
	for i, st := range s.Steps {
		what, err := st.what()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: step %d: %w", StepsFile, i+1, err))
			continue
		}
		switch what {
		case "push":
			switch {
			case !strings.Contains(st.Push.Ref, ":") || strings.Contains(st.Push.Ref, "/"):
				errs = append(errs, fmt.Errorf("%s: step %d: push ref %q: want <repository>:<tag> in the lab", StepsFile, i+1, st.Push.Ref))
			case st.Push.Main == "" || st.Push.Binary == "":
				errs = append(errs, fmt.Errorf("%s: step %d: push needs main (the main.go) and binary (its path in the image)", StepsFile, i+1))
			case !have(st.Push.Main):
				errs = append(errs, fmt.Errorf("%s: step %d: push: %s is neither in the solution nor a starter file", StepsFile, i+1, st.Push.Main))
			}
		case "submit":
			if len(st.Submit) == 0 {
				errs = append(errs, fmt.Errorf("%s: step %d: submit lists no files", StepsFile, i+1))
			}
			for _, f := range st.Submit {
				if !have(f) {
					errs = append(errs, fmt.Errorf("%s: step %d: submit: %s is neither in the solution nor a starter file", StepsFile, i+1, f))
				}
			}
		case "copy":
			if len(st.Copy) != 2 {
				errs = append(errs, fmt.Errorf("%s: step %d: copy takes [from, to]", StepsFile, i+1))
			} else if !have(st.Copy[0]) {
				errs = append(errs, fmt.Errorf("%s: step %d: copy: %s is neither in the solution nor a starter file", StepsFile, i+1, st.Copy[0]))
			}
		default:
			if len(st.Kubectl)+len(st.Helm)+len(st.Terraform) == 0 {
				errs = append(errs, fmt.Errorf("%s: step %d: %s without arguments", StepsFile, i+1, what))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("solution %s: %w", dir, err)
	}
	return s, nil
}

// written tells whether a copy step makes file f.
func written(steps []Step, f string) bool {
	for _, s := range steps {
		if len(s.Copy) == 2 && s.Copy[1] == f {
			return true
		}
	}
	return false
}

// vars fills in the solution's placeholders.
type vars struct{ lab, registry, digest string }

func (v vars) replacer() *strings.Replacer {
	return strings.NewReplacer("$LAB", v.lab, "$REGISTRY", v.registry, "$DIGEST", v.digest,
		"lab-CHANGE-ME", v.lab, "REGISTRY/LAB", v.registry+"/"+v.lab)
}

// fill fills in the placeholders of text files; binary files stay.
func (v vars) fill(b []byte) []byte {
	if bytes.IndexByte(b, 0) >= 0 {
		return b
	}
	return []byte(v.replacer().Replace(string(b)))
}

// submitted reads the files of a submit step as `kubectl rotation submit`
// would validate them.
func submitted(work string, names []string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "submit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(work, n))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o600); err != nil { //nolint:gosec // G703: the base name only, in the caller's directory.
			return nil, err
		}
	}
	return submission.FromDir(dir)
}
