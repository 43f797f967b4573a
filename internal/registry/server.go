package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	v2 "github.com/distribution/distribution/v3/registry/api/v2"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // the filesystem storage driver
	"github.com/go-logr/logr"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// Defaults of Options.
const (
	DefaultAddr = "127.0.0.1:0"
	// DefaultMaxBodyBytes bounds one request body (a blob or chunk upload,
	// a manifest): 1 GiB, more than any lab image layer needs.
	DefaultMaxBodyBytes = 1 << 30
	// DefaultMaxCatalog bounds the repositories a lab's catalog lists.
	DefaultMaxCatalog = 1000
	// DefaultMaxLabBytes bounds the storage of one lab: 2 GiB, room for a
	// dozen images of a small service, so that one lab cannot fill the
	// registry's disk for every other.
	DefaultMaxLabBytes = 2 << 30
)

// realm is the Basic auth realm clients are challenged with.
const realm = "rotation-operator lab registry"

// Options configure a Server.
type Options struct {
	// Dir is where images are stored (distribution's filesystem layout).
	// Required.
	Dir string
	// Key derives and verifies the labs' credentials. Required.
	Key []byte
	// Addr is the listen address; DefaultAddr (loopback, any port) if empty.
	Addr string
	// TLS, when set, serves HTTPS with it (a cluster's registry,
	// cmd/lab-registry); nil serves plain HTTP (loopback).
	TLS *tls.Config
	// Prefix is the repository prefix of labs' repositories (Config.Prefix).
	Prefix string
	// MaxBodyBytes bounds a request body; DefaultMaxBodyBytes if zero.
	MaxBodyBytes int64
	// MaxCatalog bounds the repositories of a lab's catalog; DefaultMaxCatalog if zero.
	MaxCatalog int
	// MaxLabBytes bounds a lab's storage (see labUsage); DefaultMaxLabBytes
	// if zero, no bound if negative.
	MaxLabBytes int64
	// Log receives refused requests (V(1)) and server errors.
	Log logr.Logger
	// DistributionLogs keeps distribution's own logs (logrus's standard
	// logger: a line per request). They are off by default, which sets
	// that process-wide logger's level: the operator itself does not log
	// through logrus.
	DistributionLogs bool
}

