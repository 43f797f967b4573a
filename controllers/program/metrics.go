package program

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// Metric names of programs; the notification counters are notify's.
const (
	MetricPrograms              = "rotation_operator_programs"
	MetricProgramRound          = "rotation_operator_program_round"
	MetricProgramRoundCompleted = "rotation_operator_program_round_completion_percent"
	MetricProgramHelpOpen       = "rotation_operator_program_help_requests_open"
	MetricNotificationsSent     = notify.MetricSent
	MetricNotificationsDropped  = notify.MetricDropped
)

// Metrics lists every metric this package serves (the dashboard test
// checks each has a panel).
var Metrics = []string{MetricPrograms, MetricProgramRound, MetricProgramRoundCompleted, MetricProgramHelpOpen,
	MetricNotificationsSent, MetricNotificationsDropped}

var (
	programsDesc = prometheus.NewDesc(MetricPrograms, "RotationPrograms by phase.", []string{"phase"}, nil)
	roundDesc    = prometheus.NewDesc(MetricProgramRound, "The latest round a program started.", []string{"program"}, nil)
	completeDesc = prometheus.NewDesc(MetricProgramRoundCompleted,
		"Percent of a program's latest round's rotations in which every exercise passed.", []string{"program"}, nil)
	helpDesc = prometheus.NewDesc(MetricProgramHelpOpen, "Open help requests in a program's latest round.", []string{"program"}, nil)

	programPhases = []rotationsv1.ProgramPhase{rotationsv1.ProgramScheduled, rotationsv1.ProgramRunning,
		rotationsv1.ProgramSuspended, rotationsv1.ProgramFinished, rotationsv1.ProgramFailed}

	registerOnce sync.Once
	registerErr  error
	collector    = &programCollector{}
)

// registerMetrics adds the program gauges (read from the cache when
// scraped) and the notification counters to controller-runtime's registry.
func registerMetrics(reader client.Reader) error {
	collector.reader.Store(&reader)
	registerOnce.Do(func() {
		for _, c := range append(notify.Collectors(), collector) {
			if err := metrics.Registry.Register(c); err != nil {
				registerErr = err
				return
			}
		}
	})
	return registerErr
}

type programCollector struct {
	reader atomic.Pointer[client.Reader]
}

func (c *programCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{programsDesc, roundDesc, completeDesc, helpDesc} {
		ch <- d
	}
}

func (c *programCollector) Collect(ch chan<- prometheus.Metric) {
	rp := c.reader.Load()
	if rp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list := &rotationsv1.RotationProgramList{}
	if err := (*rp).List(ctx, list); err != nil {
		ctrl.Log.WithName("metrics").Error(err, "listing programs for the program metrics")
		return
	}
	byPhase := map[rotationsv1.ProgramPhase]float64{}
	for _, p := range list.Items {
		st := &p.Status
		byPhase[st.Phase]++
		ch <- prometheus.MustNewConstMetric(roundDesc, prometheus.GaugeValue, float64(st.Round), p.Name)
		completion, help := 0.0, 0.0
		if n := len(st.Rounds); n > 0 {
			completion = float64(st.Rounds[n-1].CompletionPercent)
		}
		for _, ps := range st.Participants {
			if ps.HelpRequestedAt != nil {
				help++
			}
		}
		ch <- prometheus.MustNewConstMetric(completeDesc, prometheus.GaugeValue, completion, p.Name)
		ch <- prometheus.MustNewConstMetric(helpDesc, prometheus.GaugeValue, help, p.Name)
	}
	for _, ph := range programPhases {
		ch <- prometheus.MustNewConstMetric(programsDesc, prometheus.GaugeValue, byPhase[ph], string(ph))
	}
}
