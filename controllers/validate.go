package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// validateRotation checks what the operator relies on. Admission enforces the
// same rules; this guards against an outdated CRD.
func validateRotation(lr *rotationsv1.LearningRotation) error {
	if errs := validation.IsDNS1123Label(lab.Namespace(lr.Name)); len(errs) > 0 {
		return fmt.Errorf("rotation name %q does not make a valid namespace name %q: %s", lr.Name, lab.Namespace(lr.Name), errs[0])
	}
	if lr.Spec.Learner.Name == "" {
		return fmt.Errorf("spec.learner.name is empty")
	}
	if d := lr.Spec.Schedule.Duration; d != nil && d.Duration <= 0 {
		return fmt.Errorf("spec.schedule.duration %s is not positive", d.Duration)
	}
	return nil
}
