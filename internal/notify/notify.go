// Package notify posts mentor notifications (help requested, exercise
// passed, round started...) to webhooks, off the reconcile path: Enqueue
// never blocks, a bounded queue feeds a few senders, failed posts are
// retried with backoff, and what cannot be delivered is dropped and counted.
package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Notification types, the CloudEvents type being EventTypePrefix+Type.
const (
	HelpRequested    = "HelpRequested"
	HelpAcknowledged = "HelpAcknowledged"
	ExercisePassed   = "ExercisePassed"
	ExerciseRegress  = "ExerciseRegressed"
	ExerciseOverrun  = "ExerciseOverrun"
	RotationComplete = "RotationCompleted"
	RoundStarted     = "RoundStarted"

	EventTypePrefix = "dev.handson.rotations."
)

// Types lists every notification type.
var Types = []string{HelpRequested, HelpAcknowledged, ExercisePassed, ExerciseRegress, ExerciseOverrun, RotationComplete, RoundStarted}

// Notification is what a mentor is told. It carries names a mentor already
// sees on the rotation (learner, exercise, round), never the learner's work.
type Notification struct {
	Type string `json:"type"`
	// Program is empty for a rotation no program created.
	Program     string    `json:"program,omitempty"`
	Round       int32     `json:"round,omitempty"`
	Participant string    `json:"participant,omitempty"`
	Learner     string    `json:"learner,omitempty"`
	Rotation    string    `json:"rotation,omitempty"`
	Exercise    string    `json:"exercise,omitempty"`
	Message     string    `json:"message"`
	Time        time.Time `json:"time"`
}

// ID identifies the notification, the same for a retry, so a receiver can
// drop duplicates.
func (n Notification) ID() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%s|%s|%s|%d", n.Type, n.Program, n.Round, n.Participant, n.Rotation, n.Exercise, n.Time.UnixNano()))
	return hex.EncodeToString(h[:12])
}

// Format is how a notification is posted.
type Format string

// The formats; they match the API's NotificationFormat values.
const (
	CloudEvents Format = "CloudEvents"
	JSON        Format = "JSON"
)

// Target is where a notification goes.
type Target struct {
	URL    string
	Format Format
}

// Drop reasons, the reason label of MetricDropped.
const (
	DroppedQueueFull     = "queue_full"
	DroppedUndeliverable = "undeliverable"
	// DroppedNoSink: the webhook URL's Secret could not be read.
	DroppedNoSink = "sink_unreadable"
)

// Metric names.
const (
	MetricSent    = "rotation_operator_notifications_sent_total"
	MetricDropped = "rotation_operator_notifications_dropped_total"
)

var (
	sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricSent, Help: "Notifications delivered to a webhook, by type.",
	}, []string{"type"})
	dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricDropped, Help: "Notifications dropped: queue full, or undeliverable after retries.",
	}, []string{"reason"})
)

// Collectors are the package's metrics, for the manager's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{sent, dropped} }

// Dropped reads the dropped counter of a reason (tests).
func Dropped(reason string) float64 { return counterValue(dropped.WithLabelValues(reason)) }

// Sent reads the sent counter of a type (tests).
func Sent(typ string) float64 { return counterValue(sent.WithLabelValues(typ)) }

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	// QueueSize bounds the notifications waiting to be sent (256).
	QueueSize int
	// Senders post in parallel (2).
	Senders int
	// Timeout of one POST (5s).
	Timeout time.Duration
	// Backoff between attempts; Steps is the number of attempts
	// (4 attempts, 500ms doubling, 10% jitter).
	Backoff wait.Backoff
	// Client posts; nil means one with Timeout.
	Client *http.Client
}

type job struct {
	target Target
	n      Notification
}

// Dispatcher queues and sends notifications. Start it with the manager (it
// is a manager.Runnable); until it runs, Enqueue still only queues.
type Dispatcher struct {
	queue   chan job
	senders int
	backoff wait.Backoff
	client  *http.Client
	wg      sync.WaitGroup
}

// NewDispatcher makes a Dispatcher.
func NewDispatcher(o Options) *Dispatcher {
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.Senders <= 0 {
		o.Senders = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Backoff.Steps == 0 {
		o.Backoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 4}
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	// Every series exists from the start, at zero, for dashboards and alerts.
	for _, r := range []string{DroppedQueueFull, DroppedUndeliverable, DroppedNoSink} {
		dropped.WithLabelValues(r)
	}
	for _, t := range Types {
		sent.WithLabelValues(t)
	}
	return &Dispatcher{queue: make(chan job, o.QueueSize), senders: o.Senders, backoff: o.Backoff, client: o.Client}
}

// Enqueue queues n for target without blocking; a full queue drops it
// (counted) and returns false.
func (d *Dispatcher) Enqueue(target Target, n Notification) bool {
	select {
	case d.queue <- job{target, n}:
		return true
	default:
		dropped.WithLabelValues(DroppedQueueFull).Inc()
		return false
	}
}

// DropUnsent counts notifications that never reached the queue: their
// sink could not be read (DroppedNoSink).
func (d *Dispatcher) DropUnsent(reason string, n int) {
	dropped.WithLabelValues(reason).Add(float64(n))
}

// Start runs the senders until ctx ends; what is still queued then is dropped.
func (d *Dispatcher) Start(ctx context.Context) error {
	for range d.senders {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-d.queue:
					d.deliver(ctx, j)
				}
			}
		}()
	}
	<-ctx.Done()
	d.wg.Wait()
	return nil
}

// deliver posts j, retrying transient failures (transport errors, 429 and
// 5xx) with backoff; a 4xx other than 429 is not retried.
func (d *Dispatcher) deliver(ctx context.Context, j job) {
	log := ctrl.LoggerFrom(ctx).WithName("notify").WithValues("type", j.n.Type, "program", j.n.Program)
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, d.backoff, func(ctx context.Context) (bool, error) {
		last = d.post(ctx, j)
		var perm permanentError
		if errors.As(last, &perm) {
			return false, last
		}
		return last == nil, nil
	})
	if err != nil {
		if last == nil {
			last = err
		}
		dropped.WithLabelValues(DroppedUndeliverable).Inc()
		log.Info("notification dropped", "error", last.Error())
		return
	}
	sent.WithLabelValues(j.n.Type).Inc()
}

type permanentError struct{ error }

func (d *Dispatcher) post(ctx context.Context, j job) error {
	body, contentType, err := encode(j.target.Format, j.n)
	if err != nil {
		return permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.target.URL, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return permanentError{fmt.Errorf("webhook answered %s", resp.Status)}
}

// Source is the CloudEvents source: the program, or the rotation when no
// program created it.
func Source(n Notification) string {
	if n.Program == "" {
		return "rotations.handson.dev/rotations/" + n.Rotation
	}
	return "rotations.handson.dev/programs/" + n.Program
}

// encode gives the POST body: a structured-mode CloudEvent (the SDK's
// event, JSON-encoded) or the notification as plain JSON.
func encode(f Format, n Notification) ([]byte, string, error) {
	if f == JSON {
		b, err := json.Marshal(n)
		return b, "application/json", err
	}
	ev := cloudevents.NewEvent()
	ev.SetID(n.ID())
	ev.SetSource(Source(n))
	ev.SetType(EventTypePrefix + n.Type)
	ev.SetTime(n.Time)
	if n.Rotation != "" {
		ev.SetSubject(n.Rotation)
	}
	if err := ev.SetData(cloudevents.ApplicationJSON, n); err != nil {
		return nil, "", err
	}
	if err := ev.Validate(); err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(ev)
	return b, "application/cloudevents+json", err
}
