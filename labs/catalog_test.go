package labs

import (
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/labimages"
)

func mustCatalog(t *testing.T) []rotationsv1.Exercise {
	t.Helper()
	all, err := Catalog()
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	return all
}

func TestCatalogLoadsBuiltins(t *testing.T) {
	all := mustCatalog(t)
	var names []string
	for _, ex := range all {
		names = append(names, string(ex.Spec.Track)+"/"+ex.Name)
		if ex.Labels[rotationsv1.LabelBuiltin] != "true" {
			t.Errorf("%s: labels %v, want %s=true", ex.Name, ex.Labels, rotationsv1.LabelBuiltin)
		}
		if ex.APIVersion != rotationsv1.GroupVersion.String() || ex.Kind != "Exercise" {
			t.Errorf("%s: apiVersion %q kind %q", ex.Name, ex.APIVersion, ex.Kind)
		}
		if !strings.HasPrefix(ex.Spec.Instructions, "# ") {
			t.Errorf("%s: instructions do not start with a Markdown title", ex.Name)
		}
	}
	want := []string{
		"cicd/cicd-build-push",
		"cicd/cicd-deploy",
		"cicd/cicd-gate",
		"cicd/cicd-test-pipeline",
		"docker/docker-containerize",
		"docker/docker-fix-dockerfile",
		"docker/docker-image-hygiene",
		"docker/docker-release-by-digest",
		"helm/helm-fix-failed",
		"helm/helm-install",
		"helm/helm-own-chart",
		"helm/helm-upgrade-rollback",
		"kubernetes/configmap-rollout",
		"kubernetes/fix-broken-deployment",
		"kubernetes/scale-and-expose",
		"terraform/terraform-basics",
		"terraform/terraform-drift",
		"terraform/terraform-import",
		"terraform/terraform-variables",
	}
	if !slices.Equal(names, want) {
		t.Errorf("catalog = %v, want %v (sorted by track, then name)", names, want)
	}
}

func TestCatalogReturnsCopies(t *testing.T) {
	first := mustCatalog(t)
	first[0].Labels["changed"] = "yes"
	first[0].Spec.Checks[0].Points = 999
	first[0].Spec.Starter.Files = map[string]string{"x": "y"}
	second := mustCatalog(t)
	if _, ok := second[0].Labels["changed"]; ok || second[0].Spec.Checks[0].Points == 999 || second[0].Spec.Starter.Files["x"] == "y" {
		t.Error("a caller's change to the catalog is seen by the next caller")
	}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// TestBuiltinsAreValid checks what the CRD's validation would refuse at
// install time, the checks compile, and the conventions of the catalog.
func TestBuiltinsAreValid(t *testing.T) {
	for _, ex := range mustCatalog(t) {
		t.Run(ex.Name, func(t *testing.T) {
			s := ex.Spec
			if len(ex.Name) > 63 || !dnsLabel.MatchString(ex.Name) {
				t.Errorf("name %q is not a DNS label", ex.Name)
			}
			if s.Title == "" || len(s.Title) > 120 {
				t.Errorf("title %q: 1-120 characters", s.Title)
			}
			switch s.Difficulty {
			case "beginner", "intermediate", "advanced":
			default:
				t.Errorf("difficulty %q", s.Difficulty)
			}
			if s.EstimatedMinutes < 1 || s.EstimatedMinutes > 600 {
				t.Errorf("estimatedMinutes %d: 1-600", s.EstimatedMinutes)
			}
			if len(s.Instructions) > 65536 {
				t.Errorf("instructions are %d bytes, the limit is 65536", len(s.Instructions))
			}
			if len(s.Starter.Objects) > 20 || len(s.Starter.Files) > 20 {
				t.Errorf("%d starter objects and %d files, at most 20 each", len(s.Starter.Objects), len(s.Starter.Files))
			}
			// The catalog's convention: 4-6 checks, worth 100 points together.
			if len(s.Checks) < 4 || len(s.Checks) > 6 {
				t.Errorf("%d checks, want 4-6", len(s.Checks))
			}
			seen := map[string]bool{}
			for _, c := range s.Checks {
				if len(c.Name) > 63 || !dnsLabel.MatchString(c.Name) || seen[c.Name] {
					t.Errorf("check name %q: a unique DNS label", c.Name)
				}
				seen[c.Name] = true
				if c.Message == "" || len(c.Message) > 512 || len(c.Description) > 256 || len(c.Expression) > 4096 {
					t.Errorf("check %s: message 1-512, description <=256, expression <=4096 characters", c.Name)
				}
				if c.Points <= 0 || c.Points > 1000 {
					t.Errorf("check %s: points %d", c.Name, c.Points)
				}
			}
			if len(s.Hints) < 2 || len(s.Hints) > 3 {
				t.Errorf("%d hints, want 2-3", len(s.Hints))
			}
			for i, h := range s.Hints {
				if h.Text == "" || len(h.Text) > 1024 {
					t.Errorf("hint %d: text 1-1024 characters", i)
				}
				if h.AfterMinutes == nil || h.AfterFailedAttempts == nil {
					t.Errorf("hint %d: set afterMinutes and afterFailedAttempts", i)
				}
				if i > 0 && h.AfterMinutes != nil && s.Hints[i-1].AfterMinutes != nil && *h.AfterMinutes <= *s.Hints[i-1].AfterMinutes {
					t.Errorf("hint %d unlocks before hint %d", i, i-1)
				}
			}
			p, err := grading.Compile(&s)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if p.MaxPoints != 100 {
				t.Errorf("max points %d, want 100", p.MaxPoints)
			}
			if got := gradedTable(t, s.Instructions); !slices.Equal(got, pointsOf(s.Checks)) {
				t.Errorf("the table under \"## What is graded\" lists points %v, the checks give %v", got, pointsOf(s.Checks))
			}
		})
	}
}

func pointsOf(checks []rotationsv1.Check) []int32 {
	var out []int32
	for _, c := range checks {
		out = append(out, c.Points)
	}
	return out
}

var tableRowPoints = regexp.MustCompile(`^\|.*\|\s*([0-9]+)\s*\|$`)

// gradedTable returns the points column of the instructions' grading table.
func gradedTable(t *testing.T, md string) []int32 {
	_, section, ok := strings.Cut(md, "\n## What is graded\n")
	if !ok {
		t.Error(`instructions have no "## What is graded" section`)
		return nil
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var out []int32
	for _, line := range strings.Split(section, "\n") {
		if m := tableRowPoints.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, int32(n))
		}
	}
	return out
}

