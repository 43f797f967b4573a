package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
)

// session is an operator subprocess on a fresh control plane.
type session struct {
	env     *env
	self    string
	cfg     OperatorConfig
	proc    *operatorProc
	tracker *tracker
	names   []string
	log     io.Writer
}

func newSession(ctx context.Context, root, self string, cfg OperatorConfig, log io.Writer) (*session, error) {
	e, err := startEnv(ctx, root, log)
	if err != nil {
		return nil, err
	}
	s := &session{env: e, self: self, cfg: cfg, log: log}
	if s.tracker, err = startTracker(ctx, e.cluster.Config, newStatusTrace(log)); err != nil {
		e.stop()
		return nil, err
	}
	if err := s.startOperator(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *session) stop() {
	if s.proc != nil {
		s.proc.stop()
	}
	s.env.stop()
}

// startOperator starts the operator and waits until it has installed the
// catalog, compiled it, and stopped writing.
func (s *session) startOperator(ctx context.Context) error {
	p, err := startOperator(s.self, s.env.operatorKubeconfig, s.cfg, s.log)
	if err != nil {
		return err
	}
	s.proc = p
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := p.waitMetrics(ctx); err != nil {
		return err
	}
	for {
		list := &rotationsv1.ExerciseList{}
		if err := s.env.admin.List(ctx, list); err != nil {
			return err
		}
		ready := 0
		for _, ex := range list.Items {
			if meta.IsStatusConditionTrue(ex.Status.Conditions, rotationsv1.ConditionReady) {
				ready++
			}
		}
		if len(list.Items) > 0 && ready == len(list.Items) {
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for the catalog: %w", err)
		}
	}
	_, err = s.quiesce(ctx, 2*time.Second, time.Minute)
	return err
}

// quiesce waits until the operator has made no write for quiet and its
// queue is empty, and returns its metrics then.
func (s *session) quiesce(ctx context.Context, quiet, limit time.Duration) (metrics, error) {
	deadline := time.Now().Add(limit)
	last, err := s.proc.scrape(ctx)
	if err != nil {
		return nil, err
	}
	since := time.Now()
	for {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
		m, err := s.proc.scrape(ctx)
		if err != nil {
			return nil, err
		}
		if m.writes().total != last.writes().total || !m.idle() {
			last, since = m, time.Now()
		}
		if time.Since(since) >= quiet || time.Now().After(deadline) {
			return m, nil
		}
	}
}

// provResult is one provisioning run.
type provResult struct {
	cfg        OperatorConfig
	n          int
	elapsed    time.Duration
	atReady    writes
	settled    writes
	reconciles float64
	// reads are the operator's GET and LIST requests (the cache's initial
	// lists and watches aside, which are made before the rotations exist).
	reads float64
	// cpu is the operator's CPU time, in seconds, from the first create
	// until it settled.
	cpu float64
	// childCPU is the CPU time of the control plane's processes (and the
	// operator's) over the same span, by command name.
	childCPU  map[string]float64
	rss, heap float64
	baseRSS   float64
}

// provision creates n rotations and times them until all are Ready, then
// waits for the operator to settle.
func (s *session) provision(ctx context.Context, prefix string, n int) (provResult, error) {
	r := provResult{cfg: s.cfg, n: n}
	base, err := s.proc.scrape(ctx)
	if err != nil {
		return r, err
	}
	r.baseRSS, _ = s.proc.memory()
	cpu0 := childCPU()
	start := time.Now()
	lrs, err := createRotations(ctx, s.env.admin, prefix, n)
	if err != nil {
		return r, err
	}
	names := make([]string, n)
	for i, lr := range lrs {
		names[i] = lr.Name
	}
	s.names = append(s.names, names...)
	deadline := time.Now().Add(15 * time.Minute)
	for s.tracker.readyCount(names) < n {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("only %d of %d rotations Ready after 15 minutes", s.tracker.readyCount(names), n)
		}
		select {
		case <-s.tracker.changed:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	r.elapsed = time.Since(start)
	m, err := s.proc.scrape(ctx)
	if err != nil {
		return r, err
	}
	r.atReady = m.writes().minus(base.writes())
	if m, err = s.quiesce(ctx, 3*time.Second, time.Minute); err != nil {
		return r, err
	}
	r.settled = m.writes().minus(base.writes())
	s.logEvents(ctx)
	fmt.Fprintf(s.log, "[bench] status changes by field while provisioning: %s\n", s.tracker.trace.summary())
	r.reconciles = m.reconciles() - base.reconciles()
	r.reads = m.sum("rest_client_requests_total", `method="GET"`) - base.sum("rest_client_requests_total", `method="GET"`)
	r.cpu = m.sum("process_cpu_seconds_total") - base.sum("process_cpu_seconds_total")
	r.childCPU = cpuSince(cpu0)
	r.rss, _ = s.proc.memory()
	r.heap = m.sum("go_memstats_heap_inuse_bytes")
	return r, nil
}

// idleResult is the operator's activity over an idle period.
type idleResult struct {
	d          time.Duration
	writes     writes
	reconciles float64
}

func (s *session) idle(ctx context.Context, d time.Duration) (idleResult, error) {
	m0, err := s.proc.scrape(ctx)
	if err != nil {
		return idleResult{}, err
	}
	if err := sleep(ctx, d); err != nil {
		return idleResult{}, err
	}
	m1, err := s.proc.scrape(ctx)
	if err != nil {
		return idleResult{}, err
	}
	return idleResult{d: d, writes: m1.writes().minus(m0.writes()), reconciles: m1.reconciles() - m0.reconciles()}, nil
}

// restartResult is a cold restart of the operator over existing labs.
type restartResult struct {
	resync     time.Duration
	writes     writes
	reconciles float64
}

// restart stops the operator and starts a new process. Resync is complete
// when the new process has run at least one LearningRotation reconcile per
// rotation (controller_runtime_reconcile_total) and its work queue is empty
// with no reconcile running: every rotation was queued by the initial list,
// so each has been reconciled once. Writes are counted until then plus 5 s.
func (s *session) restart(ctx context.Context) (restartResult, error) {
	var r restartResult
	s.proc.stop()
	p, err := startOperator(s.self, s.env.operatorKubeconfig, s.cfg, s.log)
	if err != nil {
		return r, err
	}
	s.proc = p
	n := float64(len(s.names))
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		m, err := p.scrape(ctx2)
		if err == nil && m.reconciles() >= n && m.idle() {
			r.resync = time.Since(p.started)
			break
		}
		if err := sleep(ctx2, 50*time.Millisecond); err != nil {
			return r, fmt.Errorf("waiting for the resync: %w", err)
		}
	}
	if err := sleep(ctx, 5*time.Second); err != nil {
		return r, err
	}
	m, err := p.scrape(ctx)
	if err != nil {
		return r, err
	}
	r.writes, r.reconciles = m.writes(), m.reconciles()
	return r, nil
}

// gradingResult is change-to-status latency under load.
type gradingResult struct {
	samples    []time.Duration
	lost       int
	rate       float64
	cpuPerPass time.Duration
	passes     float64
	wall       time.Duration
}

func (g gradingResult) pct(p float64) time.Duration {
	if len(g.samples) == 0 {
		return 0
	}
	s := slices.Clone(g.samples)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

// grade has every learner scale the starter Deployment web, alternately to
// 3 and 2 replicas, `rounds` times, at `rate` changes per second across all
// labs, and measures each change until the rotation's status shows the
// check three-replicas with the new result (seen through a watch, as a
// mentor's dashboard would). CPU per pass is the operator's CPU time over
// the phase divided by its LearningRotation reconciles.
func (s *session) grade(ctx context.Context, rounds int, rate float64) (gradingResult, error) {
	g := gradingResult{rate: rate}
	learners, err := s.learnerClients()
	if err != nil {
		return g, err
	}
	m0, err := s.proc.scrape(ctx)
	if err != nil {
		return g, err
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for round := range rounds {
		want := round%2 == 0
		replicas := int32(2)
		if want {
			replicas = 3
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		exps := make([]*expectation, len(s.names))
		tick := time.NewTicker(interval)
		for i, name := range s.names {
			<-tick.C
			exps[i] = s.tracker.expect(name, "scale-and-expose", "three-replicas", want)
			wg.Add(1)
			go func() {
				defer wg.Done()
				patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
				d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: lab.Namespace(name), Name: "web"}}
				if err := learners[i].Patch(ctx, d, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		tick.Stop()
		wg.Wait()
		if len(errs) > 0 {
			return g, fmt.Errorf("%d learner changes failed, first: %w", len(errs), errs[0])
		}
		timeout := time.After(60 * time.Second)
		for _, e := range exps {
			select {
			case <-e.done:
				g.samples = append(g.samples, e.latency)
			case <-timeout:
				g.lost++
			}
		}
	}
	g.wall = time.Since(start)
	m1, err := s.proc.scrape(ctx)
	if err != nil {
		return g, err
	}
	g.passes = m1.reconciles() - m0.reconciles()
	cpu := m1.sum("process_cpu_seconds_total") - m0.sum("process_cpu_seconds_total")
	if g.passes > 0 {
		g.cpuPerPass = time.Duration(cpu / g.passes * float64(time.Second))
	}
	return g, nil
}

// learnerClients returns, per rotation, a client acting as its learner.
func (s *session) learnerClients() ([]client.Client, error) {
	base := s.env.cluster.Config
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(base, hc)
	if err != nil {
		return nil, err
	}
	out := make([]client.Client, len(s.names))
	for i, name := range s.names {
		cfg := rest.CopyConfig(base)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: name + "@example.com", Groups: []string{"system:authenticated"}}
		if out[i], err = client.New(cfg, client.Options{Scheme: operator.Scheme(), Mapper: mapper}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// logEvents logs how many events of each reason the cluster holds.
func (s *session) logEvents(ctx context.Context) {
	list := &eventsv1.EventList{}
	if err := s.env.admin.List(ctx, list); err != nil {
		return
	}
	reasons := map[string]int{}
	for _, e := range list.Items {
		if e.ReportingController == "rotation-operator" || strings.HasPrefix(e.Regarding.Namespace, "lab-") || e.Regarding.Kind == "LearningRotation" {
			reasons[e.Type+"/"+e.Reason]++
		}
	}
	deps := &appsv1.DeploymentList{}
	_ = s.env.admin.List(ctx, deps)
	fmt.Fprintf(s.log, "[bench] events by reason: %v; %d Deployments\n", reasons, len(deps.Items))
	if m, err := s.proc.scrape(ctx); err == nil {
		for k, v := range m {
			if strings.HasPrefix(k, "rest_client_requests_total") || strings.HasPrefix(k, "rotation_bench") {
				fmt.Fprintf(s.log, "[bench]   %s %v\n", k, v)
			}
		}
	}
}
