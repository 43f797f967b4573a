package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fieldOwner is the server-side-apply field manager for extra manifests.
const fieldOwner = "localcluster"

// readManifests decodes every object of the given multi-document YAML (or
// JSON) files, in order.
func readManifests(paths []string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			u := &unstructured.Unstructured{}
			err := dec.Decode(&u.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(u.Object) == 0 { // empty document between ---
				continue
			}
			objs = append(objs, u)
		}
		_ = f.Close()
	}
	return objs, nil
}

// applyManifests server-side-applies the objects of the given files. Any kind
// works (RBAC, ValidatingAdmissionPolicy, CRDs and their CRs, ...): objects
// whose kind the apiserver does not know yet, e.g. a CR whose CRD in an
// earlier document is not established, are retried until timeout.
func applyManifests(ctx context.Context, cfg *rest.Config, paths []string, timeout time.Duration) error {
	pending, err := readManifests(paths)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		// A fresh client per round: its REST mapper then re-discovers kinds
		// that CRDs applied in the previous round added.
		c, err := client.New(cfg, client.Options{})
		if err != nil {
			return err
		}
		var retry []*unstructured.Unstructured
		var lastErr error
		for _, u := range pending {
			err := applyOne(ctx, c, u)
			switch {
			case err == nil:
			case meta.IsNoMatchError(err):
				retry, lastErr = append(retry, u), err
			default:
				return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
		if len(retry) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("applying manifests: %d objects still unknown to the apiserver after %s: %w", len(retry), timeout, lastErr)
		}
		pending = retry
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func applyOne(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	namespaced, err := c.IsObjectNamespaced(u)
	if err != nil {
		return err
	}
	if namespaced && u.GetNamespace() == "" {
		u.SetNamespace("default") // as kubectl apply does
	}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership)
}