// decoder decodes manifests strictly into typed objects, so a misspelt
// field in a starter object or file fails here rather than in a lab.
var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
}()

// manifests returns every object of an exercise's starter: the starter
// objects and the starter files ending in .yaml, by "Kind/name".
func manifests(t *testing.T, ex *rotationsv1.Exercise) (objects, files map[string][]byte) {
	t.Helper()
	objects, files = map[string][]byte{}, map[string][]byte{}
	key := func(data []byte) string {
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", ex.Name, err)
		}
		return m.Kind + "/" + m.Metadata.Name
	}
	for _, o := range ex.Spec.Starter.Objects {
		objects[key(o.Raw)] = o.Raw
	}
	for name, content := range ex.Spec.Starter.Files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(content, "\n---\n") {
			if strings.TrimSpace(doc) != "" {
				files[key([]byte(doc))] = []byte(doc)
			}
		}
	}
	return objects, files
}

// TestStarterManifests decodes every starter object and YAML starter file
// strictly, checks its pods would be admitted under Pod Security
// "restricted", and that a file with the same object as a starter object
// (the learner's copy, to start over) is identical to it.
func TestStarterManifests(t *testing.T) {
	for _, ex := range mustCatalog(t) {
		t.Run(ex.Name, func(t *testing.T) {
			objects, files := manifests(t, &ex)
			all := map[string][]byte{}
			for k, v := range objects {
				all["starter object "+k] = v
			}
			for k, v := range files {
				all["starter file "+k] = v
			}
			for what, data := range all {
				obj, _, err := decoder.Decode(data, nil, nil)
				if err != nil {
					t.Errorf("%s: %v", what, err)
					continue
				}
				if spec := podSpecOf(obj); spec != nil {
					for _, problem := range restrictedViolations(spec) {
						t.Errorf("%s: Pod Security restricted: %s", what, problem)
					}
				}
			}
			for k, fileData := range files {
				objData, ok := objects[k]
				if !ok {
					continue
				}
				var fromFile, fromObject any
				if err := yaml.Unmarshal(fileData, &fromFile); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal(objData, &fromObject); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(fromFile, fromObject) {
					t.Errorf("starter file for %s differs from the starter object", k)
				}
			}
		})
	}
}

