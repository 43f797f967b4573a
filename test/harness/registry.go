package harness

import (
	"context"
	"os"

	"github.com/handson-dev/rotation-operator/internal/registry"
)

// StartLabRegistry starts the lab image registry as the embedded mode runs
// it, with a fresh key and its storage in a temporary directory. stop shuts
// it down and removes its storage.
func StartLabRegistry(ctx context.Context) (reg *registry.Server, stop func(), err error) {
	key, err := registry.NewKey()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "rotation-registry-")
	if err != nil {
		return nil, nil, err
	}
	reg, err = registry.New(registry.Options{Dir: dir, Key: key})
	if err == nil {
		err = reg.Start(ctx)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return reg, func() {
		_ = reg.Stop(context.Background())
		_ = os.RemoveAll(dir)
	}, nil
}
