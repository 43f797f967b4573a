package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/submission"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// filesExercise is graded from submitted files only.
func filesExercise(name string) *rotationsv1.Exercise {
	return &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackTerraform, Title: "Hand in a configuration", Instructions: "# Submit main.tf",
			Checks: []rotationsv1.Check{
				{Name: "main-tf", Points: 10, Message: "hand in a file main.tf",
					Expression: "'main.tf' in submission.files"},
				{Name: "backend", Points: 5, Message: `main.tf must configure backend "kubernetes"`,
					Expression: `submission.files[?'main.tf'].orValue('').contains('backend "kubernetes"')`},
			},
		},
	}
}

func TestSubmissionsAreGradedNewestFirstAndKeepCredit(t *testing.T) {
	ctx := context.Background()
	createExercise(t, filesExercise("t-files"))
	createRotation(t, testutil.Rotation("subm").Exercises("t-files").Obj())
	waitReady(t, "subm")
	learner := userClient(t, "subm@example.com")
	ns := "lab-subm"

	// Nothing handed in: the first check says how to hand in.
	exerciseResult(t, "subm", "t-files", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if len(r.Checks) != 2 || !strings.Contains(r.Checks[0].Message, "kubectl rotation submit t-files DIR") || r.Submission != nil {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// A partial submission: one check passes.
	submit(t, learner, ns, "t-files", map[string]string{"main.tf": `terraform {}`})
	exerciseResult(t, "subm", "t-files", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Points != 10 || r.State != rotationsv1.ExerciseInProgress || r.Submission == nil || r.Submission.Files != 1 {
			return fmt.Errorf("result = %+v", r)
		}
		if r.Checks[1].Passed || r.Checks[1].Message != `main.tf must configure backend "kubernetes"` {
			return fmt.Errorf("check = %+v", r.Checks[1])
		}
		return nil
	})

	// The newest submission is graded: it passes.
	good := map[string]string{"main.tf": `terraform { backend "kubernetes" {} }`, "outputs.tf": ""}
	submit(t, learner, ns, "t-files", good)
	exerciseResult(t, "subm", "t-files", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 15 || r.Submission.Digest != submission.Digest(good) {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// A bad submission (binary content) is reported, with an event, and the
	// credit earned stays.
	cm := &corev1.ConfigMap{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: "submission-t-files"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.BinaryData = map[string][]byte{"app": {0x7f, 'E', 'L', 'F', 0}}
	if err := learner.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	lr := exerciseResult(t, "subm", "t-files", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Submission == nil || !strings.Contains(r.Submission.Error, "app: binary files are not accepted") {
			return fmt.Errorf("submission = %+v", r.Submission)
		}
		if r.BestPoints != 15 || r.FirstPassedAt == nil || r.Points != 0 {
			return fmt.Errorf("earned credit lost or bad submission graded: %+v", r)
		}
		if !strings.Contains(r.Checks[0].Message, "fix it and submit again") {
			return fmt.Errorf("check = %+v", r.Checks[0])
		}
		return nil
	})
	if lr.Status.Score != 15 || lr.Status.Completed != 1 {
		t.Errorf("score %d completed %d: earned credit must stay", lr.Status.Score, lr.Status.Completed)
	}
	testutil.Eventually(t, 10*time.Second, func(ctx context.Context) error {
		return findEvent(ctx, "subm", corev1.EventTypeWarning, rotationsv1.ReasonInvalidSubmission)
	})
	if err := findEvent(ctx, "subm", corev1.EventTypeNormal, "SubmissionReceived"); err != nil {
		t.Error(err)
	}
}
