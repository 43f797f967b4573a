package controllers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// Metric names, served on the manager's metrics endpoint (/metrics) with
// controller-runtime's own (reconcile counts, durations, work queues).
const (
	MetricRotations         = "rotation_operator_rotations"
	MetricExercises         = "rotation_operator_exercises"
	MetricHelpRequestsOpen  = "rotation_operator_help_requests_open"
	MetricGradingDuration   = "rotation_operator_grading_duration_seconds"
	MetricGradingErrors     = "rotation_operator_grading_errors_total"
	MetricExercisesPassed   = "rotation_operator_exercises_passed"
	MetricExerciseOverruns  = "rotation_operator_exercises_overrun"
	metricsListTimeout      = 5 * time.Second
	gradingDurationHelpText = "Time a fact collector took to read a lab for one grading pass, by collector."
)

var (
	gradingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricGradingDuration,
		Help:    gradingDurationHelpText,
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"collector"})
	gradingErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricGradingErrors,
		Help: "Grading passes whose fact collection failed, by collector.",
	}, []string{"collector"})

	phases = []rotationsv1.RotationPhase{
		rotationsv1.PhasePending, rotationsv1.PhaseScheduled, rotationsv1.PhaseProvisioning, rotationsv1.PhaseActive,
		rotationsv1.PhaseSuspended, rotationsv1.PhaseExpired, rotationsv1.PhaseFailed,
	}
	states = []rotationsv1.ExerciseState{
		rotationsv1.ExerciseNotStarted, rotationsv1.ExerciseInProgress, rotationsv1.ExercisePassed, rotationsv1.ExerciseFailed,
	}

	registerOnce sync.Once
	registerErr  error
	status       = &statusCollector{}
)

// ObserveGrading records one fact collection: its duration, and an error.
func ObserveGrading(collector string, start time.Time, err error) {
	gradingDuration.WithLabelValues(collector).Observe(time.Since(start).Seconds())
	if err != nil {
		gradingErrors.WithLabelValues(collector).Inc()
	}
}

// registerMetrics adds the operator's metrics to controller-runtime's
// registry, once per process; the status gauges read rotations through
// reader (the manager's cache), at scrape time. Every source's grading
// series exists from the start, at zero, so dashboards and alerts can be
// written before a track is used.
func registerMetrics(reader client.Reader, srcs []factsource.Source) error {
	status.reader.Store(&reader)
	for _, src := range srcs {
		gradingDuration.WithLabelValues(src.Variable())
		gradingErrors.WithLabelValues(src.Variable())
	}
	registerOnce.Do(func() {
		for _, c := range []prometheus.Collector{gradingDuration, gradingErrors, status} {
			if err := metrics.Registry.Register(c); err != nil {
				registerErr = err
				return
			}
		}
	})
	return registerErr
}

// statusCollector derives gauges from the rotations' status when scraped,
// so they are right after restarts and deletions without bookkeeping:
// rotations by phase, exercise results by track and state, open help
// requests. It lists from the informer cache: no API request per scrape.
type statusCollector struct {
	reader atomic.Pointer[client.Reader]
}

var (
	rotationsDesc = prometheus.NewDesc(MetricRotations, "LearningRotations by phase.", []string{"phase"}, nil)
	exercisesDesc = prometheus.NewDesc(MetricExercises,
		"Exercise results of all rotations by track and state (NotStarted, InProgress, Passed, Failed: passed before and broke).",
		[]string{"track", "state"}, nil)
	passedDesc = prometheus.NewDesc(MetricExercisesPassed,
		"Exercise results that have passed at least once, by track.", []string{"track"}, nil)
	overrunsDesc = prometheus.NewDesc(MetricExerciseOverruns,
		"Exercise results that ran past twice their estimate without passing, by track.", []string{"track"}, nil)
	helpDesc = prometheus.NewDesc(MetricHelpRequestsOpen, "Help requests not yet acknowledged by a mentor.", nil, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rotationsDesc, exercisesDesc, passedDesc, overrunsDesc, helpDesc} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	rp := c.reader.Load()
	if rp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsListTimeout)
	defer cancel()
	list := &rotationsv1.LearningRotationList{}
	if err := (*rp).List(ctx, list); err != nil {
		ctrl.Log.WithName("metrics").Error(err, "listing rotations for the status metrics")
		return
	}
	byPhase := map[rotationsv1.RotationPhase]float64{}
	type key struct {
		track rotationsv1.Track
		state rotationsv1.ExerciseState
	}
	byState := map[key]float64{}
	passed := map[rotationsv1.Track]float64{}
	overruns := map[rotationsv1.Track]float64{}
	help := 0.0
	for i := range list.Items {
		st := &list.Items[i].Status
		phase := st.Phase
		if phase == "" {
			phase = rotationsv1.PhasePending
		}
		byPhase[phase]++
		if meta.IsStatusConditionTrue(st.Conditions, rotationsv1.ConditionHelpRequested) {
			help++
		}
		for _, e := range st.Exercises {
			byState[key{e.Track, e.State}]++
			if e.FirstPassedAt != nil {
				passed[e.Track]++
			}
			if e.OverranAt != nil {
				overruns[e.Track]++
			}
		}
	}
	for _, p := range phases {
		ch <- prometheus.MustNewConstMetric(rotationsDesc, prometheus.GaugeValue, byPhase[p], string(p))
	}
	for _, t := range rotationsv1.Tracks {
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(exercisesDesc, prometheus.GaugeValue, byState[key{t, s}], string(t), string(s))
		}
		ch <- prometheus.MustNewConstMetric(passedDesc, prometheus.GaugeValue, passed[t], string(t))
		ch <- prometheus.MustNewConstMetric(overrunsDesc, prometheus.GaugeValue, overruns[t], string(t))
	}
	ch <- prometheus.MustNewConstMetric(helpDesc, prometheus.GaugeValue, help)
}

// instrument times every source's collections, with one wrapper.
func instrument(srcs []factsource.Source) []factsource.Source {
	out := make([]factsource.Source, len(srcs))
	for i, src := range srcs {
		if _, done := src.(timed); done {
			out[i] = src
			continue
		}
		out[i] = timed{src}
	}
	return out
}

// timed is a source whose collections are timed, by its variable. A
// collection left running in the background (ErrPending) is timed as far
// as the pass waited, and is no error.
type timed struct{ factsource.Source }

func (t timed) Collect(ctx context.Context, req factsource.Request) (map[string]any, error) {
	start := time.Now()
	out, err := t.Source.Collect(ctx, req)
	if errors.Is(err, factsource.ErrPending) {
		ObserveGrading(t.Variable(), start, nil)
	} else {
		ObserveGrading(t.Variable(), start, err)
	}
	return out, err
}
