// Package harness runs the operator in-process against a local control
// plane for the fault and bad-input suites: each suite starts one cluster in
// its TestMain and as many operator instances as a test needs, each with its
// own transport, so a test can count an instance's writes, make it fail, or
// kill it.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
)

// OperatorUser is who every operator instance runs as: the ServiceAccount
// of config/rbac, holding exactly the rights config/rbac grants it.
const OperatorUser = "system:serviceaccount:rotation-system:rotation-operator"

// OperatorNamespace holds the leader election Lease.
const OperatorNamespace = "rotation-system"

// RepoRoot is the module root, found from this package's directory.
func RepoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

// StartCluster starts a full local control plane with the CRDs, the lab
// roles and admission policy, the operator's ClusterRole bound to
// OperatorUser, and the operator namespace with the leader election Role.
// Its node is kwok's: pods are scheduled, no container runs.
func StartCluster(ctx context.Context, progress io.Writer) (*localcluster.Cluster, client.Client, error) {
	return StartClusterOn(ctx, progress, localcluster.NodeFake)
}

// StartClusterOn is StartCluster with the node of choice: NodeReal runs
// lab containers for real (and waits for the host's one real node).
func StartClusterOn(ctx context.Context, progress io.Writer, node localcluster.NodeMode) (*localcluster.Cluster, client.Client, error) {
	return StartClusterWith(ctx, progress, ClusterOptions{Node: node})
}

// ClusterOptions are what StartClusterWith lets a suite choose.
type ClusterOptions struct {
	// Node is the node pods run on (localcluster.NodeFake when empty).
	Node localcluster.NodeMode
	// NodeImages and PauseImage are localcluster.Options': image archives
	// the real node imports at start (empty: the lab images), and which of
	// their images is the pod sandbox.
	NodeImages []string
	PauseImage string
}

// StartClusterWith is StartCluster with ClusterOptions.
func StartClusterWith(ctx context.Context, progress io.Writer, o ClusterOptions) (*localcluster.Cluster, client.Client, error) {
	root := RepoRoot()
	nsFile, err := os.CreateTemp("", "operator-namespace-*.yaml")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(nsFile.Name())
	if _, err := fmt.Fprintf(nsFile, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", OperatorNamespace); err != nil {
		return nil, nil, err
	}
	_ = nsFile.Close()
	manifests := append(embedded.InstallManifests(root),
		filepath.Join(root, "config", "rbac", "role.yaml"),
		nsFile.Name(),
		filepath.Join(root, "config", "rbac", "leader_election_role.yaml"),
	)
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		Manifests:         manifests,
		Full:              true,
		Node:              o.Node,
		NodeImages:        o.NodeImages,
		PauseImage:        o.PauseImage,
		Progress:          progress,
	})
	if err != nil {
		return nil, nil, err
	}
	admin, err := client.New(cluster.Config, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		_ = cluster.Stop()
		return nil, nil, err
	}
	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rotation-operator-under-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rotation-operator"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: OperatorUser}},
	}); err != nil {
		_ = cluster.Stop()
		return nil, nil, err
	}
	return cluster, admin, nil
}

// Write is one API write an operator instance made.
type Write struct {
	At     time.Time
	Method string
	Path   string
	Code   int // response status, 0 when the request failed in transport
}

func (w Write) String() string { return fmt.Sprintf("%s %s (%d)", w.Method, w.Path, w.Code) }

// IsLease tells whether the write is to a leader election Lease.
func (w Write) IsLease() bool { return strings.Contains(w.Path, "/apis/coordination.k8s.io/") }

// Recorder records the writes (POST, PUT, PATCH, DELETE) that reach the apiserver.
type Recorder struct {
	mu     sync.Mutex
	writes []Write
}

// Wrap records the writes of rt.
func (r *Recorder) Wrap(rt http.RoundTripper) http.RoundTripper {
	return RoundTripFunc(func(req *http.Request) (*http.Response, error) {
		if !IsWrite(req.Method) {
			return rt.RoundTrip(req)
		}
		resp, err := rt.RoundTrip(req)
		w := Write{At: time.Now(), Method: req.Method, Path: req.URL.Path}
		if resp != nil {
			w.Code = resp.StatusCode
		}
		r.mu.Lock()
		r.writes = append(r.writes, w)
		r.mu.Unlock()
		return resp, err
	})
}

// Writes returns the writes so far.
func (r *Recorder) Writes() []Write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Write(nil), r.writes...)
}

// Len is the number of writes so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes)
}

// Reset forgets the writes so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = nil
}

// Work is the number of writes so far other than to the leader election Lease.
func (r *Recorder) Work() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, w := range r.writes {
		if !w.IsLease() {
			n++
		}
	}
	return n
}

