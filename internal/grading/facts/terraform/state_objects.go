package terraform

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// StateObject is a Kubernetes object a Terraform state manages.
type StateObject struct {
	schema.GroupVersionKind
	Namespace, Name string
}

// stateKinds maps the kubernetes provider's resource types (without their
// _v1/_v2 suffix) to the kinds they create. Types that only change objects
// made elsewhere (kubernetes_config_map_v1_data, kubernetes_labels,
// kubernetes_annotations, kubernetes_env, ...) are absent on purpose: the
// object is not theirs to delete.
var stateKinds = map[string]schema.GroupVersionKind{
	"kubernetes_config_map":                {Version: "v1", Kind: "ConfigMap"},
	"kubernetes_secret":                    {Version: "v1", Kind: "Secret"},
	"kubernetes_service":                   {Version: "v1", Kind: "Service"},
	"kubernetes_service_account":           {Version: "v1", Kind: "ServiceAccount"},
	"kubernetes_persistent_volume_claim":   {Version: "v1", Kind: "PersistentVolumeClaim"},
	"kubernetes_pod":                       {Version: "v1", Kind: "Pod"},
	"kubernetes_deployment":                {Group: "apps", Version: "v1", Kind: "Deployment"},
	"kubernetes_stateful_set":              {Group: "apps", Version: "v1", Kind: "StatefulSet"},
	"kubernetes_daemon_set":                {Group: "apps", Version: "v1", Kind: "DaemonSet"},
	"kubernetes_daemonset":                 {Group: "apps", Version: "v1", Kind: "DaemonSet"},
	"kubernetes_job":                       {Group: "batch", Version: "v1", Kind: "Job"},
	"kubernetes_cron_job":                  {Group: "batch", Version: "v1", Kind: "CronJob"},
	"kubernetes_ingress":                   {Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	"kubernetes_network_policy":            {Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	"kubernetes_role":                      {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	"kubernetes_role_binding":              {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	"kubernetes_horizontal_pod_autoscaler": {Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
	"kubernetes_pod_disruption_budget":     {Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
}

// maxStateSize bounds a decompressed state: a lab's state is small, and the
// Secret holding it is the learner's to write.
const maxStateSize = 16 << 20

// StateObjects lists the objects a Terraform state manages, from the
// tfstate key of the kubernetes backend's Secret (gzip-compressed JSON,
// state format version 4; plain JSON is accepted too). kubernetes_manifest
// resources are read from their manifest. Unknown resource types and
// data sources are skipped. The result is sorted.
func StateObjects(tfstate []byte) ([]StateObject, error) {
	data := tfstate
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("terraform state: %w", err)
		}
		if data, err = io.ReadAll(io.LimitReader(zr, maxStateSize+1)); err != nil {
			return nil, fmt.Errorf("terraform state: %w", err)
		}
		if len(data) > maxStateSize {
			return nil, fmt.Errorf("terraform state: over %d bytes", maxStateSize)
		}
	}
	var state struct {
		Resources []struct {
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("terraform state: %w", err)
	}
	var out []StateObject
	for _, r := range state.Resources {
		if r.Mode != "managed" {
			continue
		}
		for _, inst := range r.Instances {
			if o, ok := stateObject(r.Type, inst.Attributes); ok {
				out = append(out, o)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Kind+"/"+out[i].Namespace+"/"+out[i].Name < out[j].Kind+"/"+out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}

func stateObject(typ string, attrs map[string]any) (StateObject, bool) {
	if typ == "kubernetes_manifest" {
		m, _ := dynamicValue(attrs["manifest"]).(map[string]any)
		meta, _ := m["metadata"].(map[string]any)
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil || kind == "" || name == "" {
			return StateObject{}, false
		}
		return StateObject{GroupVersionKind: gv.WithKind(kind), Namespace: ns, Name: name}, true
	}
	base := typ
	for _, suffix := range []string{"_v1", "_v2"} {
		base = strings.TrimSuffix(base, suffix)
	}
	gvk, ok := stateKinds[base]
	if !ok {
		return StateObject{}, false
	}
	// The provider keeps metadata as a one-element list.
	metas, _ := attrs["metadata"].([]any)
	if len(metas) != 1 {
		return StateObject{}, false
	}
	meta, _ := metas[0].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if name == "" {
		return StateObject{}, false
	}
	return StateObject{GroupVersionKind: gvk, Namespace: ns, Name: name}, true
}

// dynamicValue unwraps the {"value": ..., "type": ...} form in which state
// keeps dynamically typed attributes (kubernetes_manifest's manifest).
func dynamicValue(v any) any {
	if m, ok := v.(map[string]any); ok {
		if inner, ok := m["value"]; ok && len(m) <= 2 {
			return inner
		}
	}
	return v
}
