package docker

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
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

	"github.com/handson-dev/rotation-operator/internal/registry"
)

// startRegistry runs the lab registry on loopback, as in embedded mode.
func startRegistry(t testing.TB) *registry.Server {
	t.Helper()
	key, err := registry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := registry.New(registry.Options{Dir: t.TempDir(), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stopping the registry: %v", err)
		}
	})
	return s
}

// imageSpec is what a learner's docker build would have made.
type imageSpec struct {
	layers      int
	layerSize   int64
	user        string
	ports       []string
	health      []string
	labels      map[string]string
	annotations map[string]string
	entrypoint  []string
	cmd         []string
}

// buildImage makes an image as docker build would push it: layers of
// random content, and a config with the Dockerfile's settings.
func buildImage(t testing.TB, spec imageSpec) v1.Image {
	t.Helper()
	img := empty.Image
	var adds []mutate.Addendum
	for i := 0; i < spec.layers; i++ {
		l, err := random.Layer(spec.layerSize, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "RUN step"}})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	cf.Config.User = spec.user
	if len(spec.ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range spec.ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if spec.health != nil {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: spec.health, Interval: 30 * time.Second}
	}
	cf.Config.Labels = spec.labels
	cf.Config.Entrypoint = spec.entrypoint
	cf.Config.Cmd = spec.cmd
	cf.Config.Env = []string{"PATH=/usr/bin", "PORT=8080"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if spec.annotations != nil {
		img = mutate.Annotations(img, spec.annotations).(v1.Image)
	}
	return img
}

func push(t testing.TB, s interface{ Config() registry.Config }, ns, image string, img v1.Image, tags ...string) v1.Hash {
	t.Helper()
	cfg := s.Config()
	for _, tag := range tags {
		ref, err := name.ParseReference(cfg.Repository(ns, image)+":"+tag, cfg.NameOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithAuth(cfg.Authenticator(ns))); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deployment(name, image string, available bool) appsv1.Deployment {
	status := corev1.ConditionFalse
	if available {
		status = corev1.ConditionTrue
	}
	replicas := int32(2)
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "lab-alice"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}},
		},
		Status: appsv1.DeploymentStatus{
			ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 2,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: status}},
		},
	}
}

// countingTransport counts requests by method.
type countingTransport struct {
	next      http.RoundTripper
	get, head atomic.Int64
	content   atomic.Int64 // GETs of manifests and blobs
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case http.MethodGet:
		c.get.Add(1)
		if strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "/blobs/") {
			c.content.Add(1)
		}
	case http.MethodHead:
		c.head.Add(1)
	}
	return c.next.RoundTrip(r)
}

// childEnv makes the test binary a registry server (see TestMain).
const childEnv = "DOCKER_FACTS_TEST_REGISTRY_KEY"

func TestMain(m *testing.M) {
	if key := os.Getenv(childEnv); key != "" {
		os.Exit(serveRegistryChild(key))
	}
	os.Exit(m.Run())
}

// serveRegistryChild runs the lab registry until stdin closes, printing
// its address: the registry of BenchmarkCollect, in its own process so
// that the benchmark counts the collector's allocations only.
func serveRegistryChild(hexKey string) int {
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "registry-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := registry.New(registry.Options{Dir: dir, Key: key})
	if err == nil {
		err = s.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Stop(context.Background())
	return 0
}

// remoteRegistry is a lab registry in a child process.
type remoteRegistry struct{ cfg registry.Config }

func (r remoteRegistry) Config() registry.Config { return r.cfg }

func startRegistryProcess(t testing.TB) remoteRegistry {
	t.Helper()
	key, err := registry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+hex.EncodeToString(key))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the registry process did not start: %v", err)
	}
	return remoteRegistry{registry.Config{Host: strings.TrimSpace(addr), Insecure: true, Key: key}}
}
