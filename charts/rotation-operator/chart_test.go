// Package rotationoperator_test tests the Helm chart with the Helm SDK:
// helm lint, helm template with the chart's values, values.schema.json
// refusing bad values, and the templates generated from config/
// (generate_test.go).
package rotationoperator_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// required are the values without which the chart does not install: the
// registry's address.
func required() map[string]any {
	return map[string]any{"registry": map[string]any{"host": "10.0.0.5:30500"}}
}

func load(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// template is helm template: the manifest, or the error.
func template(t testing.TB, vals map[string]any) (string, error) {
	t.Helper()
	cfg := action.NewConfiguration()
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = "rotation"
	install.Namespace = "rotation-system"
	rel, err := install.Run(load(t), vals)
	if err != nil {
		return "", err
	}
	return rel.(*release.Release).Manifest, nil
}

func objects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("the rendered chart is not YAML: %v", err)
		}
		if m != nil {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func deployment(t testing.TB, objs []*unstructured.Unstructured, name string) *appsv1.Deployment {
	t.Helper()
	u := find(objs, "Deployment", name)
	if u == nil {
		t.Fatalf("no Deployment %s", name)
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestLint(t *testing.T) {
	lint := action.NewLint()
	lint.Strict = true
	lint.Namespace = "rotation-system"
	res := lint.Run([]string{chartDir(t)}, required())
	for _, m := range res.Messages {
		t.Logf("lint: %s", m)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("helm lint --strict: %v", res.Errors)
	}
}

// TestTemplateDefaults: with only the registry's address, the chart
// installs what make deploy does: CRDs, RBAC, policies, 2 leader-elected
// operator pods using the registry, the registry, metrics.
func TestTemplateDefaults(t *testing.T) {
	m, err := template(t, required())
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, m)
	for _, want := range [][2]string{
		{"CustomResourceDefinition", "learningrotations.rotations.handson.dev"},
		{"CustomResourceDefinition", "exercises.rotations.handson.dev"},
		{"ClusterRole", "rotation-operator"},
		{"ClusterRoleBinding", "rotation-operator"},
		{"ServiceAccount", "rotation-operator"},
		{"Role", "rotation-operator-leader-election"},
		{"ValidatingAdmissionPolicy", "rotation-operator-lab-guard"},
		{"ValidatingAdmissionPolicyBinding", "rotation-operator-namespace-guard"},
		{"Deployment", "lab-registry"},
		{"Service", "lab-registry"},
		{"PersistentVolumeClaim", "lab-registry"},
		{"Service", "rotation-operator-metrics"},
	} {
		if find(objs, want[0], want[1]) == nil {
			t.Errorf("no %s %s", want[0], want[1])
		}
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != "rotation-system" {
			t.Errorf("%s %s in namespace %s, not the release's", o.GetKind(), o.GetName(), ns)
		}
	}
	d := deployment(t, objs, "rotation-operator")
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d", *d.Spec.Replicas)
	}
	args := d.Spec.Template.Spec.Containers[0].Args
	for _, want := range []string{"--leader-elect", "--registry-host=10.0.0.5:30500", "--registry-key-file=/run/lab-registry/key", "--terraform-executor=auto", "--metrics-bind-address=:8080"} {
		if !slices.Contains(args, want) {
			t.Errorf("operator args %q lack %s", args, want)
		}
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/handson-dev/rotation-operator:latest" {
		t.Errorf("image %s", img)
	}
	if len(d.Spec.Template.Spec.InitContainers) != 1 {
		t.Error("no lab-registry bootstrap init container")
	}
	reg := deployment(t, objs, "lab-registry")
	if a := reg.Spec.Template.Spec.Containers[0].Args; !slices.Contains(a, "--host=10.0.0.5:30500") {
		t.Errorf("registry args %q", a)
	}
	crd := find(objs, "CustomResourceDefinition", "learningrotations.rotations.handson.dev")
	if _, keep := crd.GetAnnotations()["helm.sh/resource-policy"]; keep {
		t.Error("CRDs kept on uninstall by default")
	}
}

// TestTemplateValues: each value lands where it should.
func TestTemplateValues(t *testing.T) {
	m, err := template(t, map[string]any{
		"image":            map[string]any{"repository": "registry.example.com/ops/rotation-operator", "digest": "sha256:" + strings.Repeat("ab", 32)},
		"replicas":         3,
		"resources":        map[string]any{"limits": map[string]any{"cpu": "2", "memory": "1Gi"}},
		"learnerAPIServer": "https://k8s.example.com:6443",
		"terraform":        map[string]any{"executor": "job", "maxConcurrent": 8},
		"metrics":          map[string]any{"enabled": false},
		"crds":             map[string]any{"keep": true},
		"registry": map[string]any{"host": "registry.example.com", "prefix": "labs", "nodePort": 31000,
			"tls": map[string]any{"existingSecret": "my-cert"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, m)
	d := deployment(t, objs, "rotation-operator")
	c := d.Spec.Template.Spec.Containers[0]
	if *d.Spec.Replicas != 3 || c.Image != "registry.example.com/ops/rotation-operator@sha256:"+strings.Repeat("ab", 32) || c.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("replicas %d image %s limits %v", *d.Spec.Replicas, c.Image, c.Resources.Limits)
	}
	for _, want := range []string{"--learner-api-server=https://k8s.example.com:6443", "--terraform-executor=job", "--terraform-max-concurrent=8", "--metrics-bind-address=0", "--registry-host=registry.example.com", "--registry-prefix=labs"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("operator args %q lack %s", c.Args, want)
		}
	}
	if find(objs, "Service", "rotation-operator-metrics") != nil {
		t.Error("metrics Service with metrics.enabled=false")
	}
	reg := deployment(t, objs, "lab-registry")
	if a := reg.Spec.Template.Spec.Containers[0].Args; !slices.Contains(a, "--tls-cert-file=/etc/lab-registry-tls/tls.crt") || !slices.Contains(a, "--prefix=labs") {
		t.Errorf("registry args %q", a)
	}
	crd := find(objs, "CustomResourceDefinition", "exercises.rotations.handson.dev")
	if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Error("crds.keep=true does not keep the CRDs")
	}

	// Without the registry: no registry objects, no registry flags.
	m, err = template(t, map[string]any{"registry": map[string]any{"enabled": false}, "crds": map[string]any{"install": false}})
	if err != nil {
		t.Fatal(err)
	}
	objs = objects(t, m)
	if find(objs, "Deployment", "lab-registry") != nil || find(objs, "CustomResourceDefinition", "exercises.rotations.handson.dev") != nil {
		t.Error("registry.enabled=false or crds.install=false still installs them")
	}
	for _, a := range deployment(t, objs, "rotation-operator").Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--registry") {
			t.Errorf("operator arg %s without a registry", a)
		}
	}
}

