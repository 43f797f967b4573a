package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// A refused Terraform submission shows what was refused and why, whole.
func TestStatusOfOneExerciseShowsWholeMessages(t *testing.T) {
	refusal := "Your submission was refused before terraform ran: main.tf:7: file(\"/etc/passwd\"): an absolute path; " +
		strings.Repeat("use a path relative to the module. ", 12)
	e := &rotationsv1.ExerciseResult{
		Name: "terraform-basics", Track: rotationsv1.TrackTerraform, State: rotationsv1.ExerciseInProgress, MaxPoints: 100,
		Checks: []rotationsv1.CheckResult{
			{Name: "valid-and-formatted", Message: refusal},
			{Name: "state-in-lab", Passed: true, Points: 10},
		},
		Submission:  &rotationsv1.SubmissionStatus{ConfigMap: "submission-terraform-basics", Digest: "sha256:0123456789abcdef", Files: 2},
		HandWritten: "",
	}
	var full, short bytes.Buffer
	writeExercise(&full, e, nil, time.Now(), false, true)
	writeExercise(&short, e, nil, time.Now(), false, false)
	if !strings.Contains(full.String(), strings.TrimSpace(refusal)) {
		t.Errorf("the exercise view cuts the refusal:\n%s", full.String())
	}
	if strings.Contains(short.String(), strings.TrimSpace(refusal)) {
		t.Errorf("the rotation view keeps a long message whole:\n%s", short.String())
	}
}

func TestStatusShowsLockedAndHandWritten(t *testing.T) {
	e := &rotationsv1.ExerciseResult{Name: "helm-upgrade-rollback", State: rotationsv1.ExerciseLocked, LockedBy: []string{"helm-install"},
		HandWritten: "release shop: release secret sh.helm.release.v1.shop.v1 was written by kubectl-create, not by helm"}
	var out bytes.Buffer
	writeExercise(&out, e, nil, time.Now(), false, false)
	for _, want := range []string{"⊘", "locked until helm-install passes", "looks hand-written: release shop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
