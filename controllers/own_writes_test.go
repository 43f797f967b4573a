package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/event"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// A pass's own write starts no pass, in flight or done; a later version
// of the same object (someone else's write) and other objects still do.
func TestOwnWritesDropOnlyThePassesOwnVersions(t *testing.T) {
	var w ownWrites
	p := w.notOwnWrite()
	cm := func(name, rv string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "lab-a", Name: name, ResourceVersion: rv}}
	}

	w.begin(cm("starter", ""))
	if p.Create(event.CreateEvent{Object: cm("starter", "10")}) {
		t.Error("the create event of a write still in flight started a pass")
	}
	w.end(cm("starter", "11"), nil)
	if p.Update(event.UpdateEvent{ObjectOld: cm("starter", "10"), ObjectNew: cm("starter", "11")}) {
		t.Error("the event of the pass's own write started a pass")
	}
	if !p.Update(event.UpdateEvent{ObjectOld: cm("starter", "11"), ObjectNew: cm("starter", "12")}) {
		t.Error("a later write by someone else started no pass")
	}
	if !p.Create(event.CreateEvent{Object: cm("learners", "13")}) {
		t.Error("the learner's object started no pass")
	}
	w.begin(cm("failed", ""))
	w.end(cm("failed", ""), errors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "failed", nil))
	if !p.Create(event.CreateEvent{Object: cm("failed", "14")}) {
		t.Error("after a failed write, the object's events started no pass")
	}
}

// The provisioning pass sends one Provisioned event that names the
// kubeconfig and counts the exercises whose starters it created; other
// events of the pass stay as they are.
func TestFoldProvisioningMakesOneEvent(t *testing.T) {
	var q eventQueue
	q.add(corev1.EventTypeNormal, reasonKubeconfigIssued, "IssueKubeconfig", "learner kubeconfig written to Secret lab-a/learner-kubeconfig")
	q.add(corev1.EventTypeNormal, reasonStarterCreated, "CreateStarter", "exercise x: 1 starter objects created in lab-a")
	q.add(corev1.EventTypeNormal, reasonStarterCreated, "CreateStarter", "exercise y: 2 starter objects created in lab-a")
	q.add(corev1.EventTypeWarning, rotationsv1.ReasonHelpRequested, "RequestHelp", "help")
	q.queue(normal(rotationsv1.ReasonProvisioned, "Provision", "lab namespace lab-a provisioned with 14 objects"))
	q.foldProvisioning()
	if len(q.pending) != 2 || q.pending[0].reason != rotationsv1.ReasonProvisioned || q.pending[1].reason != rotationsv1.ReasonHelpRequested {
		t.Fatalf("events %+v, want Provisioned then HelpRequested", q.pending)
	}
	want := "lab namespace lab-a provisioned with 14 objects; learner kubeconfig written to Secret lab-a/learner-kubeconfig; " +
		"starters of 2 exercises created (exercise x: 1 starter objects created in lab-a; exercise y: 2 starter objects created in lab-a)"
	if q.pending[0].note != want {
		t.Errorf("note %q, want %q", q.pending[0].note, want)
	}

	// A renewal pass (no Provisioned) keeps its own event.
	var r eventQueue
	r.add(corev1.EventTypeNormal, reasonStarterCreated, "CreateStarter", "exercise x: 1 starter objects created in lab-a")
	r.foldProvisioning()
	if len(r.pending) != 1 || r.pending[0].reason != reasonStarterCreated {
		t.Errorf("events %+v, want the StarterCreated event alone", r.pending)
	}
}

// A pass reads the cache once it holds this process's last status write.
func TestStatusVersionsCacheCurrent(t *testing.T) {
	var v statusVersions
	if !v.cacheCurrent("r", "5") {
		t.Error("a rotation never written by this process must be read from the cache")
	}
	v.wrote(&rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "r", ResourceVersion: "10"}})
	for rv, want := range map[string]bool{"9": false, "10": true, "11": true, "x": false} {
		if got := v.cacheCurrent("r", rv); got != want {
			t.Errorf("cache at %s: current %v, want %v", rv, got, want)
		}
	}
	v.forget("r")
	if !v.cacheCurrent("r", "9") {
		t.Error("a forgotten rotation must be read from the cache")
	}
}

// Only an update that leaves a generation-bearing object's spec, labels and
// annotations alone waits for the status batch.
func TestStatusOnlyUpdates(t *testing.T) {
	dep := func(gen int64, labels map[string]string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "lab-a", Name: "web", Generation: gen, Labels: labels}}
	}
	for name, tt := range map[string]struct {
		old, cur *metav1.PartialObjectMetadata
		want     bool
	}{
		"status":        {dep(2, nil), dep(2, nil), true},
		"spec":          {dep(2, nil), dep(3, nil), false},
		"labels":        {dep(2, nil), dep(2, map[string]string{"a": "b"}), false},
		"no generation": {dep(0, nil), dep(0, nil), false},
	} {
		if got := statusOnly(tt.old, tt.cur); got != tt.want {
			t.Errorf("%s: statusOnly %v, want %v", name, got, tt.want)
		}
	}
}
