// Command web is the program of the lab image rotation.local/web: a small
// web server, plus the few tools a learner needs inside a container that
// has no shell, so that `kubectl exec` works without one.
//
//	web [serve]          serve HTTP on :$PORT
//	web get URL          GET URL and print the body; exit 1 on an error or a non-2xx status
//	web alloc SIZE       allocate and touch SIZE bytes (64Mi, 1Gi, 500M, 4096), then sleep
//	web env              print the environment, sorted, one VAR=value a line
//	web sleep DURATION   sleep for a Go duration (30s, 5m) or "infinity"
//	web id               print the uid, gid, groups and hostname
//
// serve reads
//
//	PORT         the port to listen on (8080; 0 picks a free one, logged)
//	GREETING     the text of / (the image sets it: the 1.0 and 1.1 images differ only there)
//	READY_DELAY  how long /readyz answers 503 after the start, e.g. 2s (0)
//	WEB_ROOT     if set, / serves the files of this directory instead of the greeting
//
// /healthz answers 200 while the process serves (liveness); /readyz answers
// 200 once READY_DELAY has passed, and 503 again once SIGTERM arrived
// (readiness). Every request is logged to stdout, one line each. SIGTERM
// and SIGINT end every subcommand with exit code 0: the program runs as
// PID 1, which gets no default signal handling from the kernel.
//
// Only the standard library: the image is this one static binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultGreeting is the text of / when GREETING is not set at all.
const defaultGreeting = "Hello from web"

const usage = `usage:
  web [serve]          serve HTTP on :$PORT (8080); env GREETING, READY_DELAY, WEB_ROOT
  web get URL          GET URL and print the body; exit 1 on an error or a non-2xx status
  web alloc SIZE       allocate and touch SIZE bytes (64Mi, 1Gi, 500M), then sleep
  web env              print the environment, sorted
  web sleep DURATION   sleep for a Go duration (30s, 5m) or "infinity"
  web id               print the uid, gid, groups and hostname
`

func main() {
	// Every subcommand stops cleanly on SIGTERM (kubelet) and SIGINT (^C).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program, returning its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = needArgs(args, 0, func() error { return serve(ctx, stdout) })
	case "get":
		err = needArgs(args, 1, func() error { return get(ctx, args[0], stdout) })
	case "alloc":
		err = needArgs(args, 1, func() error { return alloc(ctx, args[0], stdout) })
	case "env":
		err = needArgs(args, 0, func() error { return printEnv(stdout) })
	case "sleep":
		err = needArgs(args, 1, func() error { return sleep(ctx, args[0]) })
	case "id":
		err = needArgs(args, 0, func() error { return id(stdout) })
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "web: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "web %s: %v\n%s", cmd, err, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "web %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

var errUsage = errors.New("wrong number of arguments")

func needArgs(args []string, n int, f func() error) error {
	if len(args) != n {
		return errUsage
	}
	return f()
}

// serve runs the web server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, stdout io.Writer) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	greeting, ok := os.LookupEnv("GREETING")
	if !ok {
		greeting = defaultGreeting
	}
	var readyDelay time.Duration
	if v := os.Getenv("READY_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("READY_DELAY=%q: want a duration such as 2s", v)
		}
		readyDelay = d
	}
	host, _ := os.Hostname()
	start := time.Now()
	var stopping atomic.Bool

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case stopping.Load():
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case time.Since(start) < readyDelay:
			http.Error(w, fmt.Sprintf("not ready: READY_DELAY=%s", readyDelay), http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	root := os.Getenv("WEB_ROOT")
	if root != "" {
		mux.Handle("/", http.FileServer(http.Dir(root)))
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "%s\nserved by %s\n", greeting, host)
		})
	}

	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logRequests(mux, stdout), ReadHeaderTimeout: 10 * time.Second}
	what := "greeting " + strconv.Quote(greeting)
	if root != "" {
		what = "files of " + root
	}
	fmt.Fprintf(stdout, "web listening on %s (uid %d, %s, ready after %s)\n", ln.Addr(), os.Getuid(), what, readyDelay)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopping.Store(true)
	fmt.Fprintln(stdout, "web: signal received, shutting down")
	// Within the default terminationGracePeriodSeconds (30s): requests in
	// flight finish, new connections are refused.
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "web: stopped")
	return nil
}

// statusWriter remembers the status code and size of a response, for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// logRequests logs one line per request: time, method, path, status, size,
// duration, client and user agent. Fprintf writes each line in one call,
// so concurrent requests do not interleave.
func logRequests(next http.Handler, out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		fmt.Fprintf(out, "%s %s %s %d %dB %s %s %q\n", start.UTC().Format(time.RFC3339), r.Method, r.URL.RequestURI(),
			sw.status, sw.bytes, time.Since(start).Round(time.Microsecond), r.RemoteAddr, r.UserAgent())
	})
}

// get is a small curl: the body goes to stdout, and an error or a status
// outside 2xx is an error (exit code 1). A URL without a scheme is http.
//
//nolint:gosec // G704: fetching the URL its user typed is what a curl is for.
func get(ctx context.Context, url string, stdout io.Writer) error {
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "web-get")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// alloc allocates size bytes and writes to every page of them, so they
// count in the container's memory (RSS), then holds them until a signal:
// with a limit below size, the container is OOMKilled.
func alloc(ctx context.Context, size string, stdout io.Writer) error {
	n, err := parseSize(size)
	if err != nil {
		return err
	}
	const chunk, page, report = 1 << 20, 4096, 16 << 20
	keep := make([][]byte, 0, n/chunk+1)
	for done := int64(0); done < n; {
		b := make([]byte, min(chunk, n-done))
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
		keep = append(keep, b)
		done += int64(len(b))
		if done%report == 0 && done < n {
			fmt.Fprintf(stdout, "allocated %d MiB\n", done>>20)
		}
	}
	fmt.Fprintf(stdout, "allocated %s (%d bytes), holding it until stopped\n", size, n)
	<-ctx.Done()
	runtime.KeepAlive(keep)
	return nil
}

// parseSize reads a size like a Kubernetes quantity: a whole number of
// bytes, with an optional suffix Ki, Mi, Gi, Ti (powers of 1024) or k, M,
// G, T (powers of 1000).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	num, factor := s, int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = rest, u.factor
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/factor {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with Ki, Mi, Gi, Ti, k, M, G or T (64Mi)", s)
	}
	return v * factor, nil
}

func printEnv(stdout io.Writer) error {
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		if _, err := fmt.Fprintln(stdout, kv); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits for d or a signal, whichever comes first.
func sleep(ctx context.Context, d string) error {
	if d == "infinity" {
		<-ctx.Done()
		return nil
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur < 0 {
		return fmt.Errorf("duration %q: want a Go duration such as 30s or 5m, or infinity", d)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

func id(stdout io.Writer) error {
	groups, _ := os.Getgroups()
	host, _ := os.Hostname()
	g := make([]string, len(groups))
	for i, n := range groups {
		g[i] = strconv.Itoa(n)
	}
	_, err := fmt.Fprintf(stdout, "uid=%d gid=%d groups=%s hostname=%s\n", os.Getuid(), os.Getgid(), strings.Join(g, ","), host)
	return err
}
