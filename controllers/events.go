package controllers

import (
	"fmt"
	"strings"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
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

// Reasons of the steps' provisioning events that the pass provisioning the
// lab folds into its one Provisioned event.
const (
	reasonKubeconfigIssued = "KubeconfigIssued"
	reasonStarterCreated   = "StarterCreated"
)

// foldProvisioning makes a new lab one event rather than one per step
// (lab, kubeconfig, each exercise's starters): the pass that provisions the
// lab announces it once, with what it set up, and the event writes per lab
// drop from about five to one or two (docs/benchmarks.md). The events mentors
// act on (Passed, Regressed, HelpRequested, Overrun) are never folded; a
// kubeconfig or starter of a later pass (renewal, reset) keeps its own event.
func (q *eventQueue) foldProvisioning() {
	at := -1
	for i, e := range q.pending {
		if e.reason == rotationsv1.ReasonProvisioned {
			at = i
		}
	}
	if at < 0 {
		return
	}
	p := q.pending[at]
	var kubeconfig string
	var starters []string
	kept := []queuedEvent{}
	for i, e := range q.pending {
		switch {
		case i == at:
			continue
		case e.reason == reasonKubeconfigIssued:
			kubeconfig = e.note
			continue
		case e.reason == reasonStarterCreated:
			starters = append(starters, e.note)
			continue
		}
		kept = append(kept, e)
	}
	if kubeconfig != "" {
		p.note += "; " + kubeconfig
	}
	if len(starters) > 0 {
		p.note += fmt.Sprintf("; starters of %d exercises created (%s)", len(starters), strings.Join(starters, "; "))
	}
	q.pending = append([]queuedEvent{p}, kept...)
}

func (q *eventQueue) flush(rec events.EventRecorder, regarding runtime.Object) {
	for _, e := range q.pending {
		rec.Eventf(regarding, nil, e.eventType, e.reason, e.action, "%s", e.note)
	}
	q.pending = nil
}
