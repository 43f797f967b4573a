package program

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// What a program pass's steps found, for status.go to decide the
// conditions from and notify.go the transition events, as in the
// rotation controller (controllers/findings.go).
type findings struct {
	// cadence: the cadence read (nil with cadenceErr set when it cannot be).
	cadence    *cadence
	cadenceErr error
	// started: the round this pass started, if any.
	started *startedRound
	// conflicts name rotations the program would create that exist and are
	// not its own: they are left alone.
	conflicts []string
	// cohort: the cohort step ran, so participants and rounds follow the rotations.
	cohort bool
	// sink: the notification target (nil without spec.notification), or why not.
	sink    *notify.Target
	sinkErr error
}

// startedRound is a round started (or finished starting) in this pass.
type startedRound struct {
	round       int32
	scheduledAt time.Time
	created     []string
	// skipped: participant → why they got no rotation this round.
	skipped map[rotationsv1.ParticipantName]string
	// missedSlots: cadence times passed while suspended or down, skipped.
	missedSlots int
}

// observation is a condition as the pass found it.
type observation struct {
	status          metav1.ConditionStatus
	reason, message string
}

func observe(status metav1.ConditionStatus, reason, message string) *observation {
	return &observation{status: status, reason: reason, message: message}
}
