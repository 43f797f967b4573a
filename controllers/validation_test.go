package controllers_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// rotationYAML parses a LearningRotation written as a mentor would.
func rotationYAML(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte("apiVersion: rotations.handson.dev/v1alpha1\nkind: LearningRotation\n"+s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestInvalidSpecsAreRejectedAtAdmission(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"name with a dot", "metadata: {name: a.b}\nspec: {learner: {name: x}}",
			"metadata.name must be a lowercase DNS label"},
		{"name too long for lab-<name>", "metadata: {name: " + strings.Repeat("a", 60) + "}\nspec: {learner: {name: x}}",
			"at most 59 characters"},
		{"uppercase name", "metadata: {name: Alice}\nspec: {learner: {name: x}}",
			"RFC 1123"},
		{"no learner", "metadata: {name: v-nolearner}\nspec: {}",
			"spec.learner: Required value"},
		{"empty learner", "metadata: {name: v-empty}\nspec: {learner: {name: ''}}",
			"spec.learner.name: Invalid value: \"\": spec.learner.name in body should be at least 1 chars long"},
		{"system learner", "metadata: {name: v-system}\nspec: {learner: {kind: Group, name: 'system:authenticated'}}",
			"name must not be a system: identity"},
		{"learner kind", "metadata: {name: v-kind}\nspec: {learner: {kind: ServiceAccount, name: x}}",
			`Unsupported value: "ServiceAccount"`},
		{"duplicate exercises", "metadata: {name: v-dup}\nspec: {learner: {name: x}, exercises: {names: [scale-web, scale-web]}}",
			`spec.exercises.names[1]: Duplicate value: "scale-web"`},
		{"bad exercise name", "metadata: {name: v-exname}\nspec: {learner: {name: x}, exercises: {names: ['Scale Web']}}",
			"exercise names are lowercase DNS labels"},
		{"unknown track", "metadata: {name: v-track}\nspec: {learner: {name: x}, exercises: {tracks: [cooking]}}",
			`Unsupported value: "cooking"`},
		{"negative duration", "metadata: {name: v-neg}\nspec: {learner: {name: x}, schedule: {duration: -24h}}",
			"duration must not be negative"},
		{"zero duration", "metadata: {name: v-zero}\nspec: {learner: {name: x}, schedule: {duration: 0s}}",
			"duration must be a positive Go duration"},
		{"garbage duration", "metadata: {name: v-garbage}\nspec: {learner: {name: x}, schedule: {duration: two weeks}}",
			"duration must be a positive Go duration"},
		{"negative retention", "metadata: {name: v-ret}\nspec: {learner: {name: x}, schedule: {retention: -1h}}",
			"retention must not be negative"},
		{"unknown size", "metadata: {name: v-size}\nspec: {learner: {name: x}, size: huge}",
			`Unsupported value: "huge"`},
		{"too many mentors", "metadata: {name: v-mentors}\nspec: {learner: {name: x}, mentors: [" + strings.Repeat("{name: m},", 21) + "]}",
			"Too many: 21: must have at most 20 items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := admin.Create(context.Background(), rotationYAML(t, c.yaml))
			if err == nil {
				t.Fatal("accepted, want rejected")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("message %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestLearnerIsImmutable(t *testing.T) {
	ctx := context.Background()
	lr := createRotation(t, testutil.Rotation("immut").Obj())
	lr.Spec.Learner.Name = "someone-else@example.com"
	err := admin.Update(ctx, lr)
	if err == nil || !strings.Contains(err.Error(), "learner is immutable; create a new LearningRotation for another learner") {
		t.Fatalf("changing the learner: err = %v", err)
	}
}
