package docker

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/handson-dev/rotation-operator/internal/registry"
)

func webImage(t testing.TB) v1.Image {
	return buildImage(t, imageSpec{
		layers: 3, layerSize: 2048, user: "65532:65532", ports: []string{"8080/tcp"},
		health:      []string{"CMD", "/hello", "-health"},
		labels:      map[string]string{"org.opencontainers.image.source": "https://example.com/hello"},
		annotations: map[string]string{"org.opencontainers.image.base.name": "gcr.io/distroless/static-debian12:nonroot"},
		entrypoint:  []string{"/hello"}, cmd: []string{"-addr", ":8080"},
	})
}

func TestCollectImagesAndWorkloads(t *testing.T) {
	s := startRegistry(t)
	cfg := s.Config()
	web := webImage(t)
	webDigest := push(t, s, "lab-alice", "web", web, "v1.0.0", "latest")
	root := buildImage(t, imageSpec{layers: 1, layerSize: 512, cmd: []string{"sh"}})
	rootDigest := push(t, s, "lab-alice", "tools/api", root, "dev")
	push(t, s, "lab-bob", "secret", root, "v1") // another lab's: never seen

	deps := []appsv1.Deployment{
		deployment("web", cfg.Repository("lab-alice", "web")+"@"+webDigest.String(), true),
		deployment("api", cfg.Repository("lab-alice", "tools/api")+":dev", false),
		deployment("pinned", cfg.Repository("lab-alice", "web")+":v1.0.0@"+rootDigest.String(), true),
		deployment("stale", cfg.Repository("lab-alice", "web")+":v9", true),
		deployment("nginx", "nginx:1.27", true),
		deployment("bobs", cfg.Repository("lab-bob", "secret")+":v1", true),
	}
	c := &Collector{Registry: cfg}
	facts, err := c.Collect(context.Background(), Request{
		Namespace: "lab-alice", Deployments: deps,
		Files: map[string]string{DockerfileName: goodDockerfile, "go.mod": "m", "main.go": "p"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if df := facts[FactDockerfile].(map[string]any); df["present"] != true || len(df["violated"].(map[string]any)) != 0 {
		t.Errorf("dockerfile facts %v", df)
	}
	reg := facts[FactRegistry].(map[string]any)
	if reg["error"] != "" || reg["catalogError"] != "" || reg["repositoryPrefix"] != cfg.Host+"/lab-alice/" {
		t.Errorf("registry facts %v", reg)
	}
	images := facts[FactImages].(map[string]any)
	var names []string
	for n := range images {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"tools/api", "web"}) {
		t.Fatalf("images %v, want the lab's two repositories only", names)
	}
	webFacts := images["web"].(map[string]any)
	if webFacts["error"] != "" || webFacts["tagCount"] != int64(2) || webFacts["repository"] != cfg.Host+"/lab-alice/web" {
		t.Errorf("web %v", webFacts)
	}
	v1f := webFacts["tags"].(map[string]any)["v1.0.0"].(map[string]any)
	m, _ := web.Manifest()
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	for k, want := range map[string]any{
		"error": "", "digest": webDigest.String(), "imageDigest": webDigest.String(), "user": "65532:65532",
		"runsAsRoot": false, "numericUser": true, "layers": int64(3), "size": size, "platform": "linux/amd64",
		"workingDir": "", "created": "2026-11-01T12:00:00Z", "baseName": "gcr.io/distroless/static-debian12:nonroot",
		"index": nil,
	} {
		if got := v1f[k]; got != want {
			t.Errorf("web:v1.0.0 %s = %#v, want %#v", k, got, want)
		}
	}
	if !slices.Equal(v1f["exposedPorts"].([]any), []any{"8080/tcp"}) || !slices.Equal(v1f["entrypoint"].([]any), []any{"/hello"}) ||
		!slices.Equal(v1f["cmd"].([]any), []any{"-addr", ":8080"}) || !slices.Equal(v1f["env"].([]any), []any{"PATH", "PORT"}) {
		t.Errorf("web:v1.0.0 config %v", v1f)
	}
	if h := v1f["healthcheck"].(map[string]any); h["present"] != true || h["interval"] != "30s" {
		t.Errorf("healthcheck %v", h)
	}
	if v1f["labels"].(map[string]any)["org.opencontainers.image.source"] != "https://example.com/hello" {
		t.Errorf("labels %v", v1f["labels"])
	}
	api := images["tools/api"].(map[string]any)["tags"].(map[string]any)["dev"].(map[string]any)
	if api["user"] != "" || api["runsAsRoot"] != true {
		t.Errorf("api:dev %v", api)
	}

	w := facts[FactWorkloads].(map[string]any)
	check := func(name string, want map[string]any) {
		t.Helper()
		got := w[name].(map[string]any)
		for k, v := range want {
			if g := got[k]; !equalFact(g, v) {
				t.Errorf("workload %s: %s = %#v, want %#v", name, k, g, v)
			}
		}
	}
	check("web", map[string]any{"available": true, "usesLabImage": true, "repository": "web", "tag": "", "digest": webDigest.String(),
		"byDigest": true, "found": true, "imageDigestMatches": true, "tags": []any{"latest", "v1.0.0"}, "replicas": int64(2)})
	check("api", map[string]any{"available": false, "repository": "tools/api", "tag": "dev", "digest": rootDigest.String(),
		"byDigest": false, "found": true, "imageDigestMatches": true, "tags": []any{"dev"}})
	// A tag and a digest that no longer agree: the tag moved on.
	check("pinned", map[string]any{"byDigest": true, "tag": "v1.0.0", "imageDigestMatches": false})
	check("stale", map[string]any{"found": false, "imageDigestMatches": false, "digest": ""})
	check("nginx", map[string]any{"usesLabImage": false, "image": "nginx:1.27", "repository": ""})
	check("bobs", map[string]any{"usesLabImage": false})
	if c := w["web"].(map[string]any)["containers"].(map[string]any)["app"].(map[string]any); c["inLabRegistry"] != true {
		t.Errorf("container facts %v", c)
	}
}

func equalFact(a, b any) bool {
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		return ok && slices.Equal(la, lb)
	}
	return a == b
}

func TestCollectRegistryErrorsAreFacts(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	key, _ := registry.NewKey()
	c := &Collector{Registry: registry.Config{Host: addr, Insecure: true, Key: key}, Limits: Limits{Timeout: 5 * time.Second}}
	facts, err := c.Collect(context.Background(), Request{
		Namespace:   "lab-alice",
		Deployments: []appsv1.Deployment{deployment("web", addr+"/lab-alice/web:v1", true)},
	})
	if err != nil {
		t.Fatalf("a registry that is down must not fail Collect: %v", err)
	}
	reg := facts[FactRegistry].(map[string]any)
	if !strings.Contains(reg["catalogError"].(string), "connection refused") {
		t.Errorf("registry facts %v", reg)
	}
	web := facts[FactImages].(map[string]any)["web"].(map[string]any)
	if !strings.Contains(web["error"].(string), "connection refused") {
		t.Errorf("web facts %v", web)
	}
	if w := facts[FactWorkloads].(map[string]any)["web"].(map[string]any); w["found"] != false || w["usesLabImage"] != true {
		t.Errorf("workload %v", w)
	}
	if df := facts[FactDockerfile].(map[string]any); df["present"] != false || !strings.Contains(df["error"].(string), "no Dockerfile") {
		t.Errorf("dockerfile %v", df)
	}

	// Wrong credentials: the registry refuses, the facts say so.
	s := startRegistry(t)
	push(t, s, "lab-alice", "web", webImage(t), "v1")
	bad := s.Config()
	bad.Key = make([]byte, 32)
	facts, err = (&Collector{Registry: bad}).Collect(context.Background(), Request{Namespace: "lab-alice", Repositories: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := facts[FactImages].(map[string]any)["web"].(map[string]any)["error"].(string); !strings.Contains(e, "refused the lab's credentials") {
		t.Errorf("error %q", e)
	}
}

func TestCollectBounds(t *testing.T) {
	s := startRegistry(t)
	cfg := s.Config()
	// A manifest over the response limit: 96 KiB of annotations.
	huge := mutate.Annotations(buildImage(t, imageSpec{layers: 1, layerSize: 64}), map[string]string{"x": strings.Repeat("a", 96<<10)}).(v1.Image)
	push(t, s, "lab-alice", "huge", huge, "v1")
	// 25 tags, over MaxTags.
	small := buildImage(t, imageSpec{layers: 1, layerSize: 64, user: "1000"})
	var tags []string
	for i := range 25 {
		tags = append(tags, "v"+string(rune('a'+i)))
	}
	push(t, s, "lab-alice", "many", small, tags...)
	// A multi-platform index.
	arm := buildImage(t, imageSpec{layers: 1, layerSize: 64, user: "1"})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: small, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ := name.ParseReference(cfg.Repository("lab-alice", "multi")+":v1", cfg.NameOptions()...)
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(cfg.Authenticator("lab-alice"))); err != nil {
		t.Fatal(err)
	}

	c := &Collector{Registry: cfg, Limits: Limits{MaxResponseBytes: 64 << 10, MaxTags: 20, MaxRepositories: 2}}
	facts, err := c.Collect(context.Background(), Request{Namespace: "lab-alice"})
	if err != nil {
		t.Fatal(err)
	}
	images := facts[FactImages].(map[string]any)
	if len(images) != 2 || facts[FactRegistry].(map[string]any)["repositoriesTruncated"] != true {
		t.Errorf("%d repositories read, truncated=%v; want 2 and true", len(images), facts[FactRegistry].(map[string]any)["repositoriesTruncated"])
	}
	h := images["huge"].(map[string]any)["tags"].(map[string]any)["v1"].(map[string]any)
	if !strings.Contains(h["error"].(string), "too large") {
		t.Errorf("huge manifest: %v", h)
	}
	many := images["many"].(map[string]any)
	if many["tagsTruncated"] != true || len(many["tags"].(map[string]any)) != 20 {
		t.Errorf("many: truncated=%v with %d tags", many["tagsTruncated"], len(many["tags"].(map[string]any)))
	}
	if _, kept := many["tags"].(map[string]any)["va"]; kept {
		t.Error("kept the first tag, want the last 20 in sort order")
	}
	// A Deployment running a tag beyond those read still finds it.
	c.Limits.MaxRepositories = 10
	facts, err = c.Collect(context.Background(), Request{Namespace: "lab-alice",
		Deployments: []appsv1.Deployment{deployment("old", cfg.Repository("lab-alice", "many")+":va", true)}})
	if err != nil {
		t.Fatal(err)
	}
	smallDigest, _ := small.Digest()
	if w := facts[FactWorkloads].(map[string]any)["old"].(map[string]any); w["found"] != true || w["digest"] != smallDigest.String() {
		t.Errorf("workload on a tag beyond MaxTags: %v", w)
	}

	c = &Collector{Registry: cfg}
	facts, err = c.Collect(context.Background(), Request{Namespace: "lab-alice", Repositories: []string{"multi"}})
	if err != nil {
		t.Fatal(err)
	}
	m := facts[FactImages].(map[string]any)["multi"].(map[string]any)["tags"].(map[string]any)["v1"].(map[string]any)
	idxDigest, _ := idx.Digest()
	if m["index"] != true || m["user"] != "1000" || m["imageDigest"] != smallDigest.String() || m["digest"] != idxDigest.String() ||
		!slices.Equal(m["platforms"].([]any), []any{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index facts %v", m)
	}
}

func TestCollectCachesByDigest(t *testing.T) {
	s := startRegistry(t)
	push(t, s, "lab-alice", "web", webImage(t), "v1", "v2", "v3")
	counter := &countingTransport{next: http.DefaultTransport}
	c := &Collector{Registry: s.Config(), Transport: counter}
	collect := func() (content, head int64) {
		c0, h0 := counter.content.Load(), counter.head.Load()
		if _, err := c.Collect(context.Background(), Request{Namespace: "lab-alice"}); err != nil {
			t.Fatal(err)
		}
		return counter.content.Load() - c0, counter.head.Load() - h0
	}
	// First pass: a HEAD per tag, one manifest and one config GET (the
	// three tags share a digest). Second: the HEADs only.
	if content, head := collect(); content != 2 || head != 3 {
		t.Errorf("first pass: %d manifest and blob GETs, %d HEADs; want 2 and 3", content, head)
	}
	if content, head := collect(); content != 0 || head != 3 {
		t.Errorf("second pass: %d manifest and blob GETs, %d HEADs; want 0 and 3", content, head)
	}
}
