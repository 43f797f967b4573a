package realnode_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/solution"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/labs"
	"github.com/handson-dev/rotation-operator/test/harness"
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
func pushProbe(name, base, repo string) string {
	return `apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: ` + name + `
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
// The same step cannot push into another lab's repositories.
func TestCICDPushFromPod(t *testing.T) {
	ensureTekton(t)
	l := provision(t, "cicd-push")
	other := provision(t, "cicd-push-other")
	repo := l.labRepositoryPrefix() + "/probe:v1"
	began := time.Now()
	l.applyTekton(pushProbe("push-probe", regCfg.LibraryRepository("static")+":nonroot", repo))
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

	l.applyTekton(pushProbe("push-elsewhere", regCfg.LibraryRepository("static")+":nonroot", other.labRepositoryPrefix()+"/stolen:v1"))
	r = l.waitRun("taskrun", "push-elsewhere")
	logs, _ := l.kubectl("logs", r.Status.PodName, "-c", "step-push")
	// crane's first request for a blob there is a HEAD: 403, without a body.
	if r.succeeded() != "False" || !strings.Contains(logs, "403 Forbidden") || !strings.Contains(logs, other.ns+"/stolen") {
		t.Fatalf("a push into lab %s: %+v\n%s\nwant it refused (403)", other.ns, r.Status.Conditions, logs)
	}
}

// solutionYAML is a file of a cicd exercise's reference solution with the
// placeholders filled in as the learner does: $REGISTRY/$LAB from the
// lab-registry Secret's repository prefix, $REGISTRY its host.
func (l *learner) solutionYAML(exercise, file string) string {
	l.t.Helper()
	prefix := l.labRepositoryPrefix()
	host, _, _ := strings.Cut(prefix, "/")
	return strings.NewReplacer("$REGISTRY/$LAB", prefix, "$REGISTRY", host).Replace(solutionFile(l.t, exercise, file))
}

// runResult is a result of a finished PipelineRun, as kubectl shows it.
func (l *learner) runResult(run, result string) string {
	l.t.Helper()
	return l.must("get", "pipelinerun", run, "-o", "jsonpath={.status.results[?(@.name=='"+result+"')].value}")
}

// timings collects how long each part of a journey took.
type timings []string

func (tm *timings) mark(what string, since time.Time) {
	*tm = append(*tm, fmt.Sprintf("%s %s", what, time.Since(since).Round(100*time.Millisecond)))
}

// doBuildPush plays cicd-build-push's solution as the learner: the Task
// and the Pipeline build-push, one run; the digest the run gives is the
// one the lab registry holds for the tag it pushed, and the exercise gets
// 100. It returns the run's IMAGE_URL and IMAGE_DIGEST.
func doBuildPush(t *testing.T, l *learner, tm *timings) (url, digest string) {
	t.Helper()
	began := time.Now()
	l.applyTekton(l.solutionYAML("cicd-build-push", "task.yaml") + "\n---\n" + l.solutionYAML("cicd-build-push", "pipeline.yaml"))
	if out, err := l.kubectlStdin(l.solutionYAML("cicd-build-push", "run.yaml"), "create", "-f", "-"); err != nil {
		t.Fatal(out)
	}
	r := l.waitRun("pipelinerun", "build-push-run-1")
	if r.succeeded() != "True" {
		t.Fatalf("build-push-run-1: %+v\n%s", r.Status.Conditions, l.whyFailed(r))
	}
	tm.mark("build-push-run-1 created→Succeeded", began)
	tr := l.waitRun("taskrun", r.Status.ChildReferences[0].Name)
	for _, s := range tr.Status.Steps {
		if s.Terminated == nil || s.Terminated.ExitCode != 0 {
			t.Errorf("step %s of %s: %+v", s.Name, tr.Status.PodName, s.Terminated)
		}
	}
	url, digest = l.runResult("build-push-run-1", "IMAGE_URL"), l.runResult("build-push-run-1", "IMAGE_DIGEST")
	if !strings.HasSuffix(url, "/hello:ci-1") || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("results IMAGE_URL %q, IMAGE_DIGEST %q", url, digest)
	}
	l.registryHas(url, digest)
	done := time.Now()
	l.waitPoints("cicd-build-push", 100)
	tm.mark("run done→graded 100", done)
	return url, digest
}

// TestCICDBuildPush: cicd-build-push alone, 100/100 from a real run that
// pushed to the lab registry.
func TestCICDBuildPush(t *testing.T) {
	ensureTekton(t)
	l := provisionRotation(t, testutil.Rotation("cicd-bp").Learner("cicd-bp@example.com").Exercises("cicd-build-push").Obj())
	var tm timings
	doBuildPush(t, l, &tm)
	got := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: "cicd-bp"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Score != 100 || got.Status.MaxScore != 100 {
		t.Errorf("score %d/%d, want 100/100", got.Status.Score, got.Status.MaxScore)
	}
	t.Logf("cicd-build-push:\n  %s", strings.Join(tm, "\n  "))
}

// whyFailed is what the learner reads of a failed PipelineRun: each
// TaskRun's condition, and the log of every step that exited non-zero.
func (l *learner) whyFailed(r tektonRun) string {
	var b strings.Builder
	for _, c := range r.Status.ChildReferences {
		tr := l.waitRun("taskrun", c.Name)
		fmt.Fprintf(&b, "taskrun %s: %+v\n", c.Name, tr.Status.Conditions)
		for _, s := range tr.Status.Steps {
			if s.Terminated != nil && s.Terminated.ExitCode != 0 {
				logs, _ := l.kubectl("logs", tr.Status.PodName, "-c", s.Container)
				fmt.Fprintf(&b, "step %s exited %d:\n%s\n", s.Name, s.Terminated.ExitCode, logs)
			}
		}
	}
	return b.String()
}

// playSolution plays an exercise's reference solution in the learner's
// lab as the self-test does: the real kubectl with only the lab
// kubeconfig, the placeholders filled in from the lab-registry Secret.
func (l *learner) playSolution(exercise string) {
	l.t.Helper()
	var ex *rotationsv1.Exercise
	catalog, err := labs.Catalog()
	if err != nil {
		l.t.Fatal(err)
	}
	for i := range catalog {
		if catalog[i].Name == exercise {
			ex = &catalog[i]
		}
	}
	if ex == nil {
		l.t.Fatalf("no exercise %s in the catalog", exercise)
	}
	starter := slices.Collect(maps.Keys(ex.Spec.Starter.Files))
	sol, err := solution.Load(filepath.Join(harness.RepoRoot(), "labs", string(ex.Spec.Track), ex.Name, labs.SolutionDir), starter)
	if err != nil {
		l.t.Fatal(err)
	}
	user, pass := dockerConfigAuth(l.t, l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}"), regCfg.Host)
	var log strings.Builder
	err = sol.Run(context.Background(), solution.Lab{
		Exercise: ex.Name, Namespace: l.ns, Kubeconfig: l.kubeconfig,
		Registry: regCfg.Host, Username: user, Password: pass, Insecure: true,
		StarterFiles: ex.Spec.Starter.Files, Kubectl: "kubectl", Log: &log,
	})
	l.t.Logf("solution of %s:\n%s", exercise, log.String())
	if err != nil {
		l.t.Fatalf("solution of %s: %v", exercise, err)
	}
}

// TestCICDDeliveryJourney: one rotation with every exercise of the cicd
// track, each solved by the learner with kubectl, tkn and the lab
// kubeconfig only, on real Tekton runs: the tests pass (and pass again in
// a run tkn starts), the gate fails on the planted test (tkn shows the
// failing test) and passes once fixed, the app's image is built and pushed
// (the digest the run gives, as tkn describes it, is the registry's), and
// the pipeline deploys that digest, which the pod really runs. 400/400.
func TestCICDDeliveryJourney(t *testing.T) {
	ensureTekton(t)
	ensureTkn(t)
	start := time.Now()
	l := provisionRotation(t, testutil.Rotation("cicd-all").Learner("cicd-all@example.com").Tracks(rotationsv1.TrackCICD).Obj())
	var tm timings
	exercises := []string{"cicd-test-pipeline", "cicd-gate", "cicd-build-push", "cicd-deploy"}
	for _, ex := range exercises {
		began := time.Now()
		l.playSolution(ex)
		done := time.Now()
		l.waitPoints(ex, 100)
		tm.mark(ex+" solution played", began)
		tm.mark(ex+" done→graded 100", done)
		switch ex {
		case "cicd-test-pipeline":
			began = time.Now()
			l.rerunCIWithTkn()
			tm.mark("ci rerun with tkn", began)
		case "cicd-gate":
			l.readGateWithTkn()
		case "cicd-build-push":
			l.readDigestWithTkn("build-push-run-1")
		}
	}

	// What the build-push run gave is what the registry holds.
	url, digest := l.runResult("build-push-run-1", "IMAGE_URL"), l.runResult("build-push-run-1", "IMAGE_DIGEST")
	l.registryHas(url, digest)
	// The deliver run deployed its own digest, and the pod runs it.
	url, digest = l.runResult("deliver-run-1", "IMAGE_URL"), l.runResult("deliver-run-1", "IMAGE_DIGEST")
	l.registryHas(url, digest)
	repo, _, _ := strings.Cut(url[strings.LastIndex(url, "/"):], ":")
	want := url[:strings.LastIndex(url, "/")] + repo + "@" + digest
	if got := l.must("get", "deployment", "hello-cd", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != want {
		t.Errorf("hello-cd runs %s, want %s", got, want)
	}
	if ids := l.must("get", "pods", "-l", "app=hello-cd", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].status.containerStatuses[0].imageID}"); !strings.HasSuffix(ids, "@"+digest) {
		t.Errorf("hello-cd's running pods have imageIDs %q, want ...@%s", ids, digest)
	}

	got := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: "cicd-all"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Score != 400 || got.Status.MaxScore != 400 || got.Status.Completed != int32(len(exercises)) {
		t.Errorf("score %d/%d, %d completed; want 400/400, all %d", got.Status.Score, got.Status.MaxScore, got.Status.Completed, len(exercises))
	}
	t.Logf("cicd delivery journey %s, score %d/%d:\n  %s", time.Since(start).Round(time.Second), got.Status.Score, got.Status.MaxScore, strings.Join(tm, "\n  "))
}

// rerunCIWithTkn: the learner starts the pipeline ci once more with tkn,
// workspaces on the command line, and follows its logs: go test's output
// streams in, tkn exits 0 with the run (-E), and the run it names is
// Succeeded in tkn's list and description, and for kubectl.
func (l *learner) rerunCIWithTkn() {
	l.t.Helper()
	out := l.mustTkn("pipeline", "start", "ci", "--use-param-defaults",
		"--workspace", "name=source,config=exercise-cicd-test-pipeline", "--workspace", "name=work,emptyDir=",
		"--serviceaccount", "learner", "--pipeline-timeout", "10m", "--showlog", "--exit-with-pipelinerun-error")
	_, rest, ok := strings.Cut(out, "PipelineRun started: ")
	run, _, _ := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(run, "ci-run-") {
		l.t.Fatalf("tkn pipeline start ci names no run ci-run-...:\n%s", out)
	}
	if !strings.Contains(out, "[test : test]") || !strings.Contains(out, "ok ") {
		l.t.Errorf("tkn pipeline start --showlog: want go test's ok from step test of task test:\n%s", out)
	}
	if r := l.waitRun("pipelinerun", run); r.succeeded() != "True" {
		l.t.Fatalf("%s, started with tkn: %+v\n%s", run, r.Status.Conditions, l.whyFailed(r))
	}
	if got := tknStatus(l.mustTkn("pipelinerun", "list"), run); got != "Succeeded" {
		l.t.Errorf("tkn pipelinerun list: %s is %q, want Succeeded", run, got)
	}
	if got := tknDescribedStatus(l.mustTkn("pipelinerun", "describe", "--last")); got != "Succeeded" {
		l.t.Errorf("tkn pipelinerun describe --last (%s): status %q, want Succeeded", run, got)
	}
}

// readGateWithTkn: what the learner reads of the gate's runs with tkn.
// The run on the planted test Failed, its logs name the failing test,
// and the run on the fixed copy Succeeded with every test ok.
func (l *learner) readGateWithTkn() {
	l.t.Helper()
	list := l.mustTkn("pipelinerun", "list")
	if a, b := tknStatus(list, "gate-run-1"), tknStatus(list, "gate-run-2"); a != "Failed" || b != "Succeeded" {
		l.t.Errorf("tkn pipelinerun list: gate-run-1 %q, gate-run-2 %q; want Failed, Succeeded:\n%s", a, b, list)
	}
	describe := l.mustTkn("pipelinerun", "describe", "gate-run-1")
	// The TaskRun failed at a step (go test), not by a timeout or a refused pod.
	if got := tknDescribedStatus(describe); got != "Failed" || tknStatus(describe, "gate-run-1-test") != "Failed(StepFailed)" {
		l.t.Errorf("tkn pipelinerun describe gate-run-1: want the run Failed, its TaskRun gate-run-1-test Failed(StepFailed):\n%s", describe)
	}
	// tkn exits 0 on a failed run's logs unless asked for its status.
	failed := l.mustTkn("pipelinerun", "logs", "gate-run-1")
	if !strings.Contains(failed, "--- FAIL: TestGreetingTrimsSpaces") {
		l.t.Errorf("tkn pipelinerun logs gate-run-1: want the planted test's failure:\n%s", failed)
	}
	if _, err := l.tkn("pipelinerun", "logs", "gate-run-1", "--exit-with-pipelinerun-error"); err == nil {
		l.t.Error("tkn pipelinerun logs gate-run-1 -E exited 0 on a failed run")
	}
	fixed := l.mustTkn("pipelinerun", "logs", "gate-run-2", "--exit-with-pipelinerun-error")
	if strings.Contains(fixed, "FAIL") || !strings.Contains(fixed, "ok ") {
		l.t.Errorf("tkn pipelinerun logs gate-run-2: want go test ok, no FAIL:\n%s", fixed)
	}
}

// readDigestWithTkn: tkn describes the run's results as kubectl reads
// them: the digest it pushed.
func (l *learner) readDigestWithTkn(run string) {
	l.t.Helper()
	describe := l.mustTkn("pipelinerun", "describe", run)
	digest := l.runResult(run, "IMAGE_DIGEST")
	if row := tknRow(describe, "IMAGE_DIGEST"); len(row) != 2 || row[1] != digest || tknDescribedStatus(describe) != "Succeeded" {
		l.t.Errorf("tkn pipelinerun describe %s: want Succeeded and result IMAGE_DIGEST %s:\n%s", run, digest, describe)
	}
}
