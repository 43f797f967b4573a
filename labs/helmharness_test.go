package labs

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	rspb "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
)

// The Helm side of the grading harness: a lab's Helm releases are built as
// Helm would store them (the chart as loaded from its archive, the user's
// values, the manifest rendered from the chart's templates), encoded into
// release Secrets exactly as Helm's Secrets driver writes them, and read
// back by the real helm fact collector. The facts the checks see are thus
// the collector's output, not a hand-written imitation of it.

// helmRelease is one Helm release of a test lab, as a case file gives it.
type helmRelease struct {
	Name string `json:"name"`
	// Chart is the chart installed: "<exercise>/<starter file>" for a chart
	// the catalog hands out, "testdata/charts/<chart>" for a chart folder
	// of the tests (one the learner writes), packaged as the catalog does.
	Chart string `json:"chart"`
	// ChartEdits change the chart (a fresh copy) before it is installed.
	ChartEdits []chartEdit `json:"chartEdits,omitempty"`
	// Revisions, oldest first: revision 1 is Revisions[0].
	Revisions []helmRevision `json:"revisions"`
	// Live: the objects of the latest revision's manifest are in the lab,
	// as the apiserver returns them after Helm applied them (Helm's
	// ownership label and annotations, server metadata), each with the
	// top-level fields given here by "Kind/name", usually its status,
	// replaced. Nil: none of the release's objects are in the lab.
	Live map[string]map[string]any `json:"live,omitempty"`
	// Undecodable: the latest release Secret holds no valid release, so
	// the collector reports {name, namespace, error}.
	Undecodable bool `json:"undecodable,omitempty"`
	// WrittenBy is the field manager the apiserver records on the release
	// Secrets: empty is Helm's ("Helm", from its user agent);
	// "kubectl-create" is a history written by hand.
	WrittenBy string `json:"writtenBy,omitempty"`
}

// chartEdit is one change to a chart: one of its fields is set.
type chartEdit struct {
	// Drop removes a template, e.g. templates/service.yaml.
	Drop string `json:"drop,omitempty"`
	// Template has every Replace in it replaced With; it must contain it.
	Template string `json:"template,omitempty"`
	Replace  string `json:"replace,omitempty"`
	With     string `json:"with,omitempty"`
	// Metadata sets fields of Chart.yaml, e.g. {version: 1.0.0}.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// helmRevision is one revision of a release.
type helmRevision struct {
	// Values the user supplied (--set, -f); none when empty.
	Values map[string]any `json:"values,omitempty"`
	// RollbackTo makes this revision helm rollback <release> <RollbackTo>:
	// the chart, values and manifest of that revision.
	RollbackTo int `json:"rollbackTo,omitempty"`
	// Status: empty is deployed for the latest revision and superseded for
	// the others, as after a successful install, upgrade or rollback.
	Status rcommon.Status `json:"status,omitempty"`
	// Description: empty is Helm's for the revision: Install complete,
	// Upgrade complete or Rollback to N.
	Description string `json:"description,omitempty"`
}

// apply makes the edit to c.
func (e chartEdit) apply(t *testing.T, c *chart.Chart) {
	t.Helper()
	switch {
	case e.Drop != "":
		n := len(c.Templates)
		c.Templates = slices.DeleteFunc(c.Templates, func(f *common.File) bool { return f.Name == e.Drop })
		if len(c.Templates) == n {
			t.Fatalf("chart %s has no %s", c.Name(), e.Drop)
		}
	case e.Template != "":
		i := slices.IndexFunc(c.Templates, func(f *common.File) bool { return f.Name == e.Template })
		if i < 0 {
			t.Fatalf("chart %s has no %s", c.Name(), e.Template)
		}
		f := c.Templates[i]
		if !strings.Contains(string(f.Data), e.Replace) {
			t.Fatalf("%s has no %q", e.Template, e.Replace)
		}
		f.Data = []byte(strings.ReplaceAll(string(f.Data), e.Replace, e.With))
	case e.Metadata != nil:
		fields := map[string]any{}
		data, err := json.Marshal(c.Metadata)
		if err == nil {
			err = json.Unmarshal(data, &fields)
		}
		if err != nil {
			t.Fatalf("chart %s: %v", c.Name(), err)
		}
		maps.Copy(fields, e.Metadata)
		if data, err = json.Marshal(fields); err == nil {
			c.Metadata = &chart.Metadata{}
			err = json.Unmarshal(data, c.Metadata)
		}
		if err != nil {
			t.Fatalf("chart %s: %v", c.Name(), err)
		}
	default:
		t.Fatal("a chart edit sets drop, template or metadata")
	}
}

// loadChart loads a chart named as in helmRelease.chart.
func loadChart(t *testing.T, ref string) *chart.Chart {
	t.Helper()
	if strings.HasPrefix(ref, "testdata/") {
		_, tgz, err := packageChart(os.DirFS(path.Dir(ref)), path.Base(ref))
		if err != nil {
			t.Fatal(err)
		}
		return loadArchive(t, tgz)
	}
	dir, file := path.Split(ref)
	dir = strings.TrimSuffix(dir, "/")
	for _, ex := range mustCatalog(t) {
		if ex.Name != dir {
			continue
		}
		data, ok := ex.Spec.Starter.Files[file]
		if !ok {
			t.Fatalf("exercise %s has no starter file %s", dir, file)
		}
		return loadStarterChart(t, data)
	}
	t.Fatalf("no exercise %s in the catalog", dir)
	return nil
}

// loadStarterChart decodes and loads a .tgz.b64 starter file as the
// learner does (base64 -d, then helm install ./<chart>.tgz).
func loadStarterChart(t *testing.T, b64 string) *chart.Chart {
	t.Helper()
	tgz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return loadArchive(t, tgz)
}

func loadArchive(t *testing.T, tgz []byte) *chart.Chart {
	t.Helper()
	c, err := loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		t.Fatalf("helm's loader: %v", err)
	}
	return c
}

