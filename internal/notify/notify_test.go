package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/handson-dev/rotation-operator/internal/notify"
)

var fast = wait.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 3}

func start(t *testing.T, o notify.Options) *notify.Dispatcher {
	t.Helper()
	d := notify.NewDispatcher(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

func note(typ string) notify.Notification {
	return notify.Notification{Type: typ, Program: "cohort", Round: 2, Participant: "alice", Learner: "alice@example.com",
		Rotation: "cohort-alice-r2", Message: "alice asked for help", Time: time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)}
}

// waitFor polls until ok, at most 5s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The receiver reads what it got with the CloudEvents SDK: type, source,
// subject, id and the data.
func TestCloudEventRoundTrip(t *testing.T) {
	got := make(chan *cloudevents.Event, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Errorf("not a CloudEvent: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- ev
	}))
	defer srv.Close()
	d := start(t, notify.Options{Backoff: fast})
	n := note(notify.HelpRequested)
	if !d.Enqueue(notify.Target{URL: srv.URL, Format: notify.CloudEvents}, n) {
		t.Fatal("not queued")
	}
	var ev *cloudevents.Event
	select {
	case ev = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no event received")
	}
	if ev.Type() != "dev.handson.rotations.HelpRequested" || ev.Source() != "rotations.handson.dev/programs/cohort" ||
		ev.Subject() != "cohort-alice-r2" || ev.ID() != n.ID() || !ev.Time().Equal(n.Time) {
		t.Errorf("event %s", ev)
	}
	var data notify.Notification
	if err := ev.DataAs(&data); err != nil || data.Learner != "alice@example.com" || data.Round != 2 {
		t.Errorf("data %+v (%v)", data, err)
	}
}

// The plain JSON format, e.g. for a relay to Slack.
func TestPlainJSON(t *testing.T) {
	got := make(chan notify.Notification, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&n) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- n
	}))
	defer srv.Close()
	d := start(t, notify.Options{Backoff: fast})
	d.Enqueue(notify.Target{URL: srv.URL, Format: notify.JSON}, note(notify.ExercisePassed))
	select {
	case n := <-got:
		if n.Type != notify.ExercisePassed || n.Rotation != "cohort-alice-r2" {
			t.Errorf("got %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
}

// A 500 is retried with backoff until the receiver takes it.
func TestRetriesUntilAccepted(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	sent := notify.Sent(notify.RoundStarted)
	d := start(t, notify.Options{Backoff: wait.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 4}})
	d.Enqueue(notify.Target{URL: srv.URL}, note(notify.RoundStarted))
	waitFor(t, "delivery after two 500s", func() bool { return notify.Sent(notify.RoundStarted) == sent+1 })
	if calls.Load() != 3 {
		t.Errorf("%d calls, want 3", calls.Load())
	}
}

// A receiver answering 500, one that times out and one that is
// unreachable: each notification is retried, then dropped and counted.
func TestUndeliverableIsDroppedAndCounted(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer failing.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	for _, tc := range []struct{ name, url string }{{"500", failing.URL}, {"timeout", slow.URL}, {"unreachable", goneURL}} {
		t.Run(tc.name, func(t *testing.T) {
			before := notify.Dropped(notify.DroppedUndeliverable)
			d := start(t, notify.Options{Backoff: fast, Timeout: 50 * time.Millisecond})
			d.Enqueue(notify.Target{URL: tc.url}, note(notify.ExerciseOverrun))
			waitFor(t, "the drop", func() bool { return notify.Dropped(notify.DroppedUndeliverable) == before+1 })
		})
	}
}

// Enqueue never blocks: with the senders stuck, a full queue drops and counts.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); mu.Unlock() })) //nolint:staticcheck // held to block the sender
	defer srv.Close()
	defer mu.Unlock()
	before := notify.Dropped(notify.DroppedQueueFull)
	d := start(t, notify.Options{QueueSize: 2, Senders: 1, Backoff: fast, Timeout: time.Minute})
	begin := time.Now()
	accepted := 0
	for range 10 {
		if d.Enqueue(notify.Target{URL: srv.URL}, note(notify.HelpRequested)) {
			accepted++
		}
	}
	if time.Since(begin) > 100*time.Millisecond {
		t.Errorf("enqueueing took %s", time.Since(begin))
	}
	// One taken by the stuck sender (maybe), two queued.
	if accepted < 2 || accepted > 3 {
		t.Errorf("%d accepted", accepted)
	}
	if got := notify.Dropped(notify.DroppedQueueFull) - before; int(got) != 10-accepted {
		t.Errorf("%v counted as dropped, want %d", got, 10-accepted)
	}
}
