package realnode_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

// labRepositoryPrefix is where the lab may push (<host>/<prefix>/<lab>), as
// the learner reads it from the lab-registry Secret.
func (l *learner) labRepositoryPrefix() string {
	l.t.Helper()
	p := l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.metadata.annotations.rotations\\.handson\\.dev/repository-prefix}")
	if p == "" {
		l.t.Fatal("the lab-registry Secret names no repository prefix")
	}
	return p
}

// registryHas checks, with the lab's own credentials, that ref resolves to
// digest in the lab registry.
func (l *learner) registryHas(ref, digest string) {
	l.t.Helper()
	user, pass := dockerConfigAuth(l.t, l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}"), regCfg.Host)
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		l.t.Fatal(err)
	}
	desc, err := remote.Head(r, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err != nil {
		l.t.Fatalf("%s in the lab registry: %v", ref, err)
	}
	if desc.Digest.String() != digest {
		l.t.Fatalf("%s is %s in the lab registry, the run said %s", ref, desc.Digest, digest)
	}
}

// pushProbe is a TaskRun whose step, in the deploy image, copies the
// library's base image into the lab's repository with the lab-registry
// Secret as crane's config.json, and puts the digest into a result.
func pushProbe(base, repo string) string {
	return `apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: push-probe
spec:
  serviceAccountName: learner
  workspaces:
  - name: registry
    secret:
      secretName: ` + lab.RegistrySecret + `
      items: [{key: .dockerconfigjson, path: config.json}]
  taskSpec:
    workspaces:
    - name: registry
      mountPath: /home/nonroot/.docker
      readOnly: true
    results:
    - name: digest
    steps:
    - name: push
      image: ` + tekton.DeployImage + `
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}
      script: |
        #!/bin/sh
        set -e
        crane copy --insecure ` + base + ` ` + repo + `
        crane digest --insecure ` + repo + ` | tr -d '\n' > $(results.digest.path)
`
}

// TestCICDPushFromPod: a pipeline step on the real node reaches the lab
// registry at the address the lab-registry Secret names, signs in with
// that Secret and pushes; the digest it reports is what the registry holds.
func TestCICDPushFromPod(t *testing.T) {
	ensureTekton(t)
	l := provision(t, "cicd-push")
	repo := l.labRepositoryPrefix() + "/probe:v1"
	began := time.Now()
	l.applyTekton(pushProbe(regCfg.LibraryRepository("static")+":nonroot", repo))
	r := l.waitRun("taskrun", "push-probe")
	if r.succeeded() != "True" {
		logs, _ := l.kubectl("logs", r.Status.PodName, "-c", "step-push")
		t.Fatalf("push-probe: %+v\n%s", r.Status.Conditions, logs)
	}
	digest := l.must("get", "taskrun", "push-probe", "-o", "jsonpath={.status.results[?(@.name=='digest')].value}")
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest result %q", digest)
	}
	l.registryHas(repo, digest)
	t.Logf("push from a pod: created→Succeeded %s, digest %s", time.Since(began).Round(100*time.Millisecond), digest)
}
