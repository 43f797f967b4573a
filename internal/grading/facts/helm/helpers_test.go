package helm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	rspb "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const ns = "lab-a"

// rev describes one revision of a test release.
type rev struct {
	version      int
	status       rcommon.Status
	description  string
	rollbackTo   int
	chartVersion string
	appVersion   string
	values       map[string]any
	manifest     string
}

// webChart is a chart as Helm stores it in a release: metadata, default
// values and templates (subcharts are not stored).
func webChart(version, appVersion string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{
			APIVersion: chart.APIVersionV2, Name: "web", Version: version, AppVersion: appVersion,
			Description: "A web server", Type: "application",
		},
		Values: map[string]any{
			"replicaCount": 1,
			"image":        map[string]any{"repository": "nginx", "tag": appVersion, "pullPolicy": "IfNotPresent"},
			"service":      map[string]any{"type": "ClusterIP", "port": 80},
			"resources":    map[string]any{},
		},
		Templates: []*common.File{
			{Name: "templates/deployment.yaml", Data: []byte("apiVersion: apps/v1\nkind: Deployment\n{{- /* ... */}}\n")},
			{Name: "templates/service.yaml", Data: []byte("apiVersion: v1\nkind: Service\n{{- /* ... */}}\n")},
		},
	}
}

// release builds the SDK's release type for one revision.
func release(name string, r rev) *rspb.Release {
	deployed := time.Date(2026, 3, 1, 10, r.version, 0, 0, time.UTC)
	return &rspb.Release{
		Name:      name,
		Namespace: ns,
		Version:   r.version,
		Info: &rspb.Info{
			FirstDeployed:    deployed,
			LastDeployed:     deployed,
			Status:           r.status,
			Description:      r.description,
			RollbackRevision: r.rollbackTo,
			Notes:            "Thank you for installing web.",
		},
		Chart:    webChart(r.chartVersion, r.appVersion),
		Config:   r.values,
		Manifest: r.manifest,
	}
}

// encode is Helm's Secrets driver encoding (driver.encodeRelease, which is
// unexported): JSON of the SDK type, gzip at best compression, base64.
func encode(t testing.TB, rls *rspb.Release) []byte {
	t.Helper()
	b, err := json.Marshal(rls)
	if err != nil {
		t.Fatal(err)
	}
	return b64(gz(t, b))
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(b []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

// secret wraps a payload the way Helm's Secrets driver does
// (driver.newSecretsObject): name, labels, type, data key "release".
func secret(name string, version int, status rcommon.Status, payload []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, version),
			Namespace: ns,
			Labels: map[string]string{
				"name": name, "owner": "helm", "status": string(status), "version": strconv.Itoa(version),
				"modifiedAt": "1772359200",
			},
		},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": payload},
	}
}

func releaseSecret(t testing.TB, name string, r rev) *corev1.Secret {
	return secret(name, r.version, r.status, encode(t, release(name, r)))
}

func fakeReader(objs ...client.Object) client.Reader {
	return fake.NewClientBuilder().WithObjects(objs...).Build()
}

func collect(t testing.TB, objs ...client.Object) map[string]any {
	t.Helper()
	c := &Collector{Reader: fakeReader(objs...)}
	facts, err := c.Collect(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return facts[FactReleases].(map[string]any)
}

// webManifest is a rendered manifest as Helm stores it: documents separated
// by ---, each with a "# Source:" comment.
func webManifest(name string, replicas int, tag string, port int) string {
	return fmt.Sprintf(`---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: %[1]s
    app.kubernetes.io/managed-by: Helm
spec:
  type: ClusterIP
  ports:
    - port: %[4]d
      targetPort: http
      protocol: TCP
      name: http
  selector:
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: %[1]s
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/instance: %[1]s
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: %[2]d
  selector:
    matchLabels:
      app.kubernetes.io/name: web
      app.kubernetes.io/instance: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
        app.kubernetes.io/instance: %[1]s
    spec:
      containers:
        - name: web
          image: "nginx:%[3]s"
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 80
          resources:
            limits:
              cpu: 500m
              memory: 128Mi
`, name, replicas, tag, port)
}

// bigManifest is webManifest plus ConfigMaps up to about size bytes, for a
// realistic ~20 KB rendered chart.
func bigManifest(name string, replicas int, tag string, size int) string {
	var b strings.Builder
	b.WriteString(webManifest(name, replicas, tag, 80))
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "---\n# Source: web/templates/configmap-%d.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config-%d\n  labels:\n    app.kubernetes.io/instance: %s\ndata:\n", i, name, i, name)
		for k := 0; k < 20; k++ {
			fmt.Fprintf(&b, "  key-%02d: \"value %d of config %d for release %s, some realistic text\"\n", k, k, i, name)
		}
	}
	return b.String()
}
