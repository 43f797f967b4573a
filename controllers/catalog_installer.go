package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/apply"
)

// CatalogInstaller installs the built-in exercises embedded in the binary
// as Exercise objects, once the manager is leader. It updates built-ins
// from an older release, and never touches an Exercise of the same name
// that a user wrote (one without the built-in label).
type CatalogInstaller struct {
	Client    client.Client
	APIReader client.Reader
	Catalog   func() ([]rotationsv1.Exercise, error)
}

// NeedLeaderElection makes only the leader install the catalog.
func (c *CatalogInstaller) NeedLeaderElection() bool { return true }

// Start installs the catalog and returns; the manager keeps running.
func (c *CatalogInstaller) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("catalog")
	exercises, err := c.Catalog()
	if err != nil {
		return fmt.Errorf("loading the built-in catalog: %w", err)
	}
	applier := &apply.Applier{Client: c.Client, FieldOwner: FieldOwner}
	installed := 0
	for i := range exercises {
		ex := &exercises[i]
		existing := &metav1.PartialObjectMetadata{}
		existing.SetGroupVersionKind(rotationsv1.GroupVersion.WithKind("Exercise"))
		err := c.APIReader.Get(ctx, client.ObjectKeyFromObject(ex), existing)
		switch {
		case err == nil && existing.Labels[rotationsv1.LabelBuiltin] != "true":
			log.Info("keeping a user-written Exercise that has the name of a built-in one", "exercise", ex.Name)
			continue
		case err != nil && !apierrors.IsNotFound(err):
			return err
		}
		ex.TypeMeta = metav1.TypeMeta{APIVersion: rotationsv1.GroupVersion.String(), Kind: "Exercise"}
		wrote, err := applier.Apply(ctx, ex)
		if err != nil {
			return err
		}
		if wrote {
			installed++
		}
	}
	log.Info("built-in catalog in place", "exercises", len(exercises), "written", installed)
	return nil
}