// TestSchemaRejectsBadValues: values.schema.json refuses each of these,
// saying which value.
func TestSchemaRejectsBadValues(t *testing.T) {
	with := func(k string, v any) map[string]any {
		vals := required()
		vals[k] = v
		return vals
	}
	reg := func(k string, v any) map[string]any {
		return map[string]any{"registry": map[string]any{"host": "10.0.0.5:30500", k: v}}
	}
	for name, tc := range map[string]struct {
		vals map[string]any
		says string
	}{
		"no registry host":           {map[string]any{}, "host"},
		"registry host with a path":  {reg("host", "registry.example.com/labs"), "host"},
		"replicas zero":              {with("replicas", 0), "replicas"},
		"replicas as a string":       {with("replicas", "two"), "replicas"},
		"two replicas, no election":  {map[string]any{"registry": map[string]any{"host": "h:1"}, "leaderElection": false}, "leaderElection"},
		"unknown executor":           {with("terraform", map[string]any{"executor": "docker"}), "executor"},
		"learner API over http":      {with("learnerAPIServer", "http://k8s.example.com"), "learnerAPIServer"},
		"image tag with a space":     {with("image", map[string]any{"repository": "x/y", "tag": "v 1"}), "tag"},
		"image digest not sha256":    {with("image", map[string]any{"repository": "x/y", "digest": "md5:abc"}), "digest"},
		"nodePort out of range":      {reg("nodePort", 80), "nodePort"},
		"memory not a quantity":      {with("resources", map[string]any{"limits": map[string]any{"memory": "lots"}}), "memory"},
		"a misspelled value":         {with("replica", 2), "replica"},
		"extra arg not a flag":       {with("extraArgs", []any{"rm -rf"}), "extraArgs"},
		"storage size not quantity":  {reg("storage", map[string]any{"size": "big"}), "size"},
		"prefix with capital":        {reg("prefix", "Labs"), "prefix"},
		"pull policy unknown":        {with("image", map[string]any{"repository": "x/y", "pullPolicy": "Sometimes"}), "pullPolicy"},
		"crds.install not a boolean": {with("crds", map[string]any{"install": "yes"}), "install"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := template(t, tc.vals)
			if err == nil {
				t.Fatalf("accepted %v", tc.vals)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error does not name %s: %v", tc.says, err)
			}
		})
	}
}

