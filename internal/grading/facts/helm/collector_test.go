package helm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// webRevisions: install, upgrade to a new chart and values, rollback to 1.
var webRevisions = []rev{
	{1, rcommon.StatusSuperseded, "Install complete", 0, "1.0.0", "1.27.0",
		map[string]any{"service": map[string]any{"port": 8080}}, webManifest("web", 1, "1.27.0", 8080)},
	{2, rcommon.StatusSuperseded, "Upgrade complete", 0, "1.1.0", "1.28.0",
		map[string]any{"replicaCount": 3, "service": map[string]any{"port": 8080}}, webManifest("web", 3, "1.28.0", 8080)},
	{3, rcommon.StatusDeployed, "Rollback to 1", 1, "1.0.0", "1.27.0",
		map[string]any{"service": map[string]any{"port": 8080}}, webManifest("web", 1, "1.27.0", 8080)},
}

func webSecrets(t testing.TB) []client.Object {
	var objs []client.Object
	for _, r := range webRevisions {
		objs = append(objs, releaseSecret(t, "web", r))
	}
	return objs
}

// asJSON renders facts for failure messages.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCollectReleaseWithHistory(t *testing.T) {
	objs := webSecrets(t)
	// Not Helm's: no owner=helm label, or another namespace.
	objs = append(objs,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: ns}, Data: map[string][]byte{"release": []byte("x")}},
		func() client.Object {
			s := releaseSecret(t, "other", rev{1, rcommon.StatusDeployed, "Install complete", 0, "1.0.0", "1", nil, ""})
			s.Namespace = "lab-b"
			return s
		}(),
	)
	releases := collect(t, objs...)
	if len(releases) != 1 {
		t.Fatalf("releases = %v, want only web", keys(releases))
	}
	web := releases["web"].(map[string]any)

	want := map[string]any{
		"name":              "web",
		"namespace":         ns,
		"revision":          int64(3),
		"status":            "deployed",
		"description":       "Rollback to 1",
		"rollbackRevision":  int64(1),
		"chart":             map[string]any{"name": "web", "version": "1.0.0", "appVersion": "1.27.0"},
		"values":            map[string]any{"service": map[string]any{"port": int64(8080)}},
		"historyTruncated":  false,
		"manifestTruncated": false,
		"config": map[string]any{
			"replicaCount": int64(1),
			"image":        map[string]any{"repository": "nginx", "tag": "1.27.0", "pullPolicy": "IfNotPresent"},
			"service":      map[string]any{"type": "ClusterIP", "port": int64(8080)},
			"resources":    map[string]any{},
		},
	}
	for k, w := range want {
		if !reflect.DeepEqual(web[k], w) {
			t.Errorf("%s = %s\nwant %s", k, asJSON(t, web[k]), asJSON(t, w))
		}
	}

	history := web["history"].([]any)
	if len(history) != 3 {
		t.Fatalf("history has %d entries, want 3", len(history))
	}
	wantHistory := []map[string]any{
		{"revision": int64(1), "status": "superseded", "description": "Install complete", "rollbackRevision": int64(0),
			"chart":  map[string]any{"name": "web", "version": "1.0.0", "appVersion": "1.27.0"},
			"values": map[string]any{"service": map[string]any{"port": int64(8080)}}},
		{"revision": int64(2), "status": "superseded", "description": "Upgrade complete", "rollbackRevision": int64(0),
			"chart":  map[string]any{"name": "web", "version": "1.1.0", "appVersion": "1.28.0"},
			"values": map[string]any{"replicaCount": int64(3), "service": map[string]any{"port": int64(8080)}}},
		{"revision": int64(3), "status": "deployed", "description": "Rollback to 1", "rollbackRevision": int64(1),
			"chart":  map[string]any{"name": "web", "version": "1.0.0", "appVersion": "1.27.0"},
			"values": map[string]any{"service": map[string]any{"port": int64(8080)}}},
	}
	for i, w := range wantHistory {
		if !reflect.DeepEqual(history[i], w) {
			t.Errorf("history[%d] = %s\nwant %s", i, asJSON(t, history[i]), asJSON(t, w))
		}
	}

	objsFacts := web["manifestObjects"].([]any)
	if len(objsFacts) != 2 {
		t.Fatalf("manifestObjects has %d objects, want 2: %s", len(objsFacts), asJSON(t, objsFacts))
	}
	svc, dep := objsFacts[0].(map[string]any), objsFacts[1].(map[string]any)
	if svc["kind"] != "Service" || dep["kind"] != "Deployment" {
		t.Errorf("kinds %v, %v; want Service, Deployment in manifest order", svc["kind"], dep["kind"])
	}
	if got := dep["spec"].(map[string]any)["replicas"]; got != int64(1) {
		t.Errorf("deployment replicas = %#v, want int64(1)", got)
	}
	port := svc["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"]
	if port != int64(8080) {
		t.Errorf("service port = %#v, want int64(8080)", port)
	}
}