// WaitQuiet waits until no write but Lease renewals has been recorded for
// quiet, at most timeout.
func (r *Recorder) WaitQuiet(quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	n, since := r.Work(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if m := r.Work(); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= quiet {
			return nil
		}
	}
	return fmt.Errorf("still writing after %s: %d writes", timeout, r.Work())
}

// IsWrite tells whether an HTTP method changes state.
func IsWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// RoundTripFunc is a RoundTripper made of a function.
type RoundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f RoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Operator is one running operator instance.
type Operator struct {
	Name    string
	Manager ctrl.Manager
	// Writes are the writes that reached the apiserver.
	Writes *Recorder
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Fault wraps an operator instance's transport, outside its Recorder: a
// request a fault fails never reaches the apiserver and is not recorded.
type Fault func(http.RoundTripper) http.RoundTripper

// StartOperator starts an operator instance as OperatorUser. Unset
// addresses are turned off (metrics and probes bind nothing).
func StartOperator(cluster *localcluster.Cluster, name string, o operator.Options, faults ...Fault) (*Operator, error) {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: OperatorUser}
	rec := &Recorder{}
	cfg.Wrap(rec.Wrap)
	for _, f := range faults {
		cfg.Wrap((func(http.RoundTripper) http.RoundTripper)(f))
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = "0"
	}
	if o.ProbeAddr == "" {
		o.ProbeAddr = "0"
	}
	mgr, err := operator.New(cfg, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	op := &Operator{Name: name, Manager: mgr, Writes: rec, cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	return op, nil
}

// Stop cancels the instance's context and waits for its manager to return.
// A leader does not release its Lease (LeaderElectionReleaseOnCancel is
// off), as when the process dies.
func (o *Operator) Stop() error {
	o.once.Do(func() {
		o.cancel()
		select {
		case err := <-o.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				o.err = err
			}
		case <-time.After(45 * time.Second):
			o.err = fmt.Errorf("operator %s did not stop within 45s", o.Name)
		}
	})
	return o.err
}

// Elected tells whether the instance leads (always, without leader election).
func (o *Operator) Elected() bool {
	select {
	case <-o.Manager.Elected():
		return true
	default:
		return false
	}
}

// ErrKilled is what a killed instance's requests fail with.
var ErrKilled = errors.New("operator killed (fault injection)")

// KillSwitch lets an instance make After writes, then fails every request
// it makes (reads included), as if the process had died, and closes
// Tripped. Kill trips it at once.
type KillSwitch struct {
	After   int64
	Tripped chan struct{}
	writes  atomic.Int64
	killed  atomic.Bool
	once    sync.Once
}

// NewKillSwitch makes a KillSwitch that trips after n writes; n < 0 never trips by itself.
func NewKillSwitch(n int64) *KillSwitch { return &KillSwitch{After: n, Tripped: make(chan struct{})} }

// Kill trips the switch.
func (k *KillSwitch) Kill() {
	k.killed.Store(true)
	k.once.Do(func() { close(k.Tripped) })
}

// Killed tells whether the switch tripped.
func (k *KillSwitch) Killed() bool { return k.killed.Load() }

// Fault is the switch as an operator transport fault.
func (k *KillSwitch) Fault(rt http.RoundTripper) http.RoundTripper {
	return RoundTripFunc(func(req *http.Request) (*http.Response, error) {
		if k.killed.Load() {
			return nil, ErrKilled
		}
		if !IsWrite(req.Method) || k.After < 0 {
			return rt.RoundTrip(req)
		}
		n := k.writes.Add(1)
		if n > k.After {
			k.Kill()
			return nil, ErrKilled
		}
		resp, err := rt.RoundTrip(req)
		if n == k.After {
			k.Kill()
		}
		return resp, err
	})
}

// MemSampler samples the process's Go memory while the operator runs in it.
type MemSampler struct {
	stop                   chan struct{}
	done                   chan struct{}
	PeakHeapInuse, PeakSys uint64
	Samples                int
}

// SampleMemory starts sampling every interval.
func SampleMemory(interval time.Duration) *MemSampler {
	s := &MemSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			s.PeakHeapInuse = max(s.PeakHeapInuse, m.HeapInuse)
			s.PeakSys = max(s.PeakSys, m.Sys)
			s.Samples++
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns a one-line report, with the kernel's peak
// resident set size (VmHWM) of the whole test process.
func (s *MemSampler) Stop() string {
	close(s.stop)
	<-s.done
	return fmt.Sprintf("peak HeapInuse %.1f MiB, peak Sys %.1f MiB, VmHWM %s (%d samples)",
		float64(s.PeakHeapInuse)/(1<<20), float64(s.PeakSys)/(1<<20), vmHWM(), s.Samples)
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "n/a"
}
