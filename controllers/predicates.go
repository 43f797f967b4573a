package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// Which watch events start a pass. Each pass reads the lab and its facts
// from the apiserver, so passes nobody needs cost the time of the passes
// that are needed: the scale benchmark (docs/benchmarks.md) counted about
// six passes per new lab, most of them started by the operator's own writes.

// These are predicates, not builder options: builder.WithPredicates options
// given twice to one watch replace one another, so each watch gets one list.

// rotationChanged passes what a mentor or learner changes on a rotation
// (spec, annotations such as grade-requested, labels) and drops the
// operator's own status writes.
var rotationChanged = predicate.Or(
	predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{})

// ownedChanged drops the creation of lab objects, which only the operator
// creates (at start-up every rotation is queued anyway), and the usage
// updates kube-controller-manager makes to the lab's ResourceQuota status.
// Edits and deletions of lab objects still start a pass, to put them back.
var ownedChanged = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.ResourceQuota)
		n, ok2 := e.ObjectNew.(*corev1.ResourceQuota)
		if !ok1 || !ok2 {
			return true
		}
		return !equality.Semantic.DeepEqual(o.Spec, n.Spec) || !equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
			!equality.Semantic.DeepEqual(o.Annotations, n.Annotations) || !equality.Semantic.DeepEqual(o.OwnerReferences, n.OwnerReferences)
	},
}

// notClusterCABundle drops the events of the kube-root-ca.crt ConfigMap
// kube-controller-manager publishes in every namespace: grading leaves it
// out of the facts (kube.plumbing), so its creation in a new lab, which
// came in while the provisioning pass ran and started a second pass, can
// change nothing.
var notClusterCABundle = predicate.NewPredicateFuncs(func(o client.Object) bool {
	return o.GetName() != clusterCABundle
})

const clusterCABundle = "kube-root-ca.crt"