// TestCollectIsCELFriendly evaluates the checks the Helm track will write
// against the facts, so the shape and types work in CEL as they are.
func TestCollectIsCELFriendly(t *testing.T) {
	facts, err := (&Collector{Reader: fakeReader(webSecrets(t)...)}).Collect(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	env, err := cel.NewEnv(cel.Variable("helm", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))))
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		`helm.releases.web.revision == 3`,
		`helm.releases.web.status == 'deployed'`,
		`helm.releases.web.history.exists(h, h.description == 'Rollback to 1')`,
		`helm.releases.web.rollbackRevision == 1`,
		`helm.releases.web.history.map(h, h.chart.version) == ['1.0.0', '1.1.0', '1.0.0']`,
		`helm.releases.web.history[1].values.replicaCount == 3`,
		`helm.releases.web.config.service.port == 8080 && helm.releases.web.config.image.repository == 'nginx'`,
		`helm.releases.web.values.service.port == 8080 && !('replicaCount' in helm.releases.web.values)`,
		`helm.releases.web.manifestObjects.exists(o, o.kind == 'Deployment' && o.spec.replicas == 1)`,
		`helm.releases.web.chart.appVersion == '1.27.0'`,
		`!has(helm.releases.web.error)`,
	} {
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", expr, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := prg.Eval(map[string]any{"helm": facts})
		if err != nil || out.Value() != true {
			t.Errorf("%s = %v (%v), want true", expr, out, err)
		}
	}
}

func TestCollectFailedRelease(t *testing.T) {
	releases := collect(t,
		releaseSecret(t, "api", rev{1, rcommon.StatusDeployed, "Install complete", 0, "1.0.0", "1.27.0", nil, webManifest("api", 1, "1.27.0", 80)}),
		releaseSecret(t, "api", rev{2, rcommon.StatusFailed, `Upgrade "api" failed: context deadline exceeded`, 0, "1.1.0", "1.28.0",
			map[string]any{"image": map[string]any{"tag": "does-not-exist"}}, webManifest("api", 1, "does-not-exist", 80)}),
	)
	api := releases["api"].(map[string]any)
	if api["status"] != "failed" || api["revision"] != int64(2) || !strings.Contains(api["description"].(string), "failed") {
		t.Errorf("api = status %v revision %v description %q; want failed, 2, the failure", api["status"], api["revision"], api["description"])
	}
	if tag := api["config"].(map[string]any)["image"].(map[string]any)["tag"]; tag != "does-not-exist" {
		t.Errorf("config image.tag = %v, want the user's value over the chart's", tag)
	}
	h := api["history"].([]any)
	if len(h) != 2 || h[0].(map[string]any)["status"] != "deployed" || h[1].(map[string]any)["status"] != "failed" {
		t.Errorf("history = %s", asJSON(t, h))
	}
	if len(api["values"].(map[string]any)) != 1 {
		t.Errorf("values = %v, want only the user's", api["values"])
	}
}