func podSpecOf(obj runtime.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}

// restrictedViolations is the part of the Pod Security "restricted"
// profile starter manifests can get wrong; the lab enforces all of it.
func restrictedViolations(spec *corev1.PodSpec) []string {
	var out []string
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		out = append(out, "host namespaces")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			out = append(out, "hostPath volume "+v.Name)
		}
	}
	podNonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	podSeccomp := psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		out = append(out, "pod runAsUser 0")
	}
	containers := slices.Concat(spec.InitContainers, spec.Containers)
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			out = append(out, c.Name+": runAsNonRoot is not true")
		}
		if (sc.RunAsUser != nil && *sc.RunAsUser == 0) || (sc.RunAsUser == nil && psc.RunAsUser == nil) {
			out = append(out, c.Name+": set a non-zero runAsUser (the image may default to root)")
		}
		if !podSeccomp && (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
			out = append(out, c.Name+": seccompProfile is not RuntimeDefault")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			out = append(out, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			out = append(out, c.Name+": privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			out = append(out, c.Name+": capabilities do not drop ALL")
		} else {
			for _, add := range sc.Capabilities.Add {
				if add != "NET_BIND_SERVICE" {
					out = append(out, c.Name+": adds capability "+string(add))
				}
			}
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				out = append(out, c.Name+": hostPort")
			}
		}
	}
	return out
}

func TestRestrictedViolationsCatchesAnUnhardenedPod(t *testing.T) {
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: labimages.Web10}}}
	if got := restrictedViolations(spec); len(got) < 4 {
		t.Errorf("violations of a bare pod: %v", got)
	}
}

// exerciseYAML is a valid exercise.yaml for the loader tests.
func exerciseYAML(name, track, extra string) string {
	return `apiVersion: rotations.handson.dev/v1alpha1
kind: Exercise
metadata:
  name: ` + name + `
spec:
  track: ` + track + `
  title: A test exercise
  checks:
  - name: always
    expression: "true"
    points: 1
    message: never fails
` + extra
}

