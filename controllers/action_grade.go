package controllers

import (
	"strconv"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// serveGrade answers a grade request, the learner's ConfigMap or the
// mentor's annotation: the grading step of this pass echoes it in
// status.gradeRequest. While no grading runs (suspended, expired, not yet
// started) the results as they stand are the answer, echoed at once; the
// phase says why.
func serveGrade(s *rotationScope, cm *request) {
	s.gradeRequest = newestGradeRequest(s.lr.Annotations[rotationsv1.AnnotationGradeRequested], cm)
	if !writable(s) && s.gradeRequest != "" {
		s.lr.Status.GradeRequest = s.gradeRequest
	}
}

// newestGradeRequest picks which grade request status.gradeRequest answers:
// the mentor's annotation or the learner's ConfigMap, whichever asked last.
// The annotation is free text; read as a time (RFC 3339 or Unix seconds, as
// `date +%s` writes) it competes with the ConfigMap's requestedAt, and
// otherwise it counts as older than any learner request. Both inputs are
// stable between requests, so the echo does not flip between passes.
func newestGradeRequest(annotation string, cm *request) string {
	switch {
	case cm == nil:
		return annotation
	case annotation == "":
		return cm.raw
	}
	at, err := time.Parse(time.RFC3339, annotation)
	if err != nil {
		secs, perr := strconv.ParseInt(annotation, 10, 64)
		if perr != nil {
			return cm.raw
		}
		at = time.Unix(secs, 0)
	}
	if at.After(cm.requestedAt) {
		return annotation
	}
	return cm.raw
}
