package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// request is a learner's request ConfigMap, parsed.
type request struct {
	cm          *corev1.ConfigMap
	kind        string
	requestedAt time.Time
	// raw is requestedAt as the learner wrote it, echoed back verbatim.
	raw      string
	exercise string
}

// reconcileRequests serves the learner's requests (ConfigMaps labelled
// rotations.handson.dev/request in the lab; learners cannot write the
// rotation) and the mentor's help acknowledgement (an annotation on it):
//
//   - help:  status.helpRequest and HelpRequested=True, a Warning event for mentors;
//     a new requestedAt is a new request. The ConfigMap stays: it is the
//     learner's, and rewriting it is how they ask again.
//   - grade: an immediate grading pass (this pass), echoed in status.gradeRequest.
//   - reset: the exercise back to its start, credit kept; the ConfigMap is
//     deleted once done.
//
// A request that cannot be understood gets a Warning event and is deleted.
// The operator deletes request ConfigMaps with its own right to delete
// ConfigMaps (it prunes instructions with it).
func (r *LearningRotationReconciler) reconcileRequests(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	var reqs []request
	if labLive(s) {
		list := &corev1.ConfigMapList{}
		if err := r.Client.List(ctx, list, client.InNamespace(lab.Namespace(lr.Name)), client.HasLabels{rotationsv1.LabelRequest}); err != nil {
			return ctrl.Result{}, err
		}
		sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
		for i := range list.Items {
			cm := &list.Items[i]
			req, err := parseRequest(cm)
			if err != nil {
				if err := r.refuseRequest(ctx, s, cm, err.Error()); err != nil {
					return ctrl.Result{}, err
				}
				continue
			}
			reqs = append(reqs, req)
		}
	}

	var grade *request
	var result ctrl.Result
	for i := range reqs {
		req := &reqs[i]
		switch req.kind {
		case rotationsv1.RequestHelp:
			r.registerHelp(s, req)
		case rotationsv1.RequestGrade:
			grade = req
		case rotationsv1.RequestReset:
			res, err := r.serveReset(ctx, s, req)
			if err != nil {
				return result, err
			}
			result = lowestRequeue(result, res)
		}
	}
	r.acknowledgeHelp(s)
	s.found.help = true
	serveGrade(s, grade)
	return result, nil
}

// parseRequest reads a request ConfigMap, refusing anything malformed.
func parseRequest(cm *corev1.ConfigMap) (request, error) {
	req := request{cm: cm, kind: cm.Labels[rotationsv1.LabelRequest], raw: cm.Data[rotationsv1.RequestKeyRequestedAt]}
	at, err := time.Parse(time.RFC3339, req.raw)
	if err != nil {
		return req, fmt.Errorf("data.%s %q is not an RFC 3339 time", rotationsv1.RequestKeyRequestedAt, req.raw)
	}
	req.requestedAt = at
	switch req.kind {
	case rotationsv1.RequestHelp:
		if cm.Name != rotationsv1.RequestHelpName {
			return req, fmt.Errorf("a help request is the ConfigMap %s", rotationsv1.RequestHelpName)
		}
	case rotationsv1.RequestGrade:
		if cm.Name != rotationsv1.RequestGradeName {
			return req, fmt.Errorf("a grade request is the ConfigMap %s", rotationsv1.RequestGradeName)
		}
	case rotationsv1.RequestReset:
		req.exercise = cm.Data[rotationsv1.RequestKeyExercise]
		if req.exercise == "" || cm.Name != rotationsv1.RequestResetPrefix+req.exercise {
			return req, fmt.Errorf("a reset request is the ConfigMap %s<exercise> with data.%s=<exercise>",
				rotationsv1.RequestResetPrefix, rotationsv1.RequestKeyExercise)
		}
	default:
		return req, fmt.Errorf("unknown request %q: want %s, %s or %s",
			req.kind, rotationsv1.RequestHelp, rotationsv1.RequestGrade, rotationsv1.RequestReset)
	}
	return req, nil
}

// refuseRequest tells the learner why a request was not served and deletes it.
func (r *LearningRotationReconciler) refuseRequest(ctx context.Context, s *rotationScope, cm *corev1.ConfigMap, why string) error {
	s.events.add(corev1.EventTypeWarning, "InvalidRequest", "ServeRequest",
		fmt.Sprintf("request ConfigMap %s/%s refused and deleted: %s", cm.Namespace, cm.Name, why))
	return client.IgnoreNotFound(r.Client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}))
}