// releaseTime is when the test releases were deployed.
var releaseTime = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// addReleases puts releases into a lab: their facts, read by the helm
// collector from the release Secrets, and the objects Helm applied.
func addReleases(t *testing.T, l labObjects, releases ...helmRelease) {
	t.Helper()
	var secrets []corev1.Secret
	for _, r := range releases {
		c := loadChart(t, r.Chart)
		for _, e := range r.ChartEdits {
			e.apply(t, c)
		}
		type stored struct {
			config   map[string]any
			manifest string
		}
		var revs []stored
		for i, rv := range r.Revisions {
			version := i + 1
			config := map[string]any{}
			if rv.Values != nil {
				config = runtime.DeepCopyJSON(rv.Values)
			}
			var manifest string
			if rv.RollbackTo > 0 {
				if rv.RollbackTo >= version {
					t.Fatalf("release %s: revision %d rolls back to %d", r.Name, version, rv.RollbackTo)
				}
				config, manifest = revs[rv.RollbackTo-1].config, revs[rv.RollbackTo-1].manifest
			} else {
				manifest = renderManifest(t, c, r.Name, version, config)
			}
			revs = append(revs, stored{config, manifest})

			status, description := rv.Status, rv.Description
			if status == "" {
				status = rcommon.StatusSuperseded
				if version == len(r.Revisions) {
					status = rcommon.StatusDeployed
				}
			}
			switch {
			case description != "":
			case rv.RollbackTo > 0:
				description = fmt.Sprintf("Rollback to %d", rv.RollbackTo)
			case version == 1:
				description = "Install complete"
			default:
				description = "Upgrade complete"
			}
			rls := &rspb.Release{
				Name:      r.Name,
				Namespace: labNamespace,
				Version:   version,
				Info: &rspb.Info{
					FirstDeployed:    releaseTime,
					LastDeployed:     releaseTime.Add(time.Duration(version) * time.Minute),
					Status:           status,
					Description:      description,
					RollbackRevision: rv.RollbackTo,
				},
				Chart:       c,
				Config:      config,
				Manifest:    manifest,
				ApplyMethod: "ssa",
			}
			payload := encodeRelease(t, rls)
			if r.Undecodable && version == len(r.Revisions) {
				payload = []byte("H4sI this is not a release")
			}
			secret := releaseSecret(r.Name, version, status, payload)
			secret.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: cmp.Or(r.WrittenBy, "Helm"), Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1"}}
			secrets = append(secrets, secret)
		}
		if r.Live != nil && len(revs) > 0 {
			applyManifest(t, l, r.Name, revs[len(revs)-1].manifest, r.Live)
		}
	}
	// Witnessed as the operator does: hand-written histories are flagged.
	collector := &helmfacts.Collector{Reader: helmStore{secrets, l}, Witness: true}
	facts, err := collector.Collect(context.Background(), labNamespace)
	if err != nil {
		t.Fatal(err)
	}
	for name, rel := range facts[helmfacts.FactReleases].(map[string]any) {
		l[kindHelmRelease+"/"+name] = rel.(map[string]any)
	}
}

