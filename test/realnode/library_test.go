package realnode_test

import (
	"archive/tar"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// TestBuildFromTheOfflineBase: with no internet, a learner builds an
// image FROM the registry's library base (pulled with the lab's own
// credentials), adds a static binary as a layer, as `buildah from` +
// `copy` + `commit` would, pushes it to the lab, and the node runs it.
// The base stays read-only: the lab cannot push over it.
func TestBuildFromTheOfflineBase(t *testing.T) {
	l := provision(t, "builder")
	out := l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}")
	user, pass := dockerConfigAuth(t, out, regCfg.Host)
	auth := remote.WithAuth(&authn.Basic{Username: user, Password: pass})

	baseRef, err := name.ParseReference(regCfg.LibraryRepository("static")+":nonroot", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(baseRef, auth)
	if err != nil {
		t.Fatalf("pulling the offline base as the lab: %v", err)
	}
	// The learner's program: the web binary, taken from the project's image
	// as a learner would take their own go build output.
	imgs, err := labimages.Build(context.Background(), labimages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var program []byte
	for _, i := range imgs {
		if i.Ref == labimages.Web10 {
			program = fileFromImage(t, i, "web")
		}
	}
	layer, err := labimages.Layer([]labimages.File{{Name: "app", Mode: 0o755, UID: labimages.UID, GID: labimages.GID, Data: program}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.Entrypoint = []string{"/app"}
	cfg.Env = append(cfg.Env, "GREETING=built from the offline base")
	if app, err = mutate.Config(app, cfg); err != nil {
		t.Fatal(err)
	}
	appRef, err := name.ParseReference(regCfg.Repository(l.ns, "app")+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(appRef, app, auth); err != nil {
		t.Fatalf("pushing the learner's image: %v", err)
	}
	if err := remote.Write(baseRef, app, auth); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("the lab pushed over the library base: %v", err)
	}

	l.apply(strings.Replace(strings.Replace(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      imagePullSecrets: [{name: SECRET}]
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: IMAGE
        readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 1}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`, "SECRET", lab.RegistrySecret, 1), "IMAGE", appRef.String(), 1))
	l.must("rollout", "status", "deployment/app", "--timeout=90s")
	l.execUntil("built from the offline base", "app", "/app", "get", "http://127.0.0.1:8080/")
}

// fileFromImage reads one file of an image's flattened file system.
func fileFromImage(t *testing.T, img labimages.Image, path string) []byte {
	t.Helper()
	rc := mutate.Extract(img.Image)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", img.Ref, path, err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
