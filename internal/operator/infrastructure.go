package operator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
)

// DefaultInfrastructureCheck is how often the operator probes the lab
// registry and the learner apiserver address.
const DefaultInfrastructureCheck = 30 * time.Second

// infrastructureProbe checks what labs rely on that the cluster admin
// provides: the lab registry's key (given at start) and that the registry
// answers, and that the apiserver address written into learners'
// kubeconfigs answers and verifies with their CA. It logs each problem
// when it starts and ends; every rotation's pass reads the latest
// (controllers.Infrastructure) and reports it on the rotation.
type infrastructureProbe struct {
	log      logr.Logger
	interval time.Duration
	// registryKey is why the configured registry has no key; empty when it has.
	registryKey string
	// registryURL is the registry's /v2/ endpoint; empty without a registry.
	registryURL string
	learnerAPI  string
	registry    *http.Client
	learner     *http.Client

	mu sync.Mutex
	// registryFailures counts the registry's failed probes in a row: it is
	// reported from the second on, so a registry starting with the
	// operator (make deploy, helm install) is not.
	registryFailures int
	registryErr      error
	learnerErr       error
	// cicd probes the CI/CD engine; cicdErr is why it is not served.
	cicd       *cicdEngine
	cicdErr    error
	cicdProbed bool
	// changed, if set, is called when the CI/CD engine comes or goes, so
	// rotations report it at once.
	changed func()
}

func newInfrastructureProbe(log logr.Logger, o Options) (*infrastructureProbe, error) {
	p := &infrastructureProbe{
		log: log, interval: o.InfrastructureCheck, registryKey: o.RegistryProblem, learnerAPI: o.LabServer,
		// The registry's CA is trusted process-wide (SSL_CERT_FILE in the pod).
		registry: &http.Client{Timeout: 5 * time.Second},
	}
	if p.interval <= 0 {
		p.interval = DefaultInfrastructureCheck
	}
	if o.Registry != nil {
		reg, err := name.NewRegistry(o.Registry.Host, o.Registry.NameOptions()...)
		if err != nil {
			return nil, err
		}
		p.registryURL = reg.Scheme() + "://" + reg.RegistryStr() + "/v2/"
	}
	// Learners verify the apiserver with the CA in their kubeconfig: so does the probe.
	roots := x509.NewCertPool()
	if len(o.LabCAData) > 0 && !roots.AppendCertsFromPEM(o.LabCAData) {
		return nil, fmt.Errorf("the CA for learner kubeconfigs holds no PEM certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if len(o.LabCAData) == 0 {
		tr.TLSClientConfig.RootCAs = nil // the system's roots
	}
	p.learner = &http.Client{Timeout: 5 * time.Second, Transport: tr}
	if p.registryKey != "" {
		p.log.Error(nil, "lab registry unavailable", "problem", p.registryKey)
	}
	return p, nil
}

// Problems implements controllers.Infrastructure.
func (p *infrastructureProbe) Problems() []controllers.InfrastructureProblem {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []controllers.InfrastructureProblem
	if p.registryKey != "" {
		out = append(out, controllers.InfrastructureProblem{Reason: rotationsv1.ReasonRegistryUnavailable, Message: p.registryKey})
	}
	if p.registryErr != nil && p.registryFailures > 1 {
		out = append(out, controllers.InfrastructureProblem{Reason: rotationsv1.ReasonRegistryUnavailable,
			Message: fmt.Sprintf("the lab registry does not answer the operator: %v; Docker exercises cannot push or pull", p.registryErr)})
	}
	if p.learnerErr != nil {
		out = append(out, controllers.InfrastructureProblem{Reason: rotationsv1.ReasonLearnerAPIUnreachable,
			Message: fmt.Sprintf("the apiserver address in learner kubeconfigs (--learner-api-server) does not answer the operator: %v", p.learnerErr)})
	}
	if p.cicdErr != nil {
		out = append(out, cicdProblem(p.cicdErr))
	}
	return out
}

// Start probes at once and then every interval, until ctx ends. It runs on
// every replica, so a new leader starts with a recent result.
func (p *infrastructureProbe) Start(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *infrastructureProbe) NeedLeaderElection() bool { return false }

// check probes both addresses and logs what changed.
func (p *infrastructureProbe) check(ctx context.Context) {
	if p.registryURL != "" {
		err := probe(ctx, p.registry, p.registryURL)
		p.mu.Lock()
		was := p.registryErr
		p.registryErr = err
		if err != nil {
			p.registryFailures++
		} else {
			p.registryFailures = 0
		}
		p.mu.Unlock()
		logChange(p.log, "lab registry", p.registryURL, was, err)
	}
	p.checkLearnerAPI(ctx)
	p.checkCICD()
}

// checkCICD probes the CI/CD engine and, once it is served, starts the
// watches of its kinds; New runs it once before the reconcilers start.
func (p *infrastructureProbe) checkCICD() {
	if p.cicd == nil {
		return
	}
	err := p.cicd.probe()
	if err == nil && p.cicd.onServed != nil {
		if werr := p.cicd.onServed(cicd.Kinds()); werr != nil {
			p.log.Error(werr, "watching the CI/CD engine's kinds; their runs are graded on the resync")
		}
	}
	p.mu.Lock()
	was, first := p.cicdErr, !p.cicdProbed
	p.cicdErr, p.cicdProbed = err, true
	p.mu.Unlock()
	switch {
	case err != nil && (was == nil || was.Error() != err.Error()):
		p.log.Info("CI/CD engine not available", "problem", err.Error())
	case err == nil && was != nil:
		p.log.Info("CI/CD engine (Tekton Pipelines) is served")
	}
	// The first probe runs before the reconcilers: their first passes read it.
	if !first && (err == nil) != (was == nil) && p.changed != nil {
		p.changed()
	}
}

// checkLearnerAPI probes the learner apiserver address; New runs it once
// before the reconcilers start, so first passes already know.
func (p *infrastructureProbe) checkLearnerAPI(ctx context.Context) {
	if p.learnerAPI == "" {
		return
	}
	err := probe(ctx, p.learner, strings.TrimSuffix(p.learnerAPI, "/")+"/version")
	p.mu.Lock()
	was := p.learnerErr
	p.learnerErr = err
	p.mu.Unlock()
	logChange(p.log, "learner apiserver address", p.learnerAPI, was, err)
}

// probe: any HTTP answer will do (401 from a registry or an apiserver that
// wants credentials); a connection or TLS failure will not.
func probe(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func logChange(log logr.Logger, what, url string, was, now error) {
	switch {
	case now != nil && (was == nil || was.Error() != now.Error()):
		log.Error(now, what+" does not answer", "url", url)
	case now == nil && was != nil:
		log.Info(what+" answers again", "url", url)
	}
}

// RegistryKeyProblem says why a configured registry has no usable key
// (err nil: the key file is empty), for Options.RegistryProblem.
func RegistryKeyProblem(keyFile string, err error) string {
	why := "empty"
	if err != nil {
		why = err.Error()
	}
	return fmt.Sprintf("the operator has no lab registry key (%s: %s): Docker exercises cannot push or pull; the lab-registry bootstrap init container of the operator pod makes it, and its log says why it could not", keyFile, why)
}
