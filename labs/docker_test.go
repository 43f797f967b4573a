package labs

import (
	"slices"
	"strings"
	"testing"


	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	dockerfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// emptyDockerFacts are the docker facts of a lab where nothing was
// submitted, pushed or deployed.
func emptyDockerFacts() map[string]any {
	return map[string]any{
		dockerfacts.FactDockerfile: dockerfacts.DockerfileFacts(nil),
		dockerfacts.FactImages:     map[string]any{},
		dockerfacts.FactRegistry:   map[string]any{"host": "127.0.0.1:5000", "repositoryPrefix": "127.0.0.1:5000/" + labNamespace + "/", "error": "", "catalogError": "", "repositoriesTruncated": false, "deploymentsTruncated": false},
		dockerfacts.FactWorkloads:  map[string]any{},
	}
}

// solvedDockerfile is a learner's good answer for the app hello.
const solvedDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 go build -ldflags "-X main.version=2.0.0" -o /hello main.go

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.source="https://example.com/hello" org.opencontainers.image.version="2.0.0"
COPY --from=build /hello /hello
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s CMD ["/hello", "-health"]
ENTRYPOINT ["/hello"]
`

// img is what a docker build of the learner's Dockerfile pushes.
type img struct {
	user   string
	port   bool
	health bool
	labels map[string]string
	size   int64 // of the one layer; random, so compressed size ~ size
	seed   string
}

var goodImage = img{user: "65532:65532", port: true, health: true, size: 4 << 20,
	labels: map[string]string{"org.opencontainers.image.source": "https://example.com/hello", "org.opencontainers.image.version": "2.0.0"}}

func (s img) with(f func(*img)) img { f(&s); return s }

// push is one docker push: image:tag, in order.
type pushOp struct {
	ref   string // "hello:v1"
	image img
}

// deploy is a Deployment of the lab. Its image is "hello:v1" (in the lab
// registry), "hello@hello:1.0.0" (by the digest first pushed as
// hello:1.0.0) or
// "=rotation.local/web:1.0" (as written).
type deploy struct {
	name, image           string
	available, pullSecret bool
}

type dockerLab struct {
	files  map[string]string
	pushes []pushOp
	deploy []deploy
}

func (l dockerLab) clone() dockerLab {
	c := dockerLab{files: map[string]string{}, pushes: slices.Clone(l.pushes), deploy: slices.Clone(l.deploy)}
	for k, v := range l.files {
		c.files[k] = v
	}
	if l.files == nil {
		c.files = nil
	}
	return c
}

type dockerCase struct {
	name    string
	mutate  func(l *dockerLab)
	failing []string
}

type dockerTable struct {
	solved dockerLab
	cases  []dockerCase
}

func edited(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q is not in\n%s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

func dockerTables(t *testing.T, starter map[string]map[string]string) map[string]dockerTable {
	app := starter["docker-containerize"]["main.go"]
	df := func(old, new string) func(*dockerLab) {
		return func(l *dockerLab) { l.files["Dockerfile"] = edited(t, l.files["Dockerfile"], old, new) }
	}
	solvedFiles := map[string]string{"Dockerfile": solvedDockerfile, "main.go": app}
	return map[string]dockerTable{
		"docker-containerize": {
			solved: dockerLab{files: solvedFiles, pushes: []pushOp{{"hello:v1", goodImage}},
				deploy: []deploy{{"hello", "hello:v1", true, true}}},
			cases: []dockerCase{
				{"nothing submitted", func(l *dockerLab) { l.files = nil }, []string{"dockerfile-submitted", "multi-stage-pinned", "non-root-user", "exec-form"}},
				{"does not parse", func(l *dockerLab) { l.files["Dockerfile"] = "FORM golang\n" }, []string{"dockerfile-submitted", "multi-stage-pinned", "non-root-user", "exec-form"}},
				{"single stage", func(l *dockerLab) {
					l.files["Dockerfile"] = "FROM golang:1.26\nCOPY main.go .\nRUN go build -o /hello main.go\nUSER 65532\nENTRYPOINT [\"/hello\"]\n"
				}, []string{"multi-stage-pinned"}},
				{"latest build stage", df("golang:1.26", "golang:latest"), []string{"multi-stage-pinned"}},
				{"root user", df("USER 65532:65532", "USER root"), []string{"non-root-user"}},
				{"named user", df("USER 65532:65532", "USER nonroot"), []string{"non-root-user"}},
				{"shell-form entrypoint", df(`ENTRYPOINT ["/hello"]`, "ENTRYPOINT /hello"), []string{"exec-form"}},
				{"not pushed", func(l *dockerLab) { l.pushes = nil }, []string{"image-pushed", "running"}},
				{"image runs as root", func(l *dockerLab) { l.pushes[0].image.user = "" }, []string{"image-pushed"}},
				{"runs another tag", func(l *dockerLab) {
					l.pushes = append(l.pushes, pushOp{"hello:v0", goodImage.with(func(i *img) { i.seed = "old" })})
					l.deploy[0].image = "hello:v0"
				}, []string{"running"}},
				{"not available", func(l *dockerLab) { l.deploy[0].available = false }, []string{"running"}},
			},
		},
		"docker-fix-dockerfile": {
			solved: dockerLab{files: solvedFiles, pushes: []pushOp{{"hello:fixed", goodImage}}},
			cases: []dockerCase{
				{"the starter as is", func(l *dockerLab) {
					l.files = map[string]string{"Dockerfile": starter["docker-fix-dockerfile"]["Dockerfile"], "main.go": app}
					l.pushes = nil
				}, []string{"base-image-pinned", "package-hygiene", "copy-and-json-cmd", "pipefail", "non-root", "fixed-image-pushed"}},
				{"nothing submitted", func(l *dockerLab) { l.files = nil }, []string{"base-image-pinned", "package-hygiene", "copy-and-json-cmd", "pipefail", "non-root"}},
				{"latest", df("FROM golang:1.26", "FROM golang"), []string{"base-image-pinned"}},
				{"apt in the final image", df("COPY --from=build", "USER root\nRUN apt-get update && apt-get install -y --no-install-recommends jq=1.6 && rm -rf /var/lib/apt/lists/*\nRUN apt-get install jq\nCOPY --from=build"), []string{"package-hygiene"}},
				{"ADD", df("COPY main.go .", "ADD main.go ."), []string{"copy-and-json-cmd"}},
				{"MAINTAINER", df("WORKDIR /src", "WORKDIR /src\nMAINTAINER me"), []string{"copy-and-json-cmd"}},
				{"pipe", df("WORKDIR /src", "WORKDIR /src\nRUN go version | tee /go-version"), []string{"pipefail"}},
				{"named user", df("USER 65532:65532", "USER nonroot"), []string{"non-root"}},
				{"fixed image runs as root", func(l *dockerLab) { l.pushes[0].image.user = "0" }, []string{"fixed-image-pushed"}},
			},
		},
		"docker-image-hygiene": {
			solved: dockerLab{pushes: []pushOp{{"hello:v2", goodImage}}},
			cases: []dockerCase{
				{"pushed as another tag", func(l *dockerLab) { l.pushes[0].ref = "hello:v3" }, []string{"healthcheck", "oci-labels", "size-budget", "exposes-8080", "non-root"}},
				{"no healthcheck", func(l *dockerLab) { l.pushes[0].image.health = false }, []string{"healthcheck"}},
				{"version 1.0.0", func(l *dockerLab) {
					l.pushes[0].image.labels = map[string]string{"org.opencontainers.image.source": "x", "org.opencontainers.image.version": "1.0.0"}
				}, []string{"oci-labels"}},
				{"no source label", func(l *dockerLab) {
					l.pushes[0].image.labels = map[string]string{"org.opencontainers.image.version": "2.0.0"}
				}, []string{"oci-labels"}},
				{"over budget", func(l *dockerLab) { l.pushes[0].image.size = 21 << 20 }, []string{"size-budget"}},
				{"no EXPOSE", func(l *dockerLab) { l.pushes[0].image.port = false }, []string{"exposes-8080"}},
				{"root", func(l *dockerLab) { l.pushes[0].image.user = "root" }, []string{"non-root"}},
			},
		},
		"docker-release-by-digest": {
			solved: dockerLab{pushes: []pushOp{{"hello:1.0.0", goodImage}},
				deploy: []deploy{{"hello-release", "hello@hello:1.0.0", true, true}}},
			cases: []dockerCase{
				{"no release tag", func(l *dockerLab) {
					l.pushes[0].ref = "hello:latest"
					l.deploy[0].image = "hello@hello:latest"
				}, []string{"release-tag", "digest-is-a-release"}},
				{"deployed by tag", func(l *dockerLab) { l.deploy[0].image = "hello:1.0.0" }, []string{"deployed-by-digest"}},
				{"the tag moved", func(l *dockerLab) {
					l.pushes = append(l.pushes, pushOp{"hello:1.0.0", goodImage.with(func(i *img) { i.seed = "rebuilt" })})
				}, []string{"digest-is-a-release"}},
				{"no pull secret", func(l *dockerLab) { l.deploy[0].pullSecret = false }, []string{"pull-secret"}},
				{"not available", func(l *dockerLab) { l.deploy[0].available = false }, []string{"available"}},
				{"an image from elsewhere", func(l *dockerLab) { l.deploy[0].image = "=" + labimages.Web10 }, []string{"deployed-by-digest", "digest-is-a-release"}},
			},
		},
	}
}

// TestDockerStarterApp keeps the app every docker exercise ships the same.
func TestDockerStarterApp(t *testing.T) {
	var first string
	for _, ex := range mustCatalog(t) {
		if ex.Spec.Track != rotationsv1.TrackDocker {
			continue
		}
		app, ok := ex.Spec.Starter.Files["main.go"]
		if !ok {
			t.Errorf("%s: no starter main.go", ex.Name)
			continue
		}
		if first == "" {
			first = app
		} else if app != first {
			t.Errorf("%s: main.go differs from the other docker exercises'", ex.Name)
		}
	}
	// The starter Dockerfile of docker-fix-dockerfile breaks every rule its checks name.
	for _, ex := range mustCatalog(t) {
		if ex.Name != "docker-fix-dockerfile" {
			continue
		}
		facts := dockerfacts.DockerfileFacts(ex.Spec.Starter.Files)
		violated := facts["violated"].(map[string]any)
		for _, id := range []string{"DL3007", "DL3008", "DL3009", "DL3015", "DL3020", "DL3025", "DL4000", "DL4006", "DL3002"} {
			if violated[id] != true {
				t.Errorf("the starter Dockerfile does not violate %s; findings %v", id, facts["findings"])
			}
		}
	}
}
