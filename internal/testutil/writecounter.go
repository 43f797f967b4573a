package testutil

import (
	"net/http"
	"sync"

	"k8s.io/client-go/rest"
)

// WriteCounter counts the API write requests (POST, PUT, PATCH, DELETE) made
// through a rest.Config, whatever client or event recorder made them.
type WriteCounter struct {
	mu     sync.Mutex
	writes []string
}

// Wrap installs the counter on cfg's transport.
func (w *WriteCounter) Wrap(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			switch req.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				w.mu.Lock()
				w.writes = append(w.writes, req.Method+" "+req.URL.Path)
				w.mu.Unlock()
			}
			return rt.RoundTrip(req)
		})
	})
}

// Reset forgets the writes so far.
func (w *WriteCounter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = nil
}

// Writes returns the writes since the last Reset, as "METHOD path".
func (w *WriteCounter) Writes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
