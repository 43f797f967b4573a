package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// OperatorConfig is how the operator subprocess is run.
type OperatorConfig struct {
	MaxConcurrentReconciles int
	// QPS is the client QPS: 0 the operator's default, negative unlimited.
	QPS   float64
	Burst int
}

func (c OperatorConfig) String() string {
	qps := "default"
	switch {
	case c.QPS < 0:
		qps = "unlimited"
	case c.QPS > 0:
		qps = fmt.Sprintf("%g/%d", c.QPS, c.Burst)
	}
	mcr := "default"
	if c.MaxConcurrentReconciles > 0 {
		mcr = strconv.Itoa(c.MaxConcurrentReconciles)
	}
	return fmt.Sprintf("mcr=%s qps=%s", mcr, qps)
}

// operatorProc is a running operator subprocess.
type operatorProc struct {
	cmd     *exec.Cmd
	metrics string
	started time.Time
	done    chan error
}

// startOperator runs this binary's "operator" mode against kubeconfig.
func startOperator(self, kubeconfig string, c OperatorConfig, log io.Writer) (*operatorProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"operator", "--kubeconfig", kubeconfig, "--metrics-bind-address", addr,
		"--max-concurrent-reconciles", strconv.Itoa(c.MaxConcurrentReconciles),
		"--kube-api-qps", strconv.FormatFloat(c.QPS, 'g', -1, 64), "--kube-api-burst", strconv.Itoa(c.Burst)}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &operatorProc{cmd: cmd, metrics: "http://" + addr + "/metrics", started: time.Now(), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// stop sends SIGTERM and waits for the process to end.
func (p *operatorProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done: //nolint:errcheck // the exit status after a signal does not matter
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done //nolint:errcheck // as above
	}
}

// scrape reads the operator's metrics; an error until it serves them.
func (p *operatorProc) scrape(ctx context.Context) (metrics, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("the operator exited: %w", err)
	default:
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metrics, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

// waitMetrics scrapes until the metrics endpoint answers.
func (p *operatorProc) waitMetrics(ctx context.Context) (metrics, error) {
	for {
		m, err := p.scrape(ctx)
		if err == nil {
			return m, nil
		}
		if strings.Contains(err.Error(), "exited") {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memory reads the process's resident set (now and peak) from /proc, in bytes.
func (p *operatorProc) memory() (rss, hwm float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb * 1024
		case "VmHWM:":
			hwm = kb * 1024
		}
	}
	return rss, hwm
}

// metrics are Prometheus text samples: the full series text ("name{labels}") to value.
type metrics map[string]float64

func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds the samples of a metric whose labels contain every given `k="v"`.
func (m metrics) sum(name string, labels ...string) float64 {
	var total float64
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
				break
			}
		}
		if ok {
			total += v
		}
	}
	return total
}

// writes is the operator's API write count, by category.
type writes struct{ objects, status, tokens, events, learner, total float64 }

func (m metrics) writes() writes {
	var w writes
	// rest_client_requests_total counts every client-go request of the
	// process, including those of the learner clients the operator makes for
	// starter objects, which carry no transport wrapper of the operator's.
	var all float64
	for _, verb := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		all += m.sum("rest_client_requests_total", `method="`+verb+`"`)
	}
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n != "rotation_bench_api_writes_total" {
			continue
		}
		w.total += v
		switch {
		case strings.Contains(labels, `resource="events`):
			w.events += v
		case strings.Contains(labels, `resource="serviceaccounts/token"`):
			w.tokens += v
		case strings.Contains(labels, `/status"`):
			w.status += v
		default:
			w.objects += v
		}
	}
	w.learner = all - w.total
	w.total = all
	return w
}

func (w writes) minus(b writes) writes {
	return writes{w.objects - b.objects, w.status - b.status, w.tokens - b.tokens, w.events - b.events, w.learner - b.learner, w.total - b.total}
}

func (w writes) String() string {
	return fmt.Sprintf("%.0f (objects %.0f + %.0f as the learner, status %.0f, token requests %.0f, events %.0f)", w.total, w.objects, w.learner, w.status, w.tokens, w.events)
}

// reconciles is the LearningRotation controller's reconcile count.
func (m metrics) reconciles() float64 {
	return m.sum("controller_runtime_reconcile_total", `controller="learningrotation"`)
}

// idle tells whether the LearningRotation controller has nothing queued or running.
func (m metrics) idle() bool {
	return m.sum("workqueue_depth", `name="learningrotation"`) == 0 &&
		m.sum("controller_runtime_active_workers", `controller="learningrotation"`) == 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