// encodeRelease is Helm's Secrets driver encoding (its encodeRelease is
// unexported): the release as JSON, gzipped, in base64.
func encodeRelease(t *testing.T, rls *rspb.Release) []byte {
	t.Helper()
	data, err := json.Marshal(rls)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// releaseSecret is the Secret Helm's Secrets driver stores a revision in.
func releaseSecret(name string, version int, status rcommon.Status, payload []byte) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, version),
			Namespace: labNamespace,
			Labels: map[string]string{
				"name": name, "owner": "helm", "status": string(status), "version": strconv.Itoa(version),
				"modifiedAt": strconv.FormatInt(releaseTime.Unix(), 10),
			},
		},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": payload},
	}
}

// helmStore is a client.Reader over a lab, which is all the helm collector
// asks of its Reader: it lists the release Secrets and gets the lab's
// objects as the apiserver returns them, with the field manager that wrote
// them ("helm" for those Helm applied, with its annotations).
type helmStore struct {
	secrets []corev1.Secret
	lab     labObjects
}

func (s helmStore) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("helmStore gets unstructured objects, not %T", obj)
	}
	live, ok := s.lab[u.GetKind()+"/"+key.Name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: strings.ToLower(u.GetKind())}, key.Name)
	}
	u.Object = runtime.DeepCopyJSON(live)
	manager := "kubectl-client-side-apply"
	if u.GetAnnotations()["meta.helm.sh/release-name"] != "" {
		manager = "helm"
	}
	u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: u.GetAPIVersion()}})
	return nil
}

func (s helmStore) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	l, ok := list.(*corev1.SecretList)
	if !ok {
		return fmt.Errorf("helmStore lists Secrets, not %T", list)
	}
	l.Items = slices.Clone(s.secrets)
	return nil
}

// applyManifest adds the objects of a rendered manifest to the lab as the
// apiserver returns them once Helm applied them.
func applyManifest(t *testing.T, l labObjects, release, manifest string, live map[string]map[string]any) {
	t.Helper()
	for _, doc := range manifestDocs(manifest) {
		obj, ok := fromYAML(t, doc).(map[string]any)
		if !ok {
			t.Fatalf("release %s renders a document that is not an object:\n%s", release, doc)
		}
		meta := obj["metadata"].(map[string]any)
		key := obj["kind"].(string) + "/" + meta["name"].(string)
		labels, _ := meta["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels["app.kubernetes.io/managed-by"] = "Helm"
		meta["labels"] = labels
		meta["annotations"] = map[string]any{
			"meta.helm.sh/release-name":      release,
			"meta.helm.sh/release-namespace": labNamespace,
		}
		meta["namespace"] = labNamespace
		meta["uid"] = "0b6a7d1e-5a55-4c1c-9d7e-" + fmt.Sprintf("%012d", len(l))
		meta["resourceVersion"] = "4242"
		meta["creationTimestamp"] = "2026-03-01T10:00:00Z"
		meta["generation"] = int64(2)
		for k, v := range live[key] {
			obj[k] = runtime.DeepCopyJSONValue(v)
		}
		l[key] = obj
	}
}

// Rendering. The test renders a chart's templates as Helm's engine does
// (helm.sh/helm/v4/pkg/engine needs sprig, which this module does not
// require): Go templates, missing values empty, the partials (_*.tpl)
// shared, and the few functions the catalog's charts use. A chart using
// another function fails here: add it, with Helm's semantics.

var renderFuncs = template.FuncMap{
	// toYaml is Helm's: sigs.k8s.io/yaml, without the final newline.
	"toYaml": func(v any) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	},
	// indent, nindent and quote are sprig's.
	"indent":  indent,
	"nindent": func(spaces int, v string) string { return "\n" + indent(spaces, v) },
	"quote": func(args ...any) string {
		var out []string
		for _, a := range args {
			if a != nil {
				out = append(out, strconv.Quote(fmt.Sprint(a)))
			}
		}
		return strings.Join(out, " ")
	},
	"include": func(string, any) (string, error) { return "", errors.New("include is bound per chart") },
}

