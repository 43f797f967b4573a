package faults_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"

	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// conflicts answers the first n status writes (PUT or PATCH) of one
// rotation with 409 Conflict, as the apiserver does when the object changed
// since it was read, without passing them on.
type conflicts struct {
	rotation string
	n        int64
	injected atomic.Int64
}

func (c *conflicts) fault(rt http.RoundTripper) http.RoundTripper {
	path := "/apis/rotations.handson.dev/v1alpha1/learningrotations/" + c.rotation + "/status"
	return harness.RoundTripFunc(func(req *http.Request) (*http.Response, error) {
		if (req.Method != http.MethodPut && req.Method != http.MethodPatch) || req.URL.Path != path {
			return rt.RoundTrip(req)
		}
		if c.injected.Add(1) > c.n {
			c.injected.Add(-1)
			return rt.RoundTrip(req)
		}
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			_ = req.Body.Close()
		}
		body := fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
			`"message":"Operation cannot be fulfilled on learningrotations.rotations.handson.dev \"%s\": the object has been modified; please apply your changes to the latest version and try again",`+
			`"reason":"Conflict","details":{"name":"%s","group":"rotations.handson.dev","kind":"learningrotations"},"code":409}`, c.rotation, c.rotation)
		return &http.Response{
			StatusCode: http.StatusConflict, Status: "409 Conflict", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": []string{"application/json"}},
			Body:          io.NopCloser(bytes.NewBufferString(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	})
}

// The first status writes of a new rotation all conflict: more than one
// pass's retries (a pass tries 4 times). The rotation still becomes Ready,
// and the events of the pass are sent once, after the write that succeeds.
func TestFaultStatusConflicts(t *testing.T) {
	const name, n = "conflicts", 10
	c := &conflicts{rotation: name, n: n}
	startOperator(t, "conflicted", operator.Options{}, c.fault)
	start := time.Now()
	createRotation(t, rotation(name))
	lr, _ := waitReady(t, name, 90*time.Second)
	converged(t, fmt.Sprintf("status-conflicts-%d", n), time.Since(start))
	if got := c.injected.Load(); got != n {
		t.Fatalf("%d conflicts injected, want %d", got, n)
	}
	inventory(t, lr)

	// Events are queued per pass and sent only once the status is written:
	// the failed passes must not have announced the lab.
	time.Sleep(time.Second) // the event broadcaster is asynchronous
	announcedOnce(t, name)
}

// The pass that follows a rotation's first status write often reads the
// rotation from a cache that has not seen that write yet. Its status write
// then conflicts, and it must not announce the lab a second time: several
// rotations are provisioned at once and each gets one Provisioned event.
func TestFaultStaleCacheAnnouncesOnce(t *testing.T) {
	op := startOperator(t, "stale", operator.Options{})
	names := []string{"stale-a", "stale-b", "stale-c", "stale-d", "stale-e"}
	start := time.Now()
	for _, n := range names {
		createRotation(t, rotation(n))
	}
	for _, n := range names {
		waitReady(t, n, 90*time.Second)
	}
	converged(t, fmt.Sprintf("stale-cache-%d-rotations", len(names)), time.Since(start))
	if err := op.Writes.WaitQuiet(2*time.Second, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	for _, w := range op.Writes.Writes() {
		if w.Code == http.StatusConflict {
			conflicts++
		}
	}
	t.Logf("%d status conflicts from stale reads", conflicts)
	for _, n := range names {
		announcedOnce(t, n)
	}
}

// announcedOnce: the lab was announced by exactly one Provisioned event,
// which also tells of the kubeconfig (issue 19 folded the KubeconfigIssued
// event of the provisioning pass into it), and by no separate
// KubeconfigIssued event.
func announcedOnce(t *testing.T, rotation string) {
	t.Helper()
	if got := eventsOf(t, rotation, "Provisioned"); len(got) != 1 || !strings.HasSuffix(got[0], " x1") || !strings.Contains(got[0], "kubeconfig") {
		t.Errorf("rotation %s: Provisioned events %v, want exactly one naming the kubeconfig", rotation, got)
	}
	if got := eventsOf(t, rotation, "KubeconfigIssued"); len(got) != 0 {
		t.Errorf("rotation %s: KubeconfigIssued events %v, want none besides Provisioned", rotation, got)
	}
}

// eventsOf lists a rotation's events of a reason as "note xCOUNT".
func eventsOf(t *testing.T, rotation, reason string) []string {
	t.Helper()
	events := &eventsv1.EventList{}
	if err := admin.List(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events.Items {
		if e.Regarding.Kind == "LearningRotation" && e.Regarding.Name == rotation && e.Reason == reason {
			count := int32(1)
			if e.Series != nil {
				count = e.Series.Count
			}
			out = append(out, fmt.Sprintf("%s x%d", e.Note, count))
		}
	}
	return out
}
