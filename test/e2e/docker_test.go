package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

const goodDockerfile = `FROM golang:1.26.8 AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 go build -o /hello main.go

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /hello /hello
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/hello"]
`

// TestDockerExerciseThroughTheOperator does docker-containerize as a
// learner with only the lab's credentials: the image is pushed over the OCI
// distribution protocol (built with go-containerregistry, as no Docker
// engine runs here), the Dockerfile handed in, the Deployment applied.
func TestDockerExerciseThroughTheOperator(t *testing.T) {
	ctx := context.Background()
	env.CreateRotation(t, testutil.Rotation("dke").Exercises("docker-containerize").Obj())
	env.WaitReady(t, "dke")
	ns := "lab-dke"
	learner := env.UserClient(t, "dke@example.com")

	// The registry Secret, as the learner reads it.
	secret := &corev1.Secret{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.RegistrySecret}, secret); err != nil {
		t.Fatalf("learner cannot read the registry Secret: %v", err)
	}
	var config struct {
		Auths map[string]struct{ Username, Password string } `json:"auths"`
	}
	if err := json.Unmarshal(secret.Data[corev1.DockerConfigJsonKey], &config); err != nil {
		t.Fatal(err)
	}
	if len(config.Auths) != 1 {
		t.Fatalf("auths = %v", config.Auths)
	}
	var host string
	var auth authn.Basic
	for h, a := range config.Auths {
		host, auth = h, authn.Basic{Username: a.Username, Password: a.Password}
	}
	push := func(repo string, img v1.Image) error {
		ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
		if err != nil {
			return err
		}
		return remote.Write(ref, img, remote.WithAuth(&auth), remote.WithContext(ctx))
	}

	// Nothing yet: the first check says how to hand in.
	env.ExerciseResult(t, "dke", "docker-containerize", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if len(r.Checks) == 0 || !strings.Contains(r.Checks[0].Message, "kubectl rotation submit docker-containerize") {
			return fmt.Errorf("checks = %+v", r.Checks)
		}
		return nil
	})

	// A bad Dockerfile first: the rules name what is wrong.
	main, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "labs", "shared", "hello", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Submit(t, learner, ns, "docker-containerize", map[string]string{
		"Dockerfile": "FROM golang:latest\nCOPY main.go .\nRUN go build -o /hello main.go\nCMD /hello\n", "main.go": string(main)})
	env.ExerciseResult(t, "dke", "docker-containerize", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		failing := map[string]string{}
		for _, c := range r.Checks {
			if !c.Passed {
				failing[c.Name] = c.Message
			}
		}
		if !strings.Contains(failing["multi-stage-pinned"], "DL3007") || !strings.Contains(failing["exec-form"], "DL3025") || failing["non-root-user"] == "" {
			return fmt.Errorf("failing = %v", failing)
		}
		if _, ok := failing["dockerfile-submitted"]; ok {
			return fmt.Errorf("the Dockerfile was not seen: %v", failing)
		}
		return nil
	})
	// Docker collections are timed like every fact source's.
	if m, err := testutil.Scrape(ctx, metricsAddr); err != nil {
		t.Fatal(err)
	} else if v := m[`rotation_operator_grading_duration_seconds_count{collector="docker"}`]; v < 1 {
		t.Errorf("docker collections timed %v times after grading", v)
	}

	// Pushing into another lab's repositories is refused.
	layer, err := random.Layer(1024, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.Config.User, cf.Config.Entrypoint = "65532:65532", []string{"/hello"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if err := push("lab-other/hello:v1", img); err == nil || !strings.Contains(err.Error(), "DENIED") && !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("pushing into another lab: %v, want 403 DENIED", err)
	}

	// Done right: the image, the Dockerfile, the Deployment.
	if err := push(ns+"/hello:v1", img); err != nil {
		t.Fatalf("learner push: %v", err)
	}
	testutil.Submit(t, learner, ns, "docker-containerize", map[string]string{"Dockerfile": goodDockerfile, "main.go": string(main)})
	raw, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "labs", "docker", "docker-containerize", "files", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{}
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(string(raw), "REGISTRY/LAB", host+"/"+ns)), dep); err != nil {
		t.Fatal(err)
	}
	dep.Namespace = ns
	if err := learner.Create(ctx, dep); err != nil {
		t.Fatalf("learner cannot apply the Deployment: %v", err)
	}
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := env.Admin.Get(ctx, client.ObjectKey{Name: "dke"}, lr); err != nil {
			return err
		}
		for _, r := range lr.Status.Exercises {
			if r.Name == "docker-containerize" {
				if r.State != rotationsv1.ExercisePassed || r.Points != r.MaxPoints {
					return fmt.Errorf("state %s %d/%d: %+v", r.State, r.Points, r.MaxPoints, r.Checks)
				}
				return nil
			}
		}
		return fmt.Errorf("no result")
	})
}