func indent(spaces int, v string) string {
	pad := strings.Repeat(" ", spaces)
	return pad + strings.ReplaceAll(v, "\n", "\n"+pad)
}

// renderTemplates renders every template of a chart but the partials, by
// path ("web/templates/deployment.yaml"), NOTES.txt included.
func renderTemplates(t *testing.T, c *chart.Chart, release string, revision int, config map[string]any) map[string]string {
	t.Helper()
	top, err := chartutil.ToRenderValues(c, config, common.ReleaseOptions{
		Name: release, Namespace: labNamespace, Revision: revision, IsInstall: revision == 1, IsUpgrade: revision > 1,
	}, nil)
	if err != nil {
		t.Fatalf("chart %s: %v", c.Name(), err)
	}
	tpl := template.New("gotpl").Option("missingkey=zero").Funcs(renderFuncs)
	tpl.Funcs(template.FuncMap{"include": func(name string, data any) (string, error) {
		var b strings.Builder
		err := tpl.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}})
	for _, f := range c.Templates {
		if _, err := tpl.New(c.Name() + "/" + f.Name).Parse(string(f.Data)); err != nil {
			t.Fatalf("chart %s: %v", c.Name(), err)
		}
	}
	out := map[string]string{}
	for _, f := range c.Templates {
		name := c.Name() + "/" + f.Name
		if strings.HasPrefix(path.Base(f.Name), "_") {
			continue
		}
		vals := map[string]any{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]any{"Name": name, "BasePath": c.Name() + "/templates"}
		var b strings.Builder
		if err := tpl.ExecuteTemplate(&b, name, vals); err != nil {
			t.Fatalf("chart %s: %v", c.Name(), err)
		}
		out[name] = strings.ReplaceAll(b.String(), "<no value>", "")
	}
	return out
}

// renderManifest is a release's manifest as Helm stores it: the rendered
// templates but NOTES.txt, split into documents and sorted by Helm's own
// releaseutil, each written as "---\n# Source: <template>\n<doc>\n".
func renderManifest(t *testing.T, c *chart.Chart, release string, revision int, config map[string]any) string {
	t.Helper()
	rendered := renderTemplates(t, c, release, revision, config)
	for name := range rendered {
		if path.Base(name) == "NOTES.txt" {
			delete(rendered, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(rendered, nil, releaseutil.InstallOrder)
	if err != nil {
		t.Fatalf("chart %s: %v", c.Name(), err)
	}
	if len(hooks) > 0 {
		t.Fatalf("chart %s has hooks, which the harness does not run", c.Name())
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String()
}

// manifestDocs splits a manifest into its documents, as Helm does.
func manifestDocs(manifest string) []string {
	split := releaseutil.SplitManifests(manifest)
	keys := slices.Collect(maps.Keys(split))
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	docs := make([]string, len(keys))
	for i, k := range keys {
		docs[i] = split[k]
	}
	return docs
}
