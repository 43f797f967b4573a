package harness

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// labKinds are the namespaced kinds a lab holds: the operator's objects,
// the starters and what kube-controller-manager adds (the default
// ServiceAccount, kube-root-ca.crt).
var labKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ServiceAccountList"},
	{Version: "v1", Kind: "SecretList"},
	{Version: "v1", Kind: "ConfigMapList"},
	{Version: "v1", Kind: "ResourceQuotaList"},
	{Version: "v1", Kind: "LimitRangeList"},
	{Version: "v1", Kind: "ServiceList"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleList"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBindingList"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicyList"},
	{Group: "apps", Version: "v1", Kind: "DeploymentList"},
}

var clusterKinds = []schema.GroupVersionKind{
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleList"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBindingList"},
}

// Inventory counts a rotation's lab objects by kind and lists ownership
// problems: every object the operator manages (label managed-by) must have
// exactly one owner reference, a controller reference to the rotation's UID.
type Inventory struct {
	Counts   map[string]int
	Problems []string
}

// TakeInventory reads the lab of lr (by name and UID) through c.
func TakeInventory(ctx context.Context, c client.Reader, lr *rotationsv1.LearningRotation) (Inventory, error) {
	inv := Inventory{Counts: map[string]int{}}
	check := func(kind string, o metav1.PartialObjectMetadata) {
		if o.Labels[rotationsv1.LabelManagedBy] != rotationsv1.ManagedByValue {
			return
		}
		refs := o.OwnerReferences
		ctl := metav1.GetControllerOfNoCopy(&o)
		switch {
		case len(refs) != 1:
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s %s has %d owner references: %v", kind, o.Name, len(refs), refs))
		case ctl == nil || ctl.UID != lr.UID || ctl.Kind != "LearningRotation":
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s %s is not controlled by rotation %s (uid %s): %v", kind, o.Name, lr.Name, lr.UID, refs))
		}
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"})
	if err := c.Get(ctx, client.ObjectKey{Name: lab.Namespace(lr.Name)}, ns); err != nil {
		return inv, err
	}
	inv.Counts["Namespace"] = 1
	check("Namespace", *ns)
	for _, gvk := range labKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk)
		if err := c.List(ctx, list, client.InNamespace(lab.Namespace(lr.Name))); err != nil {
			return inv, err
		}
		kind := gvk.Kind[:len(gvk.Kind)-len("List")]
		for _, o := range list.Items {
			inv.Counts[kind]++
			check(kind, o)
		}
	}
	for _, gvk := range clusterKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk)
		if err := c.List(ctx, list, client.MatchingLabels{rotationsv1.LabelRotation: lr.Name}); err != nil {
			return inv, err
		}
		kind := gvk.Kind[:len(gvk.Kind)-len("List")]
		for _, o := range list.Items {
			inv.Counts[kind]++
			check(kind, o)
		}
	}
	sort.Strings(inv.Problems)
	return inv, nil
}
