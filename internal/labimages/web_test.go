package labimages

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The web program, run as the image holds it, with the environment of the
// image's config.

func needLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("runs the images' linux binaries")
	}
}

// imageEnv is the environment the image's config gives its process, plus
// extra.
func imageEnv(t *testing.T, ref string, extra ...string) []string {
	t.Helper()
	cf, err := image(t, ref).Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]string{}, cf.Config.Env...), extra...)
}

// server is a running `web serve`.
type server struct {
	cmd   *exec.Cmd
	url   string
	lines chan string // stdout, line by line
	done  chan error
}

var listening = regexp.MustCompile(`^web listening on \S*:(\d+) `)

// startWeb starts the web binary of ref on a free port and waits until it
// listens.
func startWeb(t *testing.T, ref string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary(t, ref))
	cmd.Env = imageEnv(t, ref, append([]string{"PORT=0"}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case line := <-s.lines:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q, want web listening on ...", line)
		}
		s.url = "http://127.0.0.1:" + m[1]
	case <-time.After(10 * time.Second):
		t.Fatal("web does not say it listens")
	}
	return s
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// nextLine waits for the next stdout line of s.
func (s *server) nextLine(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no log line")
		return ""
	}
}

func TestWebServes(t *testing.T) {
	needLinux(t)
	const delay = 1500 * time.Millisecond
	start := time.Now()
	s := startWeb(t, Web10, "READY_DELAY="+delay.String())

	code, body := httpGet(t, s.url+"/")
	host, _ := os.Hostname()
	if code != 200 || body != "Hello from web 1.0\nserved by "+host+"\n" {
		t.Errorf("/: %d %q, want the greeting of the image config", code, body)
	}
	if l := s.nextLine(t); !regexp.MustCompile(`^\S+ GET / 200 \d+B \S+ 127\.0\.0\.1:\d+ "Go-http-client/1\.1"$`).MatchString(l) {
		t.Errorf("request log line %q", l)
	}
	if code, body := httpGet(t, s.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	s.nextLine(t)
	if time.Since(start) < delay {
		if code, _ := httpGet(t, s.url+"/readyz"); code != 503 {
			t.Errorf("/readyz before READY_DELAY: %d, want 503", code)
		}
		if l := s.nextLine(t); !strings.Contains(l, " GET /readyz 503 ") {
			t.Errorf("log line %q", l)
		}
	} else {
		t.Log("too slow to see /readyz before READY_DELAY")
	}
	// The server's clock starts when the process does, which under load is
	// later than start: poll, and bound how long after the delay it turns.
	time.Sleep(time.Until(start.Add(delay)))
	for {
		code, body := httpGet(t, s.url+"/readyz")
		s.nextLine(t)
		if code == 200 && body == "ready\n" {
			break
		}
		if time.Since(start) > delay+10*time.Second {
			t.Fatalf("/readyz 10s after READY_DELAY: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := httpGet(t, s.url+"/nothing-here"); code != 404 {
		t.Errorf("/nothing-here: %d", code)
	}
	s.nextLine(t)

	// SIGTERM: a graceful stop and exit code 0.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range s.lines {
		rest = append(rest, l)
	}
	if err := <-s.done; err != nil {
		t.Errorf("after SIGTERM: %v, want exit code 0", err)
	}
	if !slices.Contains(rest, "web: stopped") {
		t.Errorf("last lines %q", rest)
	}
}

// TestWeb11Greets: the upgrade target differs by its default greeting.
func TestWeb11Greets(t *testing.T) {
	needLinux(t)
	s := startWeb(t, Web11)
	if _, body := httpGet(t, s.url+"/"); !strings.HasPrefix(body, "Hello from web 1.1\n") {
		t.Errorf("/ of web 1.1: %q", body)
	}
	s = startWeb(t, Web10, "GREETING=hello, rotation")
	if _, body := httpGet(t, s.url+"/"); !strings.HasPrefix(body, "hello, rotation\n") {
		t.Errorf("/ with GREETING set in the pod: %q", body)
	}
}

func TestWebServesWebRoot(t *testing.T) {
	needLinux(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>from a ConfigMap</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startWeb(t, Web10, "WEB_ROOT="+root)
	if code, body := httpGet(t, s.url+"/"); code != 200 || body != "<p>from a ConfigMap</p>\n" {
		t.Errorf("/ with WEB_ROOT: %d %q", code, body)
	}
	if code, _ := httpGet(t, s.url+"/healthz"); code != 200 {
		t.Errorf("/healthz with WEB_ROOT: %d", code)
	}
}

// runWeb runs a web subcommand to its end.
func runWeb(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(binary(t, Web10), args...)
	cmd.Env = imageEnv(t, Web10)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestWebGet(t *testing.T) {
	needLinux(t)
	s := startWeb(t, Web10)
	out, errOut, code := runWeb(t, "get", s.url+"/healthz")
	if code != 0 || out != "ok\n" {
		t.Errorf("web get /healthz: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Without a scheme, like curl.
	if out, _, code := runWeb(t, "get", strings.TrimPrefix(s.url, "http://")+"/"); code != 0 || !strings.HasPrefix(out, "Hello from web 1.0\n") {
		t.Errorf("web get without http://: exit %d, %q", code, out)
	}
	if _, errOut, code := runWeb(t, "get", s.url+"/missing"); code != 1 || !strings.Contains(errOut, "404 Not Found") {
		t.Errorf("web get of a 404: exit %d, stderr %q; want 1 and the status", code, errOut)
	}
	if _, errOut, code := runWeb(t, "get", "http://127.0.0.1:1/"); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("web get of a closed port: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := runWeb(t, "get"); code != 2 {
		t.Errorf("web get without a URL: exit %d, want 2", code)
	}
}

func TestWebTools(t *testing.T) {
	needLinux(t)
	out, _, code := runWeb(t, "env")
	if code != 0 || !strings.Contains(out, "GREETING=Hello from web 1.0\n") || !strings.Contains(out, "PATH=/\n") {
		t.Errorf("web env: exit %d\n%s", code, out)
	}
	out, _, code = runWeb(t, "id")
	if want := "uid=" + strconv.Itoa(os.Getuid()) + " gid=" + strconv.Itoa(os.Getgid()) + " "; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("web id: exit %d, %q, want it to start with %q", code, out, want)
	}
	start := time.Now()
	if _, _, code := runWeb(t, "sleep", "300ms"); code != 0 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("web sleep 300ms: exit %d after %s", code, time.Since(start))
	}
	if _, _, code := runWeb(t, "sleep", "soon"); code != 1 {
		t.Errorf("web sleep soon: exit %d, want 1", code)
	}
	if _, _, code := runWeb(t, "frobnicate"); code != 2 {
		t.Errorf("an unknown command: exit %d, want 2", code)
	}
}

// TestWebAlloc: web alloc makes its memory resident, and holds it until
// SIGTERM.
func TestWebAlloc(t *testing.T) {
	needLinux(t)
	cmd := exec.Command(binary(t, Web10), "alloc", "48Mi")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "allocated 48Mi (50331648 bytes)") {
			break
		}
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "allocated 48Mi") {
		t.Fatalf("output %q", lines)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB$`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmRSS in\n%s", status)
	}
	rss, _ := strconv.Atoi(string(m[1]))
	if rss < 48<<10 {
		t.Errorf("resident %d KiB after allocating 48 MiB", rss)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit code 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("web alloc ignores SIGTERM")
	}
	t.Logf("RSS %d MiB", rss>>10)
	if _, errOut, code := runWeb(t, "alloc", "lots"); code != 1 || !strings.Contains(errOut, "64Mi") {
		t.Errorf("web alloc lots: exit %d, %q", code, errOut)
	}
}

// TestPauseStopsOnSIGTERM: the sandbox program waits for a signal, then
// exits 0.
func TestPauseStopsOnSIGTERM(t *testing.T) {
	needLinux(t)
	cmd := exec.Command(binary(t, Pause))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("pause ended by itself: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// signal.Notify is the first thing main does, well within the 300ms
	// above.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit code 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("pause ignores SIGTERM")
	}
}
