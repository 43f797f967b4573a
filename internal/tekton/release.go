package tekton

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// Namespace is where the release runs the controller and the webhook.
const Namespace = "tekton-pipelines"

// koPrefix starts the release's image paths that ko would build.
const koPrefix = "ko://github.com/tektoncd/pipeline/cmd/"

// FeatureFlags are the release's feature-flags we change. TaskRun pods run
// in lab namespaces that enforce Pod Security "restricted": with
// set-security-context the controller gives its own init containers
// (prepare, place-scripts, working-dir-initializer) and sidecars a
// restricted security context. The learner's steps still set theirs
// (stepTemplate.securityContext), as any pod in the lab must.
var FeatureFlags = map[string]string{
	"set-security-context": "true",
}

// Render reads the release manifests (toolchain.Paths.TektonRelease, in
// apply order) and returns them using our images: every ko:// path becomes
// Ref(component), the controller's -shell-image (the image of script
// steps' place-scripts init container) becomes shellImage, and
// FeatureFlags are set. It fails if a ko:// path names a component we do
// not build, so no image is left to be pulled from outside.
func Render(files []string, shellImage string) ([]*unstructured.Unstructured, error) {
	known := map[string]bool{}
	for _, c := range Components {
		known[c] = true
	}
	var objs []*unstructured.Unstructured
	var errs []error
	shellSet, flagsSet := false, false
	for _, f := range files {
		docs, err := readYAML(f)
		if err != nil {
			return nil, err
		}
		for _, u := range docs {
			w := jsontree.Walker{InPlace: true}
			w.Leaf = func(v any) any {
				s, ok := v.(string)
				if !ok || !strings.HasPrefix(s, koPrefix) {
					return v
				}
				c := strings.TrimPrefix(s, koPrefix)
				if !known[c] {
					errs = append(errs, fmt.Errorf("%s: %s %s wants %s, which is not built", f, u.GetKind(), u.GetName(), s))
				}
				return Ref(c)
			}
			w.Node = func(v any) any {
				list, ok := v.([]any)
				if !ok {
					return v
				}
				for i := 0; i+1 < len(list); i++ {
					if list[i] == "-shell-image" {
						list[i+1], shellSet = shellImage, true
					}
				}
				return v
			}
			w.Map(u.Object)
			if u.GetKind() == "ConfigMap" && u.GetName() == "feature-flags" && u.GetNamespace() == Namespace {
				for k, v := range FeatureFlags {
					if err := unstructured.SetNestedField(u.Object, v, "data", k); err != nil {
						return nil, err
					}
				}
				flagsSet = true
			}
			objs = append(objs, u)
		}
	}
	if !shellSet {
		errs = append(errs, errors.New("no -shell-image argument in the release"))
	}
	if !flagsSet {
		errs = append(errs, errors.New("no feature-flags ConfigMap in the release"))
	}
	return objs, errors.Join(errs...)
}

// WriteYAML writes objs as one multi-document YAML file.
func WriteYAML(path string, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	for _, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

// readYAML decodes every non-empty document of a YAML file.
func readYAML(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
