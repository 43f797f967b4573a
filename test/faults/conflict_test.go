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
	events := &eventsv1.EventList{}
	if err := admin.List(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	var provisioned []string
	for _, e := range events.Items {
		if e.Regarding.Kind == "LearningRotation" && e.Regarding.Name == name && e.Reason == "Provisioned" {
			count := int32(1)
			if e.Series != nil {
				count = e.Series.Count
			}
			provisioned = append(provisioned, fmt.Sprintf("%s x%d", e.Note, count))
		}
	}
	if len(provisioned) != 1 || !strings.HasSuffix(provisioned[0], "x1") {
		t.Errorf("Provisioned events: %v, want exactly one", provisioned)
	}
}