// gzipBomb streams size zero bytes through gzip without holding them:
// 1 GiB compresses to ~1.3 MB (base64 ~1.7 MB, under MaxEncodedSize, so it
// is the decompression limit that must stop it).
func gzipBomb(t testing.TB, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for written := 0; written < size; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCollectCorruptReleaseSecrets(t *testing.T) {
	bombSize := 1 << 30
	if testing.Short() {
		bombSize = 64 << 20
	}
	good := release("x", rev{3, rcommon.StatusDeployed, "Upgrade complete", 0, "1.0.0", "1", nil, webManifest("x", 1, "1", 80)})
	withManifest := func(m string) []byte {
		r := *good
		r.Manifest = m
		return encode(t, &r)
	}
	var aliasBomb strings.Builder
	aliasBomb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 'b'; i <= 'j'; i++ {
		fmt.Fprintf(&aliasBomb, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}

	for _, tt := range []struct {
		name    string
		payload []byte
		want    string // in the error message, after the secret's name
		tooBig  bool
	}{
		{"bad base64", []byte("H4sI!!!not base64"), "base64: illegal base64 data at input byte 4", false},
		{"bad gzip header", b64([]byte{0x1f, 0x8b, 0x08, 0xff, 0, 0, 0, 0, 0, 0}), "gzip: ", false},
		{"truncated gzip", b64(gz(t, []byte(`{"name":"x"}`))[:15]), "gzip: ", false},
		{"gzip bomb", b64(gzipBomb(t, bombSize)), "gzip: release decompresses to over 8 MiB (limit)", true},
		{"encoded over the limit", bytes.Repeat([]byte("A"), MaxEncodedSize+4), "release data is 4194308 bytes, over the 4 MiB limit", true},
		{"invalid JSON", b64(gz(t, []byte(`{"name": "x", "info": `))), "json: unexpected end of JSON input", false},
		{"JSON array", b64(gz(t, []byte(`[1, 2, 3]`))), "json: cannot unmarshal array", false},
		{"wrong field type", b64(gz(t, []byte(`{"name": 5}`))), "json: cannot unmarshal number", false},
		{"wrong nested type", b64(gz(t, []byte(`{"name": "x", "info": {"status": ["deployed"]}}`))), "json: cannot unmarshal array", false},
		{"not a release", b64(gz(t, []byte(`{"kind": "ConfigMap"}`))), "not a Helm release: no name", false},
		{"no info", b64(gz(t, []byte(`{"name": "x", "chart": {"metadata": {"name": "x"}}}`))), "not a Helm release: no info", false},
		{"no chart", b64(gz(t, []byte(`{"name": "x", "info": {"status": "deployed"}}`))), "not a Helm release: no chart metadata", false},
		{"null", b64(gz(t, []byte(`null`))), "not a Helm release: no name", false},
		{"empty", nil, "no release data", false},
		{"huge manifest", withManifest(strings.Repeat("# padding\n", MaxManifestSize/10+1)), "manifest is 4194310 bytes, over the 4 MiB limit", true},
		// These decode; building the facts fails.
		{"manifest not YAML", withManifest("---\nkind: [unclosed\n"), "manifest document 1: error converting YAML to JSON: yaml: line 2", false},
		{"manifest scalar", withManifest("---\njust a string\n"), "manifest document 1 is a string, not an object", false},
		{"manifest alias bomb", withManifest(aliasBomb.String()), "manifest document 1: error converting YAML to JSON: yaml: document contains excessive aliasing", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := append(webSecrets(t),
				releaseSecret(t, "x", rev{1, rcommon.StatusSuperseded, "Install complete", 0, "1.0.0", "1", nil, ""}),
				secret("x", 3, rcommon.StatusDeployed, tt.payload))
			reader := fakeReader(objs...)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			facts, err := (&Collector{Reader: reader}).Collect(context.Background(), ns)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			// The fake client copies the Secrets a few times; decoding adds
			// at most the 8 MiB limit and its buffer growth.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 96<<20 {
				t.Errorf("Collect allocated %d MiB", alloc>>20)
			}
			releases := facts[FactReleases].(map[string]any)
			x := releases["x"].(map[string]any)
			wantMsg := "release secret sh.helm.release.v1.x.v3: " + tt.want
			msg, _ := x["error"].(string)
			if !strings.HasPrefix(msg, wantMsg) {
				t.Errorf("error = %q, want it to start with %q", msg, wantMsg)
			}
			if want := []string{"error", "name", "namespace"}; !reflect.DeepEqual(keys(x), want) {
				t.Errorf("error entry keys = %v, want %v", keys(x), want)
			}
			if x["name"] != "x" || x["namespace"] != ns {
				t.Errorf("error entry = %v", x)
			}
			// The other release is unaffected.
			if web := releases["web"].(map[string]any); web["revision"] != int64(3) || web["error"] != nil {
				t.Errorf("web = %v", web)
			}
			// And the decoder reports the size limit as such.
			_, _, derr := decodeRelease(tt.payload)
			if strings.HasPrefix(tt.name, "manifest ") {
				if derr != nil {
					t.Errorf("decodeRelease: %v", derr)
				}
			} else if derr == nil || errors.Is(derr, errTooLarge) != tt.tooBig {
				t.Errorf("decodeRelease error %v: too large %v, want %v", derr, errors.Is(derr, errTooLarge), tt.tooBig)
			}
		})
	}
}

