package controllers

import (
	"context"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A status-only update waits statusBatch and then yields to a learner's
// change queued later: on a busy operator the learner's grade comes first.
func TestStatusOnlyUpdatesYieldToLearnerChanges(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	rv := 0
	dep := func(ns string, gen int64) *metav1.PartialObjectMetadata {
		rv++ // an update with an unchanged version is a resync: low priority anyway
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Generation: gen, ResourceVersion: strconv.Itoa(rv)}}
	}
	ctx := context.Background()
	labEvents.Update(ctx, event.UpdateEvent{ObjectOld: dep("lab-a", 1), ObjectNew: dep("lab-a", 1)}, q)
	if q.Len() != 0 {
		t.Fatal("a status-only update was queued at once, not after the batch")
	}
	time.Sleep(statusBatch + 200*time.Millisecond)
	labEvents.Update(ctx, event.UpdateEvent{ObjectOld: dep("lab-b", 1), ObjectNew: dep("lab-b", 2)}, q)
	// The queue takes additions in on its own goroutine.
	for deadline := time.Now().Add(5 * time.Second); q.Len() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d rotations queued, want 2", q.Len())
		}
	}
	for _, want := range []string{"b", "a"} {
		item, _, _ := q.GetWithPriority()
		if item.Name != want {
			t.Fatalf("got rotation %q, want %q first", item.Name, want)
		}
		q.Done(item)
	}
}
