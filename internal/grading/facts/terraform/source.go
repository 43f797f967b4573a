package terraform

import (
	"context"
	"errors"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Variable is the CEL variable of the facts of an exercise's Terraform
// submission: terraform.valid, terraform.resources['kubernetes_config_map_v1.app'].
const Variable = "terraform"

// StateSecret names the Secret an exercise's Terraform state is kept in, by
// the track's convention: the kubernetes backend with workspace "default"
// and secret_suffix = <exercise>.
func StateSecret(exercise string) string { return stateSecretPrefix + exercise }

// stateSecretPrefix is the kubernetes backend's, for workspace "default".
const stateSecretPrefix = "tfstate-default-"

// LockLease names the Lease that locks the state of StateSecret.
func LockLease(exercise string) string { return "lock-tfstate-default-" + exercise }

// Source grades Terraform submissions by running them through the sandboxed
// runner (init, validate, fmt, plan, show; never apply), as the learner. A
// reset deletes what the exercise's state manages, and the state and its lock.
type Source struct {
	// Collector runs and caches; nil means this operator cannot run
	// terraform, which the facts say.
	Collector *Collector
	// Reader reads the state Secret's metadata, so a learner's apply is
	// graded at once rather than after the collector's cache TTL.
	Reader client.Reader
}

// NewSource grades with c (nil: not here), reading labs through reader.
func NewSource(c *Collector, reader client.Reader) Source {
	return Source{Collector: c, Reader: reader}
}

// Variable is "terraform".
func (Source) Variable() string { return Variable }

// Type is a map of the facts by name.
func (Source) Type() *cel.Type { return cel.MapType(cel.StringType, cel.DynType) }

// Facts are the Terraform facts' names.
func (Source) Facts() []string { return Facts() }

// ReadsSubmission is true: each exercise's submission is run on its own.
func (Source) ReadsSubmission() bool { return true }

// NeedsSubmission is true: every fact comes from running the submission.
func (Source) NeedsSubmission([]string) bool { return true }

// Collect grades the exercise's submission.
func (s Source) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	if s.Collector == nil {
		return map[string]any{FactError: "this operator has no terraform runner configured (--terraform-mirror): Terraform exercises cannot be graded here"}, nil
	}
	state := &metav1.PartialObjectMetadata{}
	state.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := s.Reader.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: StateSecret(req.Exercise)}, state)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	facts, err := s.Collector.Collect(ctx, Request{
		Namespace: req.Namespace, Exercise: req.Exercise, Files: req.Submission.Files,
		KubeconfigFunc: req.Kubeconfig, StateVersion: state.ResourceVersion,
	})
	if errors.Is(err, ErrPending) {
		return nil, factsource.ErrPending
	}
	if err != nil {
		return facts, err
	}
	return facts, s.checkStateWriter(ctx, req.Namespace, facts)
}

// checkStateWriter marks the resources of facts hand-written when the
// state Secret the submission's backend read was not written by Terraform
// (state_writer.go). It is read after the run: the writer of the state the
// run saw, not of the one before.
func (s Source) checkStateWriter(ctx context.Context, namespace string, facts map[string]any) error {
	resources, _ := facts[FactResources].(map[string]any)
	backend, _ := facts[FactBackend].(map[string]any)
	suffix, _ := backend["secretSuffix"].(string)
	if len(resources) == 0 || backend["type"] != "kubernetes" || suffix == "" {
		return nil
	}
	name := stateSecretPrefix + suffix
	state := &metav1.PartialObjectMetadata{}
	state.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	switch err := s.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, state); {
	case apierrors.IsNotFound(err):
		return nil // deleted since: the next pass grades that
	case err != nil:
		return err
	}
	if why := stateHandWritten(name, state.GetManagedFields()); why != "" {
		markHandWritten(facts, why)
	}
	return nil
}

// ResetTargets lists the objects the exercise's state manages (read as the
// learner), with the state and its lock, so the learner's next apply starts
// from nothing instead of failing on objects that already exist. Every
// exercise is looked at: a learner may have used Terraform for any.
func (Source) ResetTargets(ctx context.Context, req factsource.ResetRequest) (factsource.Targets, error) {
	var out factsource.Targets
	ns := req.Namespace
	stateSecret := &corev1.Secret{}
	err := req.Learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: StateSecret(req.Exercise)}, stateSecret)
	switch {
	case err == nil:
		// A state the learner broke by hand manages nothing we can name;
		// the state itself still goes.
		objs, _ := StateObjects(stateSecret.Data["tfstate"])
		for _, o := range objs {
			if o.Namespace != "" && o.Namespace != ns {
				continue
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(o.GroupVersionKind)
			err := req.Learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.Name}, u)
			switch {
			case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
				continue
			case err != nil:
				return factsource.Targets{}, err
			case u.GetLabels()[rotationsv1.LabelManagedBy] == rotationsv1.ManagedByValue:
				// Lab plumbing the learner imported: not theirs to reset.
				continue
			}
			out.Objects = append(out.Objects, u)
		}
	case !apierrors.IsNotFound(err):
		return factsource.Targets{}, err
	}
	state := &unstructured.Unstructured{}
	state.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Secret"})
	state.SetName(StateSecret(req.Exercise))
	lock := &unstructured.Unstructured{}
	lock.SetGroupVersionKind(schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"})
	lock.SetName(LockLease(req.Exercise))
	out.Objects = append(out.Objects, state, lock)
	return out, nil
}