func TestCollectSeveralBadRevisions(t *testing.T) {
	releases := collect(t,
		secret("x", 1, rcommon.StatusSuperseded, []byte("!")),
		secret("x", 2, rcommon.StatusSuperseded, []byte("!")),
		releaseSecret(t, "x", rev{3, rcommon.StatusDeployed, "Upgrade complete", 0, "1.0.0", "1", nil, ""}),
	)
	want := "release secret sh.helm.release.v1.x.v2: base64: illegal base64 data at input byte 0 (and 1 more undecodable revisions)"
	if got := releases["x"].(map[string]any)["error"]; got != want {
		t.Errorf("error = %q\nwant %q", got, want)
	}
}

func TestCollectKeepsLatestRevisions(t *testing.T) {
	var objs []client.Object
	// Revision 1 is corrupt but beyond the kept window: never decoded.
	objs = append(objs, secret("web", 1, rcommon.StatusSuperseded, []byte("corrupt")))
	for v := 2; v <= MaxRevisions+5; v++ {
		objs = append(objs, releaseSecret(t, "web", rev{v, rcommon.StatusSuperseded, "Upgrade complete", 0, "1.0.0", "1",
			map[string]any{"replicaCount": v}, ""}))
	}
	web := collect(t, objs...)["web"].(map[string]any)
	if web["error"] != nil {
		t.Fatalf("error %v: only the latest %d revisions should be decoded", web["error"], MaxRevisions)
	}
	h := web["history"].([]any)
	if len(h) != MaxRevisions || web["historyTruncated"] != true {
		t.Fatalf("history has %d entries (truncated %v), want %d and truncated", len(h), web["historyTruncated"], MaxRevisions)
	}
	// Sorted numerically (v10 after v9), oldest kept first.
	for i, e := range h {
		if got, want := e.(map[string]any)["revision"], int64(MaxRevisions+5-MaxRevisions+1+i); got != want {
			t.Fatalf("history[%d].revision = %v, want %v", i, got, want)
		}
	}
	if web["revision"] != int64(MaxRevisions+5) {
		t.Errorf("revision = %v", web["revision"])
	}
}

func TestCollectTruncatesManifestObjects(t *testing.T) {
	var m strings.Builder
	for i := 0; i < MaxManifestObjects+10; i++ {
		fmt.Fprintf(&m, "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n", i)
	}
	web := collect(t, releaseSecret(t, "web", rev{1, rcommon.StatusDeployed, "Install complete", 0, "1.0.0", "1", nil, m.String()}))["web"].(map[string]any)
	if n := len(web["manifestObjects"].([]any)); n != MaxManifestObjects || web["manifestTruncated"] != true {
		t.Errorf("%d manifest objects (truncated %v), want %d and truncated", n, web["manifestTruncated"], MaxManifestObjects)
	}
}

