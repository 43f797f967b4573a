package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// LibraryNamespace is the path, under the prefix, of the images every lab
// may pull and none may push: the project's offline bases (such as
// library/static:nonroot), so learners build images in a lab without
// the internet. Lab namespaces start with "lab-", so no lab is called so.
const LibraryNamespace = "library"

// LibraryRepository is the repository of a library image, as image
// references name it: "<host>/<prefix>/library/<image>".
func (c Config) LibraryRepository(image string) string {
	return c.Host + "/" + c.LabPrefix(LibraryNamespace) + "/" + image
}

// PutLibrary stores img as library/<repoTag> (e.g. "static:nonroot").
// It writes through distribution's handler directly, without the labs'
// authentication: only the operator stocks the library.
func (s *Server) PutLibrary(ctx context.Context, repoTag string, img v1.Image) error {
	ref, err := name.ParseReference("library.invalid/"+s.labPrefix(LibraryNamespace)+"/"+repoTag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("library image %q: %w", repoTag, err)
	}
	return remote.Write(ref, img, remote.WithContext(ctx), remote.WithTransport(handlerTransport{s.app}))
}

// handlerTransport answers requests with an http.Handler in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// A server-side request has a body (maybe empty) and a RequestURI,
	// where a client request may have neither.
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	in.Host = r.URL.Host
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// libraryRead tells whether a request only reads: the library is
// read-only to labs.
func libraryRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}
