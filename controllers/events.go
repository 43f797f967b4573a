package controllers

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// eventQueue holds a pass's events until its status write succeeded, so a
// failed or retried pass does not announce what did not happen (jobset style).
type eventQueue struct {
	pending []queuedEvent
}

type queuedEvent struct {
	eventType, reason, action, note string
}

func (q *eventQueue) add(eventType, reason, action, note string) {
	q.pending = append(q.pending, queuedEvent{eventType, reason, action, note})
}

// queue adds the transition events of the pass (notify.go).
func (q *eventQueue) queue(evs []queuedEvent) {
	q.pending = append(q.pending, evs...)
}

func (q *eventQueue) flush(rec events.EventRecorder, regarding runtime.Object) {
	for _, e := range q.pending {
		rec.Eventf(regarding, nil, e.eventType, e.reason, e.action, "%s", e.note)
	}
	q.pending = nil
}
