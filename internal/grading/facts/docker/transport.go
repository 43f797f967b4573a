package docker

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errResponseTooLarge is wrapped by the bounded transport's errors.
var errResponseTooLarge = errors.New("registry response too large")

// boundedTransport fails any response body over max bytes, so a huge
// manifest, config or page of tags cannot take the operator's memory:
// go-containerregistry reads them whole. The collector never downloads
// layers, so every legitimate response is small.
type boundedTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w: %d bytes, over the %d KiB limit", req.Method, req.URL.Path, errResponseTooLarge, resp.ContentLength, t.max>>10)
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, what: req.Method + " " + req.URL.Path, max: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	what string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Is there more? Read one byte to tell a body of exactly max bytes
		// from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%s: %w: over the %d KiB limit", b.what, errResponseTooLarge, b.max>>10)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
