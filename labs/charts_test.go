package labs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/jsonpath"
)

// chartFiles returns the packaged charts of the catalog by exercise and
// starter file name.
func chartFiles(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, ex := range mustCatalog(t) {
		for name, data := range ex.Spec.Starter.Files {
			if strings.HasSuffix(name, ".tgz.b64") {
				if out[ex.Name] == nil {
					out[ex.Name] = map[string]string{}
				}
				out[ex.Name][name] = data
			}
		}
	}
	return out
}

func TestCatalogCharts(t *testing.T) {
	want := map[string][]string{
		"helm-install":          {"web-0.1.0.tgz.b64"},
		"helm-upgrade-rollback": {"api-0.1.0.tgz.b64"},
		"helm-fix-failed":       {"broken-0.1.0.tgz.b64"},
	}
	got := map[string][]string{}
	for ex, files := range chartFiles(t) {
		for name, data := range files {
			got[ex] = append(got[ex], name)
			c := loadStarterChart(t, data)
			if key := c.Name() + "-" + c.Metadata.Version + ".tgz.b64"; key != name {
				t.Errorf("%s: %s holds the chart %s", ex, name, key)
			}
		}
	}
	for ex := range want {
		slices.Sort(got[ex])
		if !slices.Equal(got[ex], want[ex]) {
			t.Errorf("%s: charts %v, want %v", ex, got[ex], want[ex])
		}
	}
	if len(got) != len(want) {
		t.Errorf("exercises with charts: %v, want %v", got, want)
	}

	// go:embed leaves out files starting with '_' unless the pattern has
	// all:, and templates/_helpers.tpl is where charts keep their partials.
	web := loadChart(t, webChart)
	if !slices.ContainsFunc(web.Templates, func(f *common.File) bool { return f.Name == "templates/_helpers.tpl" }) {
		t.Error("the packaged web chart has no templates/_helpers.tpl: embed labs/helm with all:")
	}
}

// The charts of the helm track's releases, as the grading cases name them.
const (
	webChart     = "helm-install/web-0.1.0.tgz.b64"
	apiChart     = "helm-upgrade-rollback/api-0.1.0.tgz.b64"
	brokenChart  = "helm-fix-failed/broken-0.1.0.tgz.b64"
	welcomeChart = "testdata/charts/welcome" // the learner writes it
)

// renderedValues are, per chart, the values the exercises have the learner
// install it with (the solved labs' in cases/solved.yaml); TestChartsRender
// renders each chart with each.
var renderedValues = map[string][]string{
	webChart:     {"", `{replicaCount: 2, service: {port: 8080}}`},
	apiChart:     {"", `{image: {tag: "1.1"}}`},
	brokenChart:  {`{configName: broken-config}`},
	welcomeChart: {""},
}

// TestChartsRender renders every chart of the catalog, and the solution of
// helm-own-chart, with the values the learner installs it with, and
// checks what the apiserver would: strictly valid objects, valid names,
// pods admitted under Pod Security "restricted", and resources on every
// container for the LimitRange.
func TestChartsRender(t *testing.T) {
	var refs []string
	for ex, files := range chartFiles(t) {
		for name := range files {
			refs = append(refs, ex+"/"+name)
		}
	}
	refs = append(refs, welcomeChart)
	slices.Sort(refs)
	for _, ref := range refs {
		t.Run(ref, func(t *testing.T) {
			values, ok := renderedValues[ref]
			if !ok {
				t.Fatalf("add the chart's values to renderedValues")
			}
			c := loadChart(t, ref)
			for _, v := range values {
				config := map[string]any{}
				if v != "" {
					config = fromYAML(t, v).(map[string]any)
				}
				for _, problem := range renderProblems(t, c, config) {
					t.Errorf("values %q: %s", v, problem)
				}
			}
		})
	}
}

