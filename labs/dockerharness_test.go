package labs

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	dockerfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/registry"
)

// The docker track's runner: the docker collector reads a real lab
// registry where images built with go-containerregistry were pushed with
// the lab's credentials, the files handed in and the lab's Deployments.

// dockerImage is what a docker build of the learner's Dockerfile pushes.
type dockerImage struct {
	User   string            `json:"user,omitempty"`
	Port   bool              `json:"port,omitempty"`   // EXPOSE 8080
	Health bool              `json:"health,omitempty"` // a HEALTHCHECK
	Labels map[string]string `json:"labels,omitempty"`
	// Size of the one layer in bytes; random, so compressed size ~ size.
	Size int64 `json:"size"`
	// Seed makes an image differ from one of the same spec (a rebuild).
	Seed string `json:"seed,omitempty"`
}

// dockerPush is one docker push: image:tag, e.g. hello:v1.
type dockerPush struct {
	Ref   string      `json:"ref"`
	Image dockerImage `json:"image"`
}

// dockerDeployment is a Deployment of the lab. It runs "hello:v1" (in the
// lab registry), "hello@hello:1.0.0" (by the digest first pushed as
// hello:1.0.0) or "=rotation.local/web:1.0" (the image as written).
type dockerDeployment struct {
	Name       string `json:"name"`
	Runs       string `json:"runs"`
	Available  bool   `json:"available,omitempty"`
	PullSecret bool   `json:"pullSecret,omitempty"` // the lab-registry pull secret
}

// dockerRunner grades docker cases against one lab registry.
type dockerRunner struct {
	cfg       registry.Config
	collector *dockerfacts.Collector
	labs      int
}

func startDockerRunner(t *testing.T) *dockerRunner {
	t.Helper()
	key, err := registry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := registry.New(registry.Options{Dir: t.TempDir(), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	cfg := srv.Config()
	return &dockerRunner{cfg: cfg, collector: &dockerfacts.Collector{Registry: cfg}}
}

// grade builds a case's lab, each in a fresh lab namespace so pushes do
// not meet, and evaluates the exercise against its facts.
func (d *dockerRunner) grade(t *testing.T, p *grading.Program, ex *rotationsv1.Exercise, solved, c *labCase) grading.Result {
	t.Helper()
	lab := *solved
	if c.From != "" { // not the solved lab itself
		if c.From != fromSolved {
			t.Fatalf("a docker case starts from the solved lab, not %s", c.From)
		}
		if c.Files != nil {
			lab.Files = c.Files
		}
		if c.StarterFiles != nil {
			lab.StarterFiles = c.StarterFiles
		}
		if c.Pushes != nil {
			lab.Pushes = c.Pushes
		}
		if c.Deployments != nil {
			lab.Deployments = c.Deployments
		}
	}
	var files map[string]string
	if len(lab.Files)+len(lab.StarterFiles) > 0 {
		files = maps.Clone(lab.Files)
		for _, name := range lab.StarterFiles {
			data, ok := ex.Spec.Starter.Files[name]
			if !ok {
				t.Fatalf("no starter file %s", name)
			}
			files[name] = data
		}
	}
	d.labs++
	ns := fmt.Sprintf("lab-d%d", d.labs)
	facts, _ := d.facts(t, ns, files, lab.Pushes, lab.Deployments)
	return p.Evaluate(context.Background(), facts)
}

// facts pushes the lab's images, makes its Deployments and collects the
// facts the checks read; digests are those of the pushes, by ref (the
// first push of a ref).
func (d *dockerRunner) facts(t *testing.T, ns string, files map[string]string, pushes []dockerPush, deployments []dockerDeployment) (facts map[string]any, digests map[string]string) {
	t.Helper()
	cfg := d.cfg
	digests = map[string]string{}
	built := map[string]v1.Image{} // same spec, same image: as a rebuild from cache
	for _, op := range pushes {
		key := fmt.Sprintf("%+v", op.Image)
		im, ok := built[key]
		if !ok {
			im = op.Image.build(t)
			built[key] = im
		}
		ref, err := name.ParseReference(cfg.Host+"/"+cfg.LabPrefix(ns)+"/"+op.Ref, cfg.NameOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, im, remote.WithAuth(cfg.Authenticator(ns))); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		if _, seen := digests[op.Ref]; !seen {
			dg, _ := im.Digest()
			digests[op.Ref] = dg.String()
		}
	}
	var deps []appsv1.Deployment
	kubeDeployments := map[string]any{}
	for _, dd := range deployments {
		image := dd.Runs
		switch {
		case strings.HasPrefix(image, "="):
			image = image[1:]
		case strings.Contains(image, "@"):
			repo, tagRef, _ := strings.Cut(image, "@")
			image = cfg.Repository(ns, repo) + "@" + digests[tagRef]
		default:
			image = cfg.Host + "/" + cfg.LabPrefix(ns) + "/" + image
		}
		dep := labDeployment(ns, dd.Name, image, dd.Available, dd.PullSecret)
		deps = append(deps, dep)
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&dep)
		if err != nil {
			t.Fatal(err)
		}
		kube.Normalize(u)
		kubeDeployments[dd.Name] = u
	}
	lab, err := d.collector.Collect(context.Background(), dockerfacts.Request{Namespace: ns, Files: files, Deployments: deps})
	if err != nil {
		t.Fatal(err)
	}
	kubeFacts := map[string]any{}
	for _, r := range kube.Resources() {
		kubeFacts[r] = map[string]any{}
	}
	kubeFacts["deployments"] = kubeDeployments
	facts = map[string]any{
		grading.VarKube:   kubeFacts,
		grading.VarHelm:   map[string]any{"releases": map[string]any{}},
		grading.VarDocker: lab,
		grading.VarLab:    map[string]any{"namespace": ns, "rotation": strings.TrimPrefix(ns, "lab-")},
	}
	return facts, digests
}

func (s dockerImage) build(t *testing.T) v1.Image {
	t.Helper()
	layer, err := random.Layer(s.Size, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	im, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := im.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.User = s.User
	cf.Config.Labels = s.Labels
	cf.Config.Entrypoint = []string{"/hello"}
	cf.Config.Env = []string{"SEED=" + s.Seed}
	if s.Port {
		cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	}
	if s.Health {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/hello", "-health"}}
	}
	im, err = mutate.ConfigFile(im, cf)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func labDeployment(ns, name, image string, available, pullSecret bool) appsv1.Deployment {
	status := corev1.ConditionFalse
	if available {
		status = corev1.ConditionTrue
	}
	d := appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(time.Unix(0, 0))},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}}},
			},
		},
		Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: status}}},
	}
	if pullSecret {
		d.Spec.Template.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "lab-registry"}}
	}
	return d
}