// Helm before 2.x compression, and anything written without gzip: base64
// JSON is read as Helm reads it.
func TestCollectUncompressedRelease(t *testing.T) {
	b, err := json.Marshal(release("web", webRevisions[0]))
	if err != nil {
		t.Fatal(err)
	}
	web := collect(t, secret("web", 1, rcommon.StatusDeployed, b64(b)))["web"].(map[string]any)
	if web["error"] != nil || web["revision"] != int64(1) {
		t.Errorf("web = %v", web)
	}
}

func TestIdentify(t *testing.T) {
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   string
		rev    int
	}{
		{"sh.helm.release.v1.web.v3", map[string]string{"name": "web", "version": "3"}, "web", 3},
		{"sh.helm.release.v1.web.v3", nil, "web", 3},
		{"sh.helm.release.v1.my.v2.app.v12", map[string]string{"owner": "helm"}, "my.v2.app", 12},
		{"sh.helm.release.v1.web.v3", map[string]string{"name": "web", "version": "x"}, "web", 3},
		{"something-else", nil, "something-else", 0},
		{"something-else", map[string]string{"name": "web"}, "web", 0},
	} {
		name, rev := identify(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: tt.name, Labels: tt.labels}})
		if name != tt.want || rev != tt.rev {
			t.Errorf("identify(%s, %v) = %s, %d; want %s, %d", tt.name, tt.labels, name, rev, tt.want, tt.rev)
		}
	}
}

func TestCollectEmptyNamespace(t *testing.T) {
	releases := collect(t)
	if releases == nil || len(releases) != 0 {
		t.Errorf("releases = %#v, want an empty map", releases)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCollectNamespaceBudget: many releases that are each within the
// limits, but together decode to over MaxDecodedTotal, fail past the budget
// (the same ones every time) rather than growing memory without bound.
func TestCollectNamespaceBudget(t *testing.T) {
	r := release("big", rev{1, rcommon.StatusDeployed, "Install complete", 0, "1.0.0", "1",
		map[string]any{"pad": strings.Repeat("x", 7<<20)}, ""})
	payload := encode(t, r)
	var objs []client.Object
	for i := 0; i < 12; i++ {
		objs = append(objs, secret(fmt.Sprintf("big-%02d", i), 1, rcommon.StatusDeployed, payload))
	}
	releases := collect(t, objs...)
	var failed []string
	for name, rel := range releases {
		if msg, ok := rel.(map[string]any)["error"].(string); ok {
			if !strings.Contains(msg, "decode to over 64 MiB (limit)") {
				t.Errorf("%s: error %q", name, msg)
			}
			failed = append(failed, name)
		}
	}
	slices.Sort(failed)
	// 7 MiB each: big-00..big-09 fit (the 10th starts with budget left).
	if want := []string{"big-10", "big-11"}; !reflect.DeepEqual(failed, want) {
		t.Errorf("failed releases %v, want %v", failed, want)
	}
}

// TestDecoderReuse: Collect reuses one decoder for all Secrets; a failure
// (bad header, bomb, truncation) must not leak into the next decode.
func TestDecoderReuse(t *testing.T) {
	good := encode(t, release("web", webRevisions[2]))
	var d decoder
	for i, payload := range [][]byte{
		good,
		b64([]byte{0x1f, 0x8b, 0x08, 0xff, 0, 0, 0, 0, 0, 0}),
		good,
		b64(gzipBomb(t, 16<<20)),
		good,
		b64(gz(t, []byte(`{"name":"x"}`))[:15]),
		good,
		b64([]byte(`{"name":"web","info":{},"chart":{"metadata":{}}}`)),
		good,
	} {
		rls, _, err := d.decode(payload)
		if i%2 == 0 {
			if err != nil || rls.Version != 3 || rls.Info.Description != "Rollback to 1" {
				t.Fatalf("decode %d after a failure: %v, %+v", i, err, rls)
			}
		} else if i != 7 && err == nil {
			t.Fatalf("decode %d: want an error", i)
		}
	}
}