// TestEmbedHoldsTheCatalog: the go:embed line names what the catalog hands
// out, so a file it leaves out would go unnoticed; every file of the
// catalog's folders on disk must be embedded, but the grading cases and
// the reference solutions (test data: the self-test reads a solution from
// disk, kubectl rotation test EXERCISE --solution DIR).
func TestEmbedHoldsTheCatalog(t *testing.T) {
	top, err := fs.ReadDir(builtin, ".")
	if err != nil {
		t.Fatal(err)
	}
	embedded := 0
	for _, d := range top {
		err := fs.WalkDir(os.DirFS("."), d.Name(), func(p string, e fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case e.IsDir() && (e.Name() == CasesDir || e.Name() == SolutionDir):
				return fs.SkipDir
			case e.IsDir():
				return nil
			}
			if _, err := fs.Stat(builtin, p); err != nil {
				t.Errorf("%s is not embedded: name it on the go:embed line of catalog.go, or remove it", p)
			}
			embedded++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if embedded < 50 {
		t.Errorf("%d files in the catalog's folders; is the walk looking in labs/?", embedded)
	}
	// And the grading cases are not.
	if matches, _ := fs.Glob(builtin, "*/*/"+CasesDir); len(matches) > 0 {
		t.Errorf("grading cases are embedded: %v", matches)
	}
	if matches, _ := fs.Glob(builtin, "*/*/"+SolutionDir); len(matches) > 0 {
		t.Errorf("reference solutions are embedded: %v", matches)
	}
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"kubernetes/b-ex/exercise.yaml":     file(exerciseYAML("b-ex", "kubernetes", "")),
		"kubernetes/b-ex/instructions.md":   file("# B\n"),
		"kubernetes/a-ex/exercise.yaml":     file(exerciseYAML("a-ex", "kubernetes", "")),
		"kubernetes/a-ex/instructions.md":   file("# A\n"),
		"kubernetes/a-ex/files/app.yaml":    file("kind: ConfigMap\n"),
		"kubernetes/a-ex/files/README.txt":  file("read me\n"),
		"kubernetes/a-ex/shared.yaml":       file("files: [app/main.go]\n"),
		"kubernetes/a-ex/cases/solved.yaml": file("not read: test data\n"),
		"docker/z-ex/exercise.yaml":         file(exerciseYAML("z-ex", "docker", "")),
		"docker/z-ex/instructions.md":       file("# Z\n"),
		"docker/z-ex/shared.yaml":           file("files: [app/main.go]\n"),
		"shared/app/main.go":                file("package main\n"),
	}
	all, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ex := range all {
		names = append(names, ex.Name)
		if ex.Labels[rotationsv1.LabelBuiltin] != "true" {
			t.Errorf("%s: not labelled builtin", ex.Name)
		}
	}
	if want := []string{"z-ex", "a-ex", "b-ex"}; !slices.Equal(names, want) {
		t.Errorf("order %v, want %v (docker before kubernetes, then by name)", names, want)
	}
	a := all[1]
	if a.Spec.Instructions != "# A\n" {
		t.Errorf("instructions %q", a.Spec.Instructions)
	}
	if want := map[string]string{"app.yaml": "kind: ConfigMap\n", "README.txt": "read me\n", "main.go": "package main\n"}; !reflect.DeepEqual(a.Spec.Starter.Files, want) {
		t.Errorf("files %v, want %v", a.Spec.Starter.Files, want)
	}
	if want := map[string]string{"main.go": "package main\n"}; !reflect.DeepEqual(all[0].Spec.Starter.Files, want) {
		t.Errorf("an exercise with shared files only has files %v, want %v", all[0].Spec.Starter.Files, want)
	}
	if all[2].Spec.Starter.Files != nil {
		t.Errorf("an exercise without files/ has files %v", all[2].Spec.Starter.Files)
	}
}

func TestLoadErrors(t *testing.T) {
	valid := func(dir, name, track string) fstest.MapFS {
		return fstest.MapFS{
			dir + "/exercise.yaml":   file(exerciseYAML(name, track, "")),
			dir + "/instructions.md": file("# Title\n"),
		}
	}
	with := func(fsys fstest.MapFS, path, content string) fstest.MapFS {
		if content == "" {
			delete(fsys, path)
		} else {
			fsys[path] = file(content)
		}
		return fsys
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string // substrings of the error
	}{{
		name: "folder name differs from metadata.name",
		fsys: valid("kubernetes/scale-web", "scale-and-expose", "kubernetes"),
		want: []string{"kubernetes/scale-web/exercise.yaml", `metadata.name "scale-and-expose" does not match its folder "scale-web"`},
	}, {
		name: "track folder differs from spec.track",
		fsys: valid("helm/ex", "ex", "kubernetes"),
		want: []string{"helm/ex/exercise.yaml", `spec.track "kubernetes" does not match its track folder "helm"`},
	}, {
		name: "unknown field",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			strings.Replace(exerciseYAML("ex", "kubernetes", ""), "points: 1", "points: 1\n    weight: 2", 1)),
		want: []string{"kubernetes/ex/exercise.yaml", `unknown field "weight"`},
	}, {
		name: "duplicate key",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			exerciseYAML("ex", "kubernetes", "  title: again\n")),
		want: []string{"kubernetes/ex/exercise.yaml", "title"},
	}, {
		name: "missing instructions.md",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/instructions.md", ""),
		want: []string{"kubernetes/ex/instructions.md"},
	}, {
		name: "empty instructions.md",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/instructions.md", " \n"),
		want: []string{"kubernetes/ex/instructions.md: empty"},
	}, {
		name: "missing exercise.yaml",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml", ""),
		want: []string{"kubernetes/ex/exercise.yaml"},
	}, {
		name: "instructions in exercise.yaml",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			exerciseYAML("ex", "kubernetes", "  instructions: do it\n")),
		want: []string{"kubernetes/ex/exercise.yaml", "spec.instructions is set; write them in instructions.md"},
	}, {
		name: "starter files in exercise.yaml",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			exerciseYAML("ex", "kubernetes", "  starter:\n    files:\n      a.yaml: x\n")),
		want: []string{"kubernetes/ex/exercise.yaml", "spec.starter.files is set"},
	}, {
		name: "wrong kind",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			strings.Replace(exerciseYAML("ex", "kubernetes", ""), "kind: Exercise", "kind: LearningRotation", 1)),
		want: []string{"kubernetes/ex/exercise.yaml", `kind "LearningRotation"`},
	}, {
		name: "starter object with a namespace",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			exerciseYAML("ex", "kubernetes", "  starter:\n    objects:\n    - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}}\n")),
		want: []string{"kubernetes/ex/exercise.yaml", "spec.starter.objects[0]: ConfigMap c sets metadata.namespace"},
	}, {
		name: "starter object without a name",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/exercise.yaml",
			exerciseYAML("ex", "kubernetes", "  starter:\n    objects:\n    - {apiVersion: v1, kind: ConfigMap, metadata: {}}\n")),
		want: []string{"kubernetes/ex/exercise.yaml", "spec.starter.objects[0]: ConfigMap has no metadata.name"},
	}, {
		name: "unexpected file in an exercise folder",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/instruction.md", "typo"),
		want: []string{"kubernetes/ex/instruction.md: unexpected"},
	}, {
		name: "starter file that is not a ConfigMap key",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/files/my app.yaml", "x"),
		want: []string{"kubernetes/ex/files/my app.yaml: not a valid ConfigMap key"},
	}, {
		name: "starter file named instructions.md",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/files/instructions.md", "x"),
		want: []string{"kubernetes/ex/files/instructions.md: reserved"},
	}, {
		name: "nested starter files",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/files/sub/a.yaml", "x"),
		want: []string{"kubernetes/ex/files/sub: not a regular file"},
	}, {
		name: "shared file missing",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/shared.yaml", "files: [app/main.go]\n"),
		want: []string{"kubernetes/ex/shared.yaml", "shared/app/main.go"},
	}, {
		name: "shared file no exercise lists",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "shared/app/main.go", "package main\n"),
		want: []string{"shared/app/main.go: no exercise lists it in its shared.yaml"},
	}, {
		name: "shared file named like a file in files/",
		fsys: with(with(with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/shared.yaml", "files: [app/main.go]\n"),
			"shared/app/main.go", "package main\n"), "kubernetes/ex/files/main.go", "package other\n"),
		want: []string{"kubernetes/ex/shared.yaml: the shared file main.go has the same name as a file in files/"},
	}, {
		name: "shared path out of shared/",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/shared.yaml", "files: [../kubernetes/ex/instructions.md]\n"),
		want: []string{"kubernetes/ex/shared.yaml", "not a clean path under shared/"},
	}, {
		name: "shared.yaml listing nothing",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/shared.yaml", "files: []\n"),
		want: []string{"kubernetes/ex/shared.yaml: lists no files"},
	}, {
		name: "unknown field in shared.yaml",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/ex/shared.yaml", "file: [a]\n"),
		want: []string{"kubernetes/ex/shared.yaml", `unknown field "file"`},
	}, {
		name: "file at the top",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "README.md", "x"),
		want: []string{"README.md: not a track folder"},
	}, {
		name: "file in a track folder",
		fsys: with(valid("kubernetes/ex", "ex", "kubernetes"), "kubernetes/notes.md", "x"),
		want: []string{"kubernetes/notes.md: not an exercise folder"},
	}, {
		name: "same name in two tracks",
		fsys: func() fstest.MapFS {
			fsys := valid("kubernetes/ex", "ex", "kubernetes")
			fsys["helm/ex/exercise.yaml"] = file(exerciseYAML("ex", "helm", ""))
			fsys["helm/ex/instructions.md"] = file("# Helm\n")
			return fsys
		}(),
		want: []string{`kubernetes/ex: exercise "ex" is also defined in helm/ex`},
	}, {
		name: "every problem is reported",
		fsys: func() fstest.MapFS {
			fsys := valid("kubernetes/one", "uno", "kubernetes")
			for k, v := range valid("kubernetes/two", "two", "kubernetes") {
				fsys[k] = v
			}
			delete(fsys, "kubernetes/two/instructions.md")
			return fsys
		}(),
		want: []string{"kubernetes/one/exercise.yaml", "kubernetes/two/instructions.md"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := load(tt.fsys)
			if err == nil {
				t.Fatalf("no error; loaded %d exercises", len(all))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}
