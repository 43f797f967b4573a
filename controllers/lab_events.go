package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// statusBatch is how long a status-only change of a learner's object waits
// before its pass, so that a burst of them is graded in one pass. A new
// lab's starter Deployments get four status updates from
// kube-controller-manager within about two seconds, each of which started
// a pass and most a status write (scale benchmark, docs/benchmarks.md).
// Changes the learner makes (spec, labels: a new generation) and every
// create and delete start a pass at once.
const statusBatch = 500 * time.Millisecond

// labEvents queues the rotation of a lab object's event, status-only
// updates statusBatch later.
var labEvents = handler.Funcs{
	CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		enqueueLab(ctx, q, e.Object, 0)
	},
	UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		var after time.Duration
		if statusOnly(e.ObjectOld, e.ObjectNew) {
			after = statusBatch
		}
		enqueueLab(ctx, q, e.ObjectNew, after)
	},
	DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		enqueueLab(ctx, q, e.Object, 0)
	},
	GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		enqueueLab(ctx, q, e.Object, 0)
	},
}

// enqueueLab queues the rotation of a lab object. A status-only update
// (after > 0) is also queued at low priority: on a busy operator the
// passes for what learners and mentors changed go first, and the
// controllers' reports on them follow. The queue keeps one entry per
// rotation at the highest priority it was given, so a learner's change
// queued meanwhile takes the waiting entry along.
func enqueueLab(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], obj client.Object, after time.Duration) {
	pq, prioritized := q.(priorityqueue.PriorityQueue[reconcile.Request])
	for _, req := range rotationOfLab(ctx, obj) {
		switch {
		case after > 0 && prioritized:
			pq.AddWithOpts(priorityqueue.AddOpts{After: after, Priority: ptr.To(statusPriority)}, req)
		case after > 0:
			q.AddAfter(req, after)
		default:
			q.Add(req)
		}
	}
}

// statusPriority is the queue priority of a pass for a status-only update;
// everything else is queued at the default, 0.
const statusPriority = handler.LowPriority

// statusOnly: an update that left the generation (the spec), the labels and
// the deletion state as they were, on a kind that has generations (a
// ConfigMap or Secret has none: its every change is content).
func statusOnly(old, cur client.Object) bool {
	return cur.GetGeneration() != 0 && old.GetGeneration() == cur.GetGeneration() &&
		equality.Semantic.DeepEqual(old.GetLabels(), cur.GetLabels()) &&
		equality.Semantic.DeepEqual(old.GetAnnotations(), cur.GetAnnotations()) &&
		old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp())
}
