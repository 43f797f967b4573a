package cicd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FactConfigMaps are the lab's ConfigMaps as a pipeline's source: name ->
// {files: file name -> sha256 of its content}. The operator's own
// (exercise-<name>, the starter app) are in it, unlike in kube.configmaps,
// so a check can tell that the copy a run tested keeps a planted file:
// cicd.configmaps[?src].files['main_test.go'] ==
// cicd.configmaps['exercise-cicd-gate'].files['main_test.go']. Digests,
// not text: facts are kept and hashed every pass, and a lab's ConfigMaps
// may hold up to 1 MiB each.
const FactConfigMaps = "configmaps"

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// configMaps lists the lab's ConfigMaps as FactConfigMaps.
func (c *Collector) configMaps(ctx context.Context, namespace string) (map[string]any, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMapList"})
	err := c.Reader.List(ctx, list, client.InNamespace(namespace))
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return map[string]any{}, nil
	case err != nil:
		return nil, fmt.Errorf("listing configmaps in %s: %w", namespace, err)
	}
	out := make(map[string]any, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].GetName()] = configMap(&list.Items[i])
	}
	return out, nil
}

// configMap is one ConfigMap's fact: each key of data and binaryData
// (its base64 text) with the sha256 of its value, in hex.
func configMap(u *unstructured.Unstructured) map[string]any {
	files := map[string]any{}
	for _, field := range []string{"data", "binaryData"} {
		for k, v := range mapAt(u.Object, field) {
			sum := sha256.Sum256([]byte(str(v)))
			files[k] = hex.EncodeToString(sum[:])
		}
	}
	return map[string]any{"files": files}
}
