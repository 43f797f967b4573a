package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	clocktesting "k8s.io/utils/clock/testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// The template's mentors may read their program (the cohort status), a
// participant's own mentor and the learners may not: the cohort status
// shows every participant.
func TestTemplateMentorsReadTheirProgram(t *testing.T) {
	startOperator(t, clocktesting.NewFakeClock(t0))
	p := createProgram(t, dailyProgram("access", 2, []string{"ex-a"},
		participant("alice", "alice@example.com", "coach@example.com"), participant("bob", "bob@example.com")))

	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if !mayGetProgram(ctx, t, "lead@example.com", p.Name) {
			return fmt.Errorf("the template mentor cannot get program %s yet", p.Name)
		}
		return nil
	})
	for _, c := range []struct{ user, program string }{
		{"coach@example.com", p.Name}, {"alice@example.com", p.Name}, {"bob@example.com", p.Name},
		{"lead@example.com", "some-other-program"},
	} {
		if mayGetProgram(context.Background(), t, c.user, c.program) {
			t.Errorf("%s may get program %s", c.user, c.program)
		}
	}
}

func mayGetProgram(ctx context.Context, t *testing.T, user, program string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: rotationsv1.GroupVersion.Group, Resource: "rotationprograms", Verb: "get", Name: program,
		},
	}}
	if err := admin.Create(ctx, sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}