// renderProblems renders a chart for the release "rel" and returns what
// the apiserver or the lab's admission would refuse.
func renderProblems(t *testing.T, c *chart.Chart, config map[string]any) []string {
	t.Helper()
	var problems []string
	kinds := map[string]bool{}
	for _, doc := range manifestDocs(renderManifest(t, c, "rel", 1, config)) {
		obj, _, err := decoder.Decode([]byte(doc), nil, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%v in\n%s", err, doc))
			continue
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		kinds[kind] = true
		what := kind + " " + m.GetName()
		nameRule := validation.IsDNS1123Subdomain
		if kind == "Service" {
			nameRule = validation.IsDNS1035Label
		}
		if msgs := nameRule(m.GetName()); len(msgs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: invalid name: %s", what, strings.Join(msgs, "; ")))
		}
		if m.GetNamespace() != "" {
			problems = append(problems, what+": sets a namespace; helm installs in the kubeconfig's")
		}
		if svc, ok := obj.(*corev1.Service); ok && svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
			problems = append(problems, what+": labs allow only ClusterIP Services")
		}
		spec := podSpecOf(obj)
		if spec == nil {
			continue
		}
		for _, p := range restrictedViolations(spec) {
			problems = append(problems, what+": Pod Security restricted: "+p)
		}
		for _, ctr := range slices.Concat(spec.InitContainers, spec.Containers) {
			r := ctr.Resources
			if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Cpu().IsZero() || r.Limits.Memory().IsZero() {
				problems = append(problems, what+": container "+ctr.Name+" does not set cpu and memory requests and limits")
			}
		}
	}
	if !kinds["Deployment"] {
		problems = append(problems, "renders no Deployment")
	}
	return problems
}

// TestBrokenChartFailsWithItsDefaults: the chart of helm-fix-failed renders
// a ConfigMap the apiserver refuses with its default values, and only that.
func TestBrokenChartFailsWithItsDefaults(t *testing.T) {
	problems := renderProblems(t, loadChart(t, brokenChart), map[string]any{})
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "ConfigMap Bad_Name: invalid name") {
		t.Errorf("problems with the defaults: %q, want the ConfigMap's name only", problems)
	}
}

// TestChartInstructions: the instructions of an exercise with a chart give
// the one-liner that saves and installs it.
func TestChartInstructions(t *testing.T) {
	files := chartFiles(t)
	for _, ex := range mustCatalog(t) {
		for name := range files[ex.Name] {
			tgz := strings.TrimSuffix(name, ".b64")
			want := fmt.Sprintf(`kubectl get configmap exercise-%s -o jsonpath='{.data.%s}' | base64 -d > %s && helm install `,
				ex.Name, strings.ReplaceAll(name, ".", `\.`), tgz)
			if !strings.Contains(ex.Spec.Instructions, want) {
				t.Errorf("%s: the instructions do not have the command that installs %s:\n%s", ex.Name, name, want)
				continue
			}
			// The JSONPath, as kubectl evaluates it on the exercise's
			// ConfigMap, gives the chart.
			expr := fmt.Sprintf(`{.data.%s}`, strings.ReplaceAll(name, ".", `\.`))
			jp := jsonpath.New("chart")
			if err := jp.Parse(expr); err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			var out bytes.Buffer
			cm := map[string]any{"data": map[string]any{name: files[ex.Name][name], "instructions.md": ex.Spec.Instructions}}
			if err := jp.Execute(&out, cm); err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			if c := loadStarterChart(t, out.String()); c.Name()+"-"+c.Metadata.Version+".tgz" != tgz {
				t.Errorf("%s: %s gives the chart %s %s", ex.Name, expr, c.Name(), c.Metadata.Version)
			}
		}
		if ex.Spec.Track == "helm" && !strings.Contains(ex.Spec.Instructions, "helm install ") {
			t.Errorf("%s: the instructions never run helm install", ex.Name)
		}
	}
}

