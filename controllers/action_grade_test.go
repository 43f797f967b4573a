package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestNewestGradeRequest(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	cm := &request{requestedAt: at, raw: at.Format(time.RFC3339)}
	tests := []struct {
		annotation string
		cm         *request
		want       string
	}{
		{"", nil, ""},
		{"42", nil, "42"},
		{"", cm, cm.raw},
		{"not a time", cm, cm.raw},
		{at.Add(time.Minute).Format(time.RFC3339), cm, at.Add(time.Minute).Format(time.RFC3339)},
		{at.Add(-time.Minute).Format(time.RFC3339), cm, cm.raw},
		{"1777885260", cm, "1777885260"}, // Unix seconds, a minute after
		{"1777885140", cm, cm.raw},
	}
	for _, tt := range tests {
		if got := newestGradeRequest(tt.annotation, tt.cm); got != tt.want {
			t.Errorf("newestGradeRequest(%q, %v) = %q, want %q", tt.annotation, tt.cm != nil, got, tt.want)
		}
	}
}

// TestServeGrade: the newest grade request is this pass's to answer; while
// grading does not run it is echoed at once.
func TestServeGrade(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	cm := &request{requestedAt: at, raw: at.Format(time.RFC3339)}
	later := at.Add(time.Minute).Format(time.RFC3339)
	tests := []struct {
		name       string
		stage      stage
		annotation string
		cm         *request
		want, echo string
	}{
		{"no request", stageActive, "", nil, "", ""},
		{"learner's, graded this pass", stageActive, "", cm, cm.raw, ""},
		{"mentor's newer, graded this pass", stageActive, later, cm, later, ""},
		{"suspended: echoed at once", stageSuspended, "", cm, cm.raw, cm.raw},
		{"expired: echoed at once", stageExpired, later, nil, later, later},
		{"scheduled: echoed at once", stageScheduled, "", cm, cm.raw, cm.raw},
	}
	for _, tt := range tests {
		lr := &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "r1"}}
		if tt.annotation != "" {
			lr.Annotations = map[string]string{rotationsv1.AnnotationGradeRequested: tt.annotation}
		}
		s := &rotationScope{lr: lr, stage: tt.stage}
		serveGrade(s, tt.cm)
		if s.gradeRequest != tt.want || lr.Status.GradeRequest != tt.echo {
			t.Errorf("%s: gradeRequest %q, status %q; want %q, %q", tt.name, s.gradeRequest, lr.Status.GradeRequest, tt.want, tt.echo)
		}
	}
}
