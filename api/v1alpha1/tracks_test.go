package v1alpha1

import (
	"os"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestTracksMatchTheEnum: Tracks, which metrics loop over, lists exactly the
// tracks the CRD admits.
func TestTracksMatchTheEnum(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/rotations.handson.dev_exercises.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(raw, crd); err != nil {
		t.Fatal(err)
	}
	var enum []Track
	for _, e := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["track"].Enum {
		var tr Track
		if err := yaml.Unmarshal(e.Raw, &tr); err != nil {
			t.Fatal(err)
		}
		enum = append(enum, tr)
	}
	if !slices.Equal(enum, Tracks) {
		t.Errorf("CRD enum %v, Tracks %v", enum, Tracks)
	}
}
