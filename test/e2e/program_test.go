package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestProgramCohortJourney: a RotationProgram's first round, run by the
// whole operator. The program creates a rotation per participant, the
// rotation controller provisions their labs, one learner passes the
// exercise with the kubeconfig the operator issued, and the cohort status
// shows it; the template's mentor reads the program with their own rights.
func TestProgramCohortJourney(t *testing.T) {
	ctx := context.Background()
	const program, exercise = "cohort", "t-cohort-web"
	env.CreateExercise(t, &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: exercise},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackKubernetes, Title: "Expose web", Instructions: "# Create a Service named web on port 80",
			EstimatedMinutes: 10,
			Checks: []rotationsv1.Check{{Name: "service", Points: 10, Message: "create a Service named web on port 80",
				Expression: "'web' in kube.services && kube.services['web'].spec.ports.exists(p, p.port == 80)"}},
		},
	})
	p := &rotationsv1.RotationProgram{
		ObjectMeta: metav1.ObjectMeta{Name: program},
		Spec: rotationsv1.RotationProgramSpec{
			Template: rotationsv1.RotationTemplate{
				Exercises: rotationsv1.ExerciseSelection{Names: []rotationsv1.ExerciseName{exercise}},
				Duration:  &metav1.Duration{Duration: 24 * time.Hour},
				Mentors:   []rotationsv1.Subject{{Kind: rotationsv1.UserKind, Name: "cohort-lead@example.com"}},
			},
			Participants: []rotationsv1.Participant{
				{Name: "alice", Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: "cohort-alice@example.com"}}},
				{Name: "bob", Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: "cohort-bob@example.com"}}},
			},
			// The first round starts at creation; the second is a day away.
			Cadence: rotationsv1.Cadence{Interval: &metav1.Duration{Duration: 24 * time.Hour}, Rounds: ptr.To(int32(2))},
		},
	}
	if err := env.Admin.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Admin.Delete(context.Background(), p)
		_ = env.Admin.DeleteAllOf(context.Background(), &rotationsv1.LearningRotation{}, client.MatchingLabels{rotationsv1.LabelProgram: program})
	})

	// Round 1: a rotation per participant, provisioned by the rotation controller.
	alice, bob := program+"-alice-r1", program+"-bob-r1"
	for _, name := range []string{alice, bob} {
		lr := env.WaitReady(t, name)
		if !metav1.IsControlledBy(lr, waitProgram(t, program, "created", func(*rotationsv1.RotationProgram) error { return nil })) {
			t.Errorf("rotation %s is not controlled by program %s: %v", name, program, lr.OwnerReferences)
		}
	}

	// Alice exposes web with her issued kubeconfig; the grader passes it.
	learner := issuedClient(t, "lab-"+alice)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "lab-" + alice},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := learner.Create(ctx, svc); err != nil {
		t.Fatalf("alice creating her Service: %v", err)
	}
	env.ExerciseResult(t, alice, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 10 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// The cohort status follows: alice passed and completed, bob has not.
	final := waitProgram(t, program, "alice's pass in the cohort status", func(p *rotationsv1.RotationProgram) error {
		a, b := participantStatus(p, "alice"), participantStatus(p, "bob")
		switch {
		case p.Status.Round != 1 || len(p.Status.Rounds) != 1:
			return fmt.Errorf("round %d, rounds %+v", p.Status.Round, p.Status.Rounds)
		case a == nil || a.Rotation != alice || !slices.Equal(a.Passed, []string{exercise}) || a.Score != 10 || a.MaxScore != 10 || !a.Completed || a.Progress != "1/1":
			return fmt.Errorf("alice = %+v", a)
		case b == nil || b.Rotation != bob || len(b.Passed) != 0 || b.Score != 0 || b.Completed || b.Phase != rotationsv1.PhaseActive:
			return fmt.Errorf("bob = %+v", b)
		}
		r := p.Status.Rounds[0]
		if r.Rotations != 2 || r.Completed != 1 || r.CompletionPercent != 50 || len(r.Exercises) != 1 ||
			r.Exercises[0].Name != exercise || r.Exercises[0].Passed != 1 || r.Exercises[0].Selected != 2 {
			return fmt.Errorf("round 1 = %+v", r)
		}
		return nil
	})
	if final.Status.NextRoundAt == nil || !final.Status.NextRoundAt.After(time.Now()) {
		t.Errorf("next round at %v, want in the future", final.Status.NextRoundAt)
	}

	// The template's mentor reads the program with their own rights; a learner may not.
	lead := env.UserClient(t, "cohort-lead@example.com")
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		return lead.Get(ctx, client.ObjectKey{Name: program}, &rotationsv1.RotationProgram{})
	})
	if err := env.UserClient(t, "cohort-bob@example.com").Get(ctx, client.ObjectKey{Name: program}, &rotationsv1.RotationProgram{}); err == nil {
		t.Error("a participant reads the cohort status of the whole program")
	}
}

// issuedClient acts with the learner kubeconfig the operator issued for a lab.
func issuedClient(t *testing.T, ns string) client.Client {
	t.Helper()
	secret := &corev1.Secret{}
	if err := env.Admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["kubeconfig"])
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Admin.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitProgram(t *testing.T, name, what string, ok func(*rotationsv1.RotationProgram) error) *rotationsv1.RotationProgram {
	t.Helper()
	p := &rotationsv1.RotationProgram{}
	testutil.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		if err := env.Admin.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		if err := ok(p); err != nil {
			return fmt.Errorf("program %s, waiting for %s: %w", name, what, err)
		}
		return nil
	})
	return p
}

func participantStatus(p *rotationsv1.RotationProgram, name string) *rotationsv1.ParticipantStatus {
	for i := range p.Status.Participants {
		if p.Status.Participants[i].Name == name {
			return &p.Status.Participants[i]
		}
	}
	return nil
}
