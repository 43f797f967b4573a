// Package v1alpha1 contains the rotations.handson.dev/v1alpha1 API: LearningRotation
// (a learner's lab and grades) and Exercise (a graded task in the catalog).
//
// +kubebuilder:object:generate=true
// +groupName=rotations.handson.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "rotations.handson.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this group-version to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
