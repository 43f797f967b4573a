package helm

import (
	"context"
	"fmt"
	"testing"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// benchSecrets is a namespace with 20 releases of 10 revisions each, every
// revision with a ~20 KB rendered manifest, its chart and user values.
func benchSecrets(b *testing.B) []client.Object {
	var objs []client.Object
	for r := 0; r < 20; r++ {
		name := fmt.Sprintf("app-%02d", r)
		for v := 1; v <= 10; v++ {
			status := rcommon.StatusSuperseded
			if v == 10 {
				status = rcommon.StatusDeployed
			}
			objs = append(objs, releaseSecret(b, name, rev{v, status, "Upgrade complete", 0,
				fmt.Sprintf("1.%d.0", v), fmt.Sprintf("1.27.%d", v),
				map[string]any{"replicaCount": v, "image": map[string]any{"tag": fmt.Sprintf("1.27.%d", v)},
					"service": map[string]any{"port": 8080}},
				bigManifest(name, v, fmt.Sprintf("1.27.%d", v), 20<<10)}))
		}
	}
	return objs
}

// staticReader returns prepared Secrets, leaving out the fake client's own
// cost (deep copies, selector matching) to measure decoding alone.
type staticReader struct {
	client.Reader
	items []corev1.Secret
}

func (r staticReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*corev1.SecretList).Items = r.items
	return nil
}

func BenchmarkCollect20Releases10Revisions(b *testing.B) {
	objs := benchSecrets(b)
	items := make([]corev1.Secret, len(objs))
	for i, o := range objs {
		items[i] = *o.(*corev1.Secret)
	}
	_, size, err := decodeRelease(items[0].Data["release"])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d secrets, each %d KB of release data, %d KB of JSON (manifest %d KB)",
		len(items), len(items[0].Data["release"])>>10, size>>10, len(bigManifest("app-00", 1, "1.27.1", 20<<10))>>10)
	for _, bc := range []struct {
		name   string
		reader client.Reader
	}{
		{"fakeclient", fakeReader(objs...)},
		{"decodeonly", staticReader{items: items}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := &Collector{Reader: bc.reader}
			b.ReportAllocs()
			for b.Loop() {
				facts, err := c.Collect(context.Background(), ns)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(facts[FactReleases].(map[string]any)); n != 20 {
					b.Fatalf("%d releases", n)
				}
			}
		})
	}
}
