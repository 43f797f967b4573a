package lab

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// ValidateStarter checks what admission cannot about an exercise's starter
// objects: each is a whole object with a kind and a name, and no namespace,
// since the operator places it in the lab.
func ValidateStarter(objs []rotationsv1.StarterObject) error {
	var errs []error
	for i, raw := range objs {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			errs = append(errs, fmt.Errorf("spec.starter.objects[%d]: %w", i, err))
			continue
		}
		switch {
		case u.GetName() == "":
			errs = append(errs, fmt.Errorf("spec.starter.objects[%d]: %s has no metadata.name", i, u.GetKind()))
		case u.GetNamespace() != "":
			errs = append(errs, fmt.Errorf("spec.starter.objects[%d]: %s %s sets metadata.namespace; leave it out, the operator sets the lab's", i, u.GetKind(), u.GetName()))
		}
	}
	return errors.Join(errs...)
}
