package docker

import (
	"context"
	appsv1 "k8s.io/api/apps/v1"
	"strings"
	"testing"
)

// bench20 is a 20-instruction Dockerfile: two stages, apt, a pipe, labels.
const bench20 = `FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod main.go ./
RUN go mod download
RUN CGO_ENABLED=0 go build -ldflags "-s -w" -o /out/hello .
RUN go vet ./...

FROM debian:bookworm-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG VERSION=1.0.0
ENV PORT=8080 VERSION=${VERSION}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates=20230311 curl=7.88.1-10+deb12u8 \
 && rm -rf /var/lib/apt/lists/*
RUN curl --version | head -n1 > /etc/curl-version
LABEL org.opencontainers.image.source="https://example.com/hello" org.opencontainers.image.version="${VERSION}"
WORKDIR /app
COPY --from=build /out/hello /app/hello
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=3s CMD ["/app/hello", "-health"]
ENTRYPOINT ["/app/hello"]
CMD ["-addr", ":8080"]
`

// BenchmarkCollect measures the docker facts of one lab: the Dockerfile
// alone, then a 30-layer image in the loopback registry read cold (a new
// Collector: manifest and config fetched) and warm (the digest cache: one
// HEAD per tag), and everything together as a grading pass does it. The
// registry runs in a child process, so the allocations are the collector's.
//
//	go test ./internal/grading/facts/docker -run '^$' -bench . -benchmem
func BenchmarkCollect(b *testing.B) {
	files := map[string]string{DockerfileName: bench20, "go.mod": "module hello\n", "main.go": "package main\n"}
	if n := strings.Count(bench20, "\n") - strings.Count(bench20, "\n\n") - strings.Count(bench20, "\\\n"); n != 22 {
		b.Logf("%d lines", n)
	}
	s := startRegistryProcess(b)
	cfg := s.Config()
	img := buildImage(b, imageSpec{layers: 30, layerSize: 4 << 10, user: "10001:10001", ports: []string{"8080/tcp"},
		health: []string{"CMD", "/app/hello", "-health"}, labels: map[string]string{"org.opencontainers.image.version": "1.0.0"},
		entrypoint: []string{"/app/hello"}, cmd: []string{"-addr", ":8080"}})
	digest := push(b, s, "lab-bench", "hello", img, "1.0.0")
	deps := []appsv1.Deployment{deployment("hello", cfg.Repository("lab-bench", "hello")+"@"+digest.String(), true)}
	ctx := context.Background()

	b.Run("dockerfile-20-instructions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := DockerfileFacts(files)
			if f["error"] != "" || f["stageCount"] != int64(2) {
				b.Fatal(f["error"])
			}
		}
	})
	check := func(b *testing.B, facts map[string]any) {
		tag := facts[FactImages].(map[string]any)["hello"].(map[string]any)["tags"].(map[string]any)["1.0.0"].(map[string]any)
		if tag["layers"] != int64(30) {
			b.Fatalf("facts %v", tag)
		}
	}
	b.Run("image-30-layers-cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := &Collector{Registry: cfg}
			facts, err := c.Collect(ctx, Request{Namespace: "lab-bench"})
			if err != nil {
				b.Fatal(err)
			}
			check(b, facts)
		}
	})
	b.Run("image-30-layers-warm", func(b *testing.B) {
		c := &Collector{Registry: cfg}
		b.ReportAllocs()
		for b.Loop() {
			facts, err := c.Collect(ctx, Request{Namespace: "lab-bench"})
			if err != nil {
				b.Fatal(err)
			}
			check(b, facts)
		}
	})
	b.Run("all-warm", func(b *testing.B) {
		c := &Collector{Registry: cfg}
		b.ReportAllocs()
		for b.Loop() {
			facts, err := c.Collect(ctx, Request{Namespace: "lab-bench", Files: files, Deployments: deps})
			if err != nil {
				b.Fatal(err)
			}
			check(b, facts)
			if facts[FactWorkloads].(map[string]any)["hello"].(map[string]any)["imageDigestMatches"] != true {
				b.Fatal("workload facts")
			}
		}
	})
}