// TestWelcomeInstructionsMatchSolution: the files helm-own-chart's
// instructions show (code blocks starting with "# welcome/<path>") are the
// ones of the solution the grading table installs.
func TestWelcomeInstructionsMatchSolution(t *testing.T) {
	var md string
	for _, ex := range mustCatalog(t) {
		if ex.Name == "helm-own-chart" {
			md = ex.Spec.Instructions
		}
	}
	var shown []string
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(fence, "```yaml") || i+1 >= len(lines) {
			continue
		}
		pad := len(lines[i]) - len(fence)
		first := strings.TrimSpace(lines[i+1])
		var block []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			block = append(block, strings.TrimPrefix(lines[i], strings.Repeat(" ", pad)))
		}
		file, ok := strings.CutPrefix(first, "# welcome/")
		if !ok {
			continue
		}
		shown = append(shown, file)
		want, err := os.ReadFile(path.Join("testdata/charts/welcome", file))
		if err != nil {
			t.Errorf("the instructions show welcome/%s, which the solution does not have: %v", file, err)
			continue
		}
		if got := strings.Join(block[1:], "\n") + "\n"; got != string(want) {
			t.Errorf("welcome/%s in the instructions differs from testdata/charts/welcome/%s:\n%s", file, file, got)
		}
	}
	if !slices.Contains(shown, "templates/deployment.yaml") || !slices.Contains(shown, "values.yaml") {
		t.Errorf("the instructions show %v, want values.yaml and templates/deployment.yaml", shown)
	}
}

// chartFS is a chart folder in an exercise, for the packaging tests.
func chartFS(dir string, mtime time.Time, mode fs.FileMode) fstest.MapFS {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), ModTime: mtime, Mode: mode} }
	return fstest.MapFS{
		dir + "/values.yaml":                f("replicaCount: 1\n"),
		dir + "/Chart.yaml":                 f("apiVersion: v2\nname: demo\nversion: 1.2.3\n"),
		dir + "/templates/_helpers.tpl":     f(`{{ define "demo.name" }}demo{{ end }}` + "\n"),
		dir + "/templates/configmap.yaml":   f("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"),
		dir + "/templates/NOTES.txt":        f("{{ .Release.Name }}\n"),
		dir + "/.helmignore":                f("*.bak\n"),
		dir + "/templates/tests/check.yaml": f("# a test\n"),
	}
}

func TestPackageChartIsDeterministic(t *testing.T) {
	key, a, err := packageChart(chartFS("charts/demo", time.Now(), 0o755), "charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := packageChart(chartFS("charts/demo", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), 0o600), "charts/demo")
	if err != nil {
		t.Fatal(err)
	}
	if key != "demo-1.2.3.tgz.b64" {
		t.Errorf("key %q", key)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same chart with other modification times and modes packages differently")
	}

	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, mtime %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: type %c mode %o mtime %v owner %d:%d %q:%q", h.Name, h.Typeflag, h.Mode, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
	}
	want := []string{
		"demo/.helmignore", "demo/Chart.yaml", "demo/templates/NOTES.txt", "demo/templates/_helpers.tpl",
		"demo/templates/configmap.yaml", "demo/templates/tests/check.yaml", "demo/values.yaml",
	}
	if !slices.Equal(names, want) {
		t.Errorf("entries %v, want %v", names, want)
	}

	c := loadArchive(t, a)
	if c.Name() != "demo" || c.Metadata.Version != "1.2.3" || len(c.Templates) != 4 || c.Values["replicaCount"] != float64(1) {
		t.Errorf("helm loads %s %s with %d templates and values %v", c.Name(), c.Metadata.Version, len(c.Templates), c.Values)
	}
}

// TestCatalogChartsAreStable: loading the catalog twice gives the same
// packaged charts, byte for byte.
func TestCatalogChartsAreStable(t *testing.T) {
	first, err := load(builtin)
	if err != nil {
		t.Fatal(err)
	}
	second, err := load(builtin)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		for name, data := range first[i].Spec.Starter.Files {
			if second[i].Spec.Starter.Files[name] != data {
				t.Errorf("%s: %s differs from one load to the next", first[i].Name, name)
			}
		}
	}
}

