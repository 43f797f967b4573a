package localcluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Apply server-side-applies the objects of YAML files to a running
// cluster, as Options.Manifests does at start: for add-ons that only some
// tests install (Tekton), so the others do not pay for them.
func (c *Cluster) Apply(ctx context.Context, timeout time.Duration, paths ...string) error {
	return applyManifests(ctx, c.Config, paths, timeout)
}

// ImportImages imports image archives (as Options.NodeImages) into the real
// node's containerd while it runs: pods started afterwards find them
// without pulling.
func (c *Cluster) ImportImages(archives ...string) error {
	if c.node == nil {
		return errors.New("importing images needs the real node")
	}
	for _, a := range archives {
		if err := c.node.ctr("images", "import", a); err != nil {
			return fmt.Errorf("importing %s into containerd: %w", a, err)
		}
	}
	return nil
}
