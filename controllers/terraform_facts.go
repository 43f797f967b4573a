package controllers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// TerraformFacts gives Terraform exercises their facts by running the
// learner's submitted configuration through the sandboxed runner (init,
// validate, fmt, plan, show; never apply), as the learner.
type TerraformFacts struct {
	// Collector runs and caches; nil means this operator cannot run
	// terraform, which the facts say.
	Collector *tf.Collector
	// Reader reads the state Secret's metadata, so a learner's apply is
	// graded at once rather than after the collector's cache TTL.
	Reader client.Reader
}

// Collect grades the exercise's submission.
func (t TerraformFacts) Collect(ctx context.Context, in SubmissionInput) (map[string]any, error) {
	if t.Collector == nil {
		return map[string]any{tf.FactError: "this operator has no terraform runner configured (--terraform-mirror): Terraform exercises cannot be graded here"}, nil
	}
	state := &metav1.PartialObjectMetadata{}
	state.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	// The kubernetes backend's state Secret, by the track's convention
	// secret_suffix = <exercise> in the default workspace.
	err := t.Reader.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: terraformStateSecret(in.Exercise)}, state)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	facts, err := t.Collector.Collect(ctx, tf.Request{
		Namespace: in.Namespace, Exercise: in.Exercise, Files: in.Submission.Files,
		KubeconfigFunc: in.Kubeconfig, StateVersion: state.ResourceVersion,
	})
	if errors.Is(err, tf.ErrPending) {
		return nil, ErrGradingPending
	}
	return facts, err
}