func TestLoadCharts(t *testing.T) {
	fsys := chartFS("helm/ex/charts/demo", time.Time{}, 0)
	fsys["helm/ex/exercise.yaml"] = file(exerciseYAML("ex", "helm", ""))
	fsys["helm/ex/instructions.md"] = file("# Ex\n")
	fsys["helm/ex/files/notes.txt"] = file("notes\n")
	all, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	files := all[0].Spec.Starter.Files
	if files["notes.txt"] != "notes\n" || len(files) != 2 {
		t.Errorf("starter files %v", slices.Sorted(maps.Keys(files)))
	}
	tgz, err := base64.StdEncoding.DecodeString(files["demo-1.2.3.tgz.b64"])
	if err != nil {
		t.Fatal(err)
	}
	if c := loadArchive(t, tgz); c.Name() != "demo" {
		t.Errorf("chart %s", c.Name())
	}
}

func TestLoadChartsErrors(t *testing.T) {
	exercise := func(fsys fstest.MapFS) fstest.MapFS {
		fsys["helm/ex/exercise.yaml"] = file(exerciseYAML("ex", "helm", ""))
		fsys["helm/ex/instructions.md"] = file("# Ex\n")
		return fsys
	}
	with := func(path, content string) fstest.MapFS {
		fsys := exercise(chartFS("helm/ex/charts/demo", time.Time{}, 0))
		if content == "" {
			delete(fsys, path)
		} else {
			fsys[path] = file(content)
		}
		return fsys
	}
	random := make([]byte, 300<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{{
		name: "folder named otherwise than the chart",
		fsys: exercise(chartFS("helm/ex/charts/web", time.Time{}, 0)),
		want: []string{"helm/ex/charts/web/Chart.yaml", `names the chart "demo"`},
	}, {
		name: "a file in charts/",
		fsys: with("helm/ex/charts/demo-1.2.3.tgz", "x"),
		want: []string{"helm/ex/charts/demo-1.2.3.tgz: not a chart folder"},
	}, {
		name: "no Chart.yaml",
		fsys: with("helm/ex/charts/demo/Chart.yaml", ""),
		want: []string{"helm/ex/charts/demo: not a chart Helm can load", "Chart.yaml file is missing"},
	}, {
		name: "a version that is not SemVer",
		fsys: with("helm/ex/charts/demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: one\n"),
		want: []string{"helm/ex/charts/demo: not a chart Helm can load", "version"},
	}, {
		name: "bad values.yaml",
		fsys: with("helm/ex/charts/demo/values.yaml", "replicaCount: [\n"),
		want: []string{"helm/ex/charts/demo: not a chart Helm can load", "values.yaml"},
	}, {
		name: "a version that makes no ConfigMap key",
		fsys: with("helm/ex/charts/demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.2.3+build\n"),
		want: []string{"helm/ex/charts/demo/Chart.yaml", "demo-1.2.3+build.tgz.b64 is not a valid ConfigMap key"},
	}, {
		name: "a starter file of the same name",
		fsys: with("helm/ex/files/demo-1.2.3.tgz.b64", "x"),
		want: []string{"helm/ex/files/demo-1.2.3.tgz.b64: the packaged chart demo-1.2.3.tgz.b64 has the same name as a starter file"},
	}, {
		name: "too large",
		fsys: func() fstest.MapFS {
			fsys := with("helm/ex/charts/demo/files/blob.bin", "")
			fsys["helm/ex/charts/demo/files/blob.bin"] = &fstest.MapFile{Data: random}
			return fsys
		}(),
		want: []string{"helm/ex/charts/demo: packaged chart is", "over the 256 KiB limit"},
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