// TestTemplateRegistryExistingSecret: with registry.tls.existingSecret the
// registry serves the Secret's certificate and the operator trusts its
// ca.crt when it reads the registry; without it both use the self-signed
// CA the lab-registry bootstrap keeps.
func TestTemplateRegistryExistingSecret(t *testing.T) {
	for _, tc := range []struct {
		secret, caFile string
	}{
		{"my-cert", "/etc/lab-registry-tls/ca.crt"},
		{"", "/run/lab-registry/ca.crt"},
	} {
		t.Run("existingSecret="+tc.secret, func(t *testing.T) {
			vals := required()
			vals["registry"].(map[string]any)["tls"] = map[string]any{"existingSecret": tc.secret}
			m, err := template(t, vals)
			if err != nil {
				t.Fatal(err)
			}
			objs := objects(t, m)

			reg := deployment(t, objs, "lab-registry").Spec.Template.Spec
			args := reg.Containers[0].Args
			served := slices.Contains(args, "--tls-cert-file=/etc/lab-registry-tls/tls.crt") && slices.Contains(args, "--tls-key-file=/etc/lab-registry-tls/tls.key")
			if served != (tc.secret != "") {
				t.Errorf("registry args %q", args)
			}
			if got := secretVolumes(reg.Volumes); tc.secret != "" && !slices.Contains(got, tc.secret) || tc.secret == "" && len(got) > 0 {
				t.Errorf("registry mounts the Secrets %q", got)
			}
			if tc.secret != "" && !slices.ContainsFunc(reg.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.MountPath == "/etc/lab-registry-tls" && m.ReadOnly
			}) {
				t.Errorf("registry volume mounts %+v lack /etc/lab-registry-tls", reg.Containers[0].VolumeMounts)
			}

			op := deployment(t, objs, "rotation-operator").Spec.Template.Spec
			var caFile string
			for _, e := range op.Containers[0].Env {
				if e.Name == "SSL_CERT_FILE" {
					caFile = e.Value
				}
			}
			if caFile != tc.caFile {
				t.Errorf("the operator trusts %q, want %q", caFile, tc.caFile)
			}
			if got := secretVolumes(op.Volumes); tc.secret != "" && !slices.Contains(got, tc.secret) || tc.secret == "" && len(got) > 0 {
				t.Errorf("the operator mounts the Secrets %q", got)
			}
			for _, v := range op.Volumes {
				if v.Secret != nil && (len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "ca.crt") {
					t.Errorf("the operator mounts more of %s than its ca.crt: %+v", v.Secret.SecretName, v.Secret.Items)
				}
			}
		})
	}
	_, err := template(t, map[string]any{"registry": map[string]any{"host": "h:1", "tls": map[string]any{"existingSecret": "My_Cert"}}})
	if err == nil || !strings.Contains(err.Error(), "existingSecret") {
		t.Errorf("an existingSecret that is no Secret name: %v", err)
	}
}

func secretVolumes(vols []corev1.Volume) []string {
	var out []string
	for _, v := range vols {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
	}
	return out
}