// Server is an OCI distribution registry for labs: distribution v3's
// registry (github.com/distribution/distribution/v3, the reference
// implementation) storing to disk, behind per-lab authentication and
// authorization:
//
//   - every request must sign in with Basic auth as a lab: user = lab
//     namespace, password = Credentials(key, namespace); anonymous and
//     wrong credentials get 401 UNAUTHORIZED with a Basic challenge;
//   - a lab reads and writes only repositories under <prefix>/<namespace>/,
//     and may read (not write) the shared <prefix>/library/ (PutLibrary);
//     anything else is 403 DENIED;
//   - a cross-repository blob mount from outside the lab is turned into a
//     plain upload (the client then pushes the blob itself);
//   - /v2/_catalog lists only the lab's own repositories;
//   - a lab's blob uploads stop at MaxLabBytes of storage (403 DENIED
//     saying how much it uses).
//
// It holds no per-lab state: the credentials are derived from the key.
type Server struct {
	opts   Options
	app    *handlers.App
	router *mux.Router

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// New makes a Server storing into opts.Dir; Handler serves it at once, Start
// listens on opts.Addr.
func New(opts Options) (s *Server, err error) {
	if opts.Dir == "" {
		return nil, errors.New("registry: Options.Dir is required")
	}
	if len(opts.Key) < KeySize {
		return nil, fmt.Errorf("registry: Options.Key is %d bytes, want at least %d", len(opts.Key), KeySize)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxCatalog <= 0 {
		opts.MaxCatalog = DefaultMaxCatalog
	}
	if opts.MaxLabBytes == 0 {
		opts.MaxLabBytes = DefaultMaxLabBytes
	}
	if opts.Prefix != "" {
		if err := (Config{Host: "x", Prefix: opts.Prefix}).Validate(); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	opts.Dir = dir

	cfg := &configuration.Configuration{
		Version: "0.1",
		Storage: configuration.Storage{
			"filesystem": configuration.Parameters{"rootdirectory": dir},
			"delete":     configuration.Parameters{"enabled": true},
			"cache":      configuration.Parameters{"blobdescriptor": "inmemory"},
		},
	}
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "warn"
	// The upload state HMAC key, stable across restarts so that an upload
	// in progress survives one; derived so there is no second secret.
	cfg.HTTP.Secret = derive(opts.Key, "http secret")
	cfg.Catalog.MaxEntries = opts.MaxCatalog

	if !opts.DistributionLogs {
		logrus.SetLevel(logrus.PanicLevel)
	}
	// NewApp panics on a bad configuration or storage it cannot create.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("registry: starting distribution: %v", r)
		}
	}()
	app := handlers.NewApp(context.Background(), cfg)
	return &Server{opts: opts, app: app, router: v2.Router()}, nil
}

func derive(key []byte, purpose string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rotation-operator lab registry " + purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// Handler is the registry's HTTP handler, with authentication and
// authorization, for serving it elsewhere (behind TLS, in tests).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on Options.Addr and serves in the background until Stop.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("registry: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(serverErrors{s.opts.Log}, "", 0),
	}
	s.done = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr is the address the server listens on (host:port), "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Config is how labs and the grading collector reach this server once it
// has started: plain HTTP (or TLS) on its address, per-lab credentials.
func (s *Server) Config() Config {
	return Config{Host: s.Addr(), Prefix: s.opts.Prefix, Insecure: s.opts.TLS == nil, Key: s.opts.Key}
}

// Stop stops serving, waiting for requests in flight until ctx ends, and
// stops distribution's background work. The stored images stay on disk.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
		errs = append(errs, <-done)
	}
	errs = append(errs, s.app.Shutdown())
	return errors.Join(errs...)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || !validNamespace(user) || !Verify(s.opts.Key, user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
		msg := "sign in with your lab's registry credentials (user: your lab namespace)"
		if ok {
			msg = "wrong lab registry credentials"
		}
		s.opts.Log.V(1).Info("registry request refused: not signed in", "user", user, "method", r.Method, "path", r.URL.Path)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
		return
	}
	var match mux.RouteMatch
	if !s.router.Match(r, &match) || match.Route == nil {
		s.app.ServeHTTP(w, r) // distribution's own 404
		return
	}
	lab := s.labPrefix(user)
	switch match.Route.GetName() {
	case v2.RouteNameBase:
		s.app.ServeHTTP(w, r)
		return
	case v2.RouteNameCatalog:
		s.catalog(w, r, lab)
		return
	}
	repo := match.Vars["name"]
	if within(s.labPrefix(LibraryNamespace), repo) {
		if !libraryRead(r.Method) {
			s.opts.Log.V(1).Info("registry request refused: the library is read-only", "user", user, "method", r.Method, "repository", repo)
			writeError(w, http.StatusForbidden, "DENIED",
				fmt.Sprintf("%s/ holds the project's base images and is read-only: push to your lab's repositories under %s/", s.labPrefix(LibraryNamespace), lab))
			return
		}
		s.app.ServeHTTP(w, r)
		return
	}
	if !within(lab, repo) {
		s.opts.Log.V(1).Info("registry request refused: outside the lab", "user", user, "method", r.Method, "repository", repo)
		writeError(w, http.StatusForbidden, "DENIED",
			fmt.Sprintf("lab %s may only use repositories under %s/", user, lab))
		return
	}
	if match.Route.GetName() == v2.RouteNameBlobUpload && r.Method == http.MethodPost {
		// distribution reads mount and from with FormValue: query or form body.
		if from := r.FormValue("from"); from != "" && !within(lab, from) {
			for _, f := range []url.Values{r.Form, r.PostForm} {
				f.Del("from")
				f.Del("mount")
			}
			q := r.URL.Query()
			q.Del("from")
			q.Del("mount")
			r.URL.RawQuery = q.Encode()
		}
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID",
			fmt.Sprintf("the request body is %d bytes, over the registry's limit of %d bytes", r.ContentLength, s.opts.MaxBodyBytes))
		return
	}
	limit := s.opts.MaxBodyBytes
	if s.opts.MaxLabBytes > 0 && isBlobWrite(match.Route.GetName(), r.Method) {
		used, err := s.labUsage(lab)
		if err != nil {
			s.opts.Log.Error(err, "registry storage usage", "lab", user)
			writeError(w, http.StatusInternalServerError, "UNKNOWN", "measuring the lab's storage failed")
			return
		}
		left := s.opts.MaxLabBytes - used
		if left <= 0 || r.ContentLength > left {
			s.opts.Log.V(1).Info("registry request refused: lab storage full", "user", user, "used", used, "limit", s.opts.MaxLabBytes)
			writeError(w, http.StatusForbidden, "DENIED", fmt.Sprintf(
				"lab %s uses %d of its %d bytes of registry storage: delete images and layers it no longer needs (crane delete, or DELETE /v2/<name>/blobs/<digest>), or ask your mentor",
				user, used, s.opts.MaxLabBytes))
			return
		}
		// A chunk of unannounced length stops where the quota does.
		limit = min(limit, left)
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	s.app.ServeHTTP(w, r)
}

