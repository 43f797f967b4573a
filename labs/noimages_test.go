package labs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

// Lab pods run only the images the project builds (internal/labimages):
// nothing in the catalog, the samples or the docs may send a node to a
// registry on the internet.

// internetImage matches references to the public registries, and to the
// images the catalog ran before it had its own. This file is the only one
// allowed to spell them.
var internetImage = regexp.MustCompile(`docker\.io/|gcr\.io/|quay\.io/|nginxinc/|busybox:`)

// dockerfileFrom is a Dockerfile's FROM line: the docker track teaches
// building on public base images (gcr.io/distroless/..., golang:...), which
// is the learner's image build, not what a lab pod runs.
var dockerfileFrom = regexp.MustCompile(`^\s*FROM\s`)

// imageFields finds the image a line names: YAML `image: X`, HCL
// `image = "X"`, `kubectl set image ... NAME=X`, and a chart's
// `repository: X`.
var imageFields = []*regexp.Regexp{
	regexp.MustCompile(`(?:^\s*(?:-\s*)?|[{,]\s*)image:\s*["']?([^"'\s,}#]+)`),
	regexp.MustCompile(`\bimage\s*=\s*"([^"]+)"`),
	regexp.MustCompile(`\bset image \S+ [\w-]+=(\S+)`),
}
var repositoryField = regexp.MustCompile(`^\s*repository:\s*["']?([^"'\s#]+)`)

// labRegistryPlaceholder is how the docker track names the learner's own
// image in the lab registry, to be filled in: REGISTRY/LAB/hello:v1.
var labRegistryPlaceholder = regexp.MustCompile(`^\$?REGISTRY/\$?LAB/`)

// allowedImage reports whether a lab pod may be given image.
func allowedImage(image string) bool {
	// fix-broken-deployment starts with a tag that cannot be pulled, on
	// purpose; the image it means is still the project's.
	return slices.Contains(labimages.Refs(), image) || image == labimages.Web10+"-doesnotexist" || image == tekton.StepImage || image == tekton.DeployImage ||
		labRegistryPlaceholder.MatchString(image) || strings.Contains(image, "{{") ||
		strings.HasPrefix(strings.Trim(image, `"'`), "$") // a shell variable: set at run time (the cicd deploy step)
}

// imageRepositories are the repositories of the lab images
// (rotation.local/web, ...), for a chart's image.repository.
func imageRepositories() []string {
	var out []string
	for _, ref := range labimages.Refs() {
		repo, _, _ := strings.Cut(ref[len(labimages.Registry):], ":")
		out = append(out, labimages.Registry+repo)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestNoInternetImages reads every file of labs/, config/samples and docs/
// line by line.
func TestNoInternetImages(t *testing.T) {
	roots := []string{".", "../config/samples", "../docs"}
	seen := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == "noimages_test.go" {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
				return nil // binary: no image names to read
			}
			rel := filepath.ToSlash(filepath.Join("labs", path))
			dockerTrack := strings.HasPrefix(rel, "labs/docker/")
			goFile := strings.HasSuffix(path, ".go")
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				var images []string
				for _, re := range imageFields {
					for _, m := range re.FindAllStringSubmatch(line, -1) {
						images = append(images, m[1])
					}
				}
				if internetImage.MatchString(line) && !dockerfileFrom.MatchString(line) && (!dockerTrack || len(images) > 0) {
					t.Errorf("%s:%d: an image from the internet: %s", rel, n, strings.TrimSpace(line))
				}
				// Go files hold test data, deliberately wrong images
				// included; the catalog's own images are checked below.
				if goFile {
					continue
				}
				for _, image := range images {
					seen++
					if !allowedImage(image) {
						t.Errorf("%s:%d: image %s is not a lab image (%s) nor a lab-registry placeholder", rel, n, image, strings.Join(labimages.Refs(), ", "))
					}
				}
				if m := repositoryField.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "http") {
					seen++
					if !slices.Contains(imageRepositories(), m[1]) {
						t.Errorf("%s:%d: repository %s is not a lab image's (%s)", rel, n, m[1], strings.Join(imageRepositories(), ", "))
					}
				}
			}
			return sc.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen < 15 {
		t.Errorf("only %d image references found: the scan misses them", seen)
	}
}

// podImages returns the images of a pod spec's containers.
func podImages(spec *corev1.PodSpec) []string {
	var out []string
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		out = append(out, c.Image)
	}
	return out
}

// TestCatalogRunsLabImages: every pod the catalog makes, from a starter
// object, a starter file, a chart (with the values the exercises use) or
// the reference solutions, runs a lab image or a lab-registry
// placeholder. Unlike TestNoInternetImages it reads the objects as the
// apiserver would, after Helm renders them.
func TestCatalogRunsLabImages(t *testing.T) {
	used := map[string]bool{}
	check := func(what string, data []byte) {
		t.Helper()
		obj, _, err := decoder.Decode(data, nil, nil)
		if runtime.IsNotRegisteredError(err) {
			return // not a workload (a kustomization, a LearningRotation)
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		spec := podSpecOf(obj)
		if spec == nil {
			return
		}
		for _, image := range podImages(spec) {
			used[image] = true
			if !allowedImage(image) || strings.Contains(image, "{{") {
				t.Errorf("%s runs %s, not a lab image (%s)", what, image, strings.Join(labimages.Refs(), ", "))
			}
		}
	}
	for _, ex := range mustCatalog(t) {
		objects, files := manifests(t, &ex)
		for k, v := range objects {
			check(ex.Name+": starter object "+k, v)
		}
		for k, v := range files {
			check(ex.Name+": starter file "+k, v)
		}
	}
	for ref, values := range renderedValues {
		c := loadChart(t, ref)
		if !slices.Contains(values, "") {
			values = append([]string{""}, values...) // the chart's defaults too
		}
		for _, v := range values {
			config := map[string]any{}
			if v != "" {
				config = fromYAML(t, v).(map[string]any)
			}
			for _, doc := range manifestDocs(renderManifest(t, c, "rel", 1, config)) {
				check("chart "+ref+" with values "+v, []byte(doc))
			}
		}
	}
	samples, err := filepath.Glob("../config/samples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range samples {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			if strings.Contains(doc, "\nkind: ") || strings.HasPrefix(doc, "kind: ") {
				check(p, []byte(doc))
			}
		}
	}
	// The upgrade target and the starting point are both exercised.
	for _, want := range []string{labimages.Web10, labimages.Web11} {
		if !used[want] {
			t.Errorf("no pod of the catalog runs %s; images used: %v", want, used)
		}
	}
}