// isBlobWrite tells the requests that add blob data: starting an upload
// (which may carry the whole blob), and sending or finishing one.
func isBlobWrite(route, method string) bool {
	switch route {
	case v2.RouteNameBlobUpload:
		return method == http.MethodPost
	case v2.RouteNameBlobUploadChunk:
		return method == http.MethodPatch || method == http.MethodPut
	}
	return false
}

// labUsage is the storage a lab holds: the distinct blobs linked into its
// repositories (layers and configs, counted once however many of its
// repositories share them) and its uploads in progress. Blobs other labs
// also link are counted for each: every lab pays for what it references.
// It walks the lab's part of distribution's layout,
// <root>/docker/registry/v2/repositories/<lab>/.../{_layers,_uploads}.
func (s *Server) labUsage(lab string) (int64, error) {
	v2dir := filepath.Join(s.opts.Dir, "docker", "registry", "v2")
	root := filepath.Join(v2dir, "repositories", filepath.FromSlash(lab))
	blobs := map[string]bool{}
	var total int64
	// G703: lab derives from a user that passed validNamespace (a DNS label:
	// no "/" or "..") and the credential check.
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error { //nolint:gosec // see above
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() != "link" && d.Name() != "data" {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		n := len(parts)
		switch {
		case d.Name() == "data" && n >= 3 && parts[n-3] == "_uploads":
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		case d.Name() == "link" && n >= 4 && parts[n-4] == "_layers" && parts[n-3] == "sha256":
			hex := parts[n-2]
			if blobs[hex] || len(hex) < 2 {
				return nil
			}
			blobs[hex] = true
			fi, err := os.Stat(filepath.Join(v2dir, "blobs", "sha256", hex[:2], hex, "data"))
			if err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", lab, err)
	}
	return total, nil
}

func (s *Server) labPrefix(namespace string) string {
	return Config{Prefix: s.opts.Prefix}.LabPrefix(namespace)
}

// within reports whether repository lies under the lab prefix.
func within(labPrefix, repository string) bool {
	rest, ok := strings.CutPrefix(repository, labPrefix+"/")
	return ok && rest != "" && !strings.HasPrefix(rest, "/")
}

// catalog lists the lab's repositories, sorted, with distribution's
// pagination (n, last, a Link header to the next page).
func (s *Server) catalog(w http.ResponseWriter, r *http.Request, lab string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the catalog is read-only")
		return
	}
	q := r.URL.Query()
	n := s.opts.MaxCatalog
	if v := q.Get("n"); v != "" {
		parsed, err := strconv.Atoi(v)
		if err != nil || parsed < 0 {
			writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a non-negative number")
			return
		}
		n = min(parsed, n)
	}
	repos, err := s.repositories(lab)
	if err != nil {
		s.opts.Log.Error(err, "registry catalog")
		writeError(w, http.StatusInternalServerError, "UNKNOWN", "listing repositories failed")
		return
	}
	last := q.Get("last")
	i := sort.SearchStrings(repos, last)
	for i < len(repos) && last != "" && repos[i] <= last {
		i++
	}
	page := repos[i:]
	if len(page) > n {
		page = page[:n]
		next := url.URL{Path: r.URL.Path, RawQuery: url.Values{"n": {strconv.Itoa(n)}, "last": {page[len(page)-1]}}.Encode()}
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	if page == nil {
		page = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	_ = json.NewEncoder(w).Encode(map[string][]string{"repositories": page})
}

// repositories walks distribution's storage for the repositories under
// the lab prefix: folders holding a _manifests folder, in
// <root>/docker/registry/v2/repositories/<name>/. At most MaxCatalog.
func (s *Server) repositories(lab string) ([]string, error) {
	base := filepath.Join(s.opts.Dir, "docker", "registry", "v2", "repositories")
	root := filepath.Join(base, filepath.FromSlash(lab))
	var out []string
	errFull := errors.New("full")
	// G703: lab derives from a user that passed validNamespace (a DNS label:
	// no "/" or "..") and the credential check.
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error { //nolint:gosec // see above
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), "_") {
			if d.Name() == "_manifests" {
				rel, err := filepath.Rel(base, filepath.Dir(p))
				if err != nil {
					return err
				}
				out = append(out, filepath.ToSlash(rel))
				if len(out) >= s.opts.MaxCatalog {
					return errFull
				}
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// writeError writes a distribution-spec error response.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"code": code, "message": message}}})
}

// serverErrors passes net/http's server errors to the registry's log,
// without the TLS handshakes a TCP probe (the kubelet's) leaves unfinished.
type serverErrors struct{ log logr.Logger }

func (w serverErrors) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if strings.Contains(line, "TLS handshake error") && strings.HasSuffix(line, "EOF") {
		return len(p), nil
	}
	w.log.Info(line)
	return len(p), nil
}
