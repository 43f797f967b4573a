// Package docker collects the facts of the Docker track: the learner's
// submitted Dockerfile, the images the lab pushed to its registry, and the
// Deployments that run them. Checks read them as the CEL variable docker.
//
// Collect returns four facts:
//
//	docker.dockerfile   the submitted Dockerfile (DockerfileFacts)
//	  present            bool     a file named Dockerfile was submitted
//	  error              string   "" or why it is missing or does not parse
//	                              ("Dockerfile: dockerfile parse error on line 3: unknown instruction: FORM")
//	  contextFiles       [string] the other submitted files (the build context), sorted
//	  dockerignore       bool     a .dockerignore was submitted
//	  stages             [stage]  one per FROM, in order:
//	                              {index, name, line, baseImage, baseStage, scratch, repository,
//	                               tag, digest, pinned, pinnedByDigest, platform, instructions,
//	                               user, copies [{line, from, sources, dest, chown}],
//	                               adds [{line, sources, dest}], runs [{line, command, form}]}
//	  stageCount         int
//	  multiStage         bool     the final stage is built FROM or COPY --from another stage
//	  finalStage         stage    the last stage
//	  baseImage          string   the external image at the root of the final stage ("" for scratch)
//	  user, userSet      string, bool  the final USER, inherited through FROM <stage>
//	  runsAsRoot         bool     no USER (on a base not tagged nonroot), or USER root / 0
//	  numericUser        bool
//	  expose             [string] "8080/tcp", sorted
//	  healthcheck        {present, none, test [string], interval, timeout, startPeriod, retries, line}
//	  cmd, entrypoint    {set, form ("exec" | "shell" | ""), args [string], line}
//	  labels, env        map
//	  workdir            string
//	  shell              [string] the SHELL RUN uses last
//	  findings           [{rule, severity, line, message, url}] sorted by line
//	  findingsTruncated  bool     more than MaxFindings
//	  violated           {ruleId: true} for each rule with a finding
//	  counts             {error, warning, info} findings by severity
//
//	docker.images       the lab's repositories, by name without the lab prefix
//	                    (docker.images['web'] is <host>/<prefix>/<lab>/web):
//	  name, repository   string   short and full name
//	  error              string   "" or why the repository could not be read
//	  tagCount           int
//	  tagsTruncated      bool     more than Limits.MaxTags (the last ones in sort order are kept)
//	  tags               {<tag>: image}, image being
//	    error            string   "" or why this tag could not be read
//	    digest           string   the manifest digest the tag points at (of the index, for a multi-platform image)
//	    imageDigest      string   the linux/amd64 image's manifest digest (= digest unless an index)
//	    mediaType        string
//	    index            bool     a multi-platform image index
//	    platforms        [string] an index's platforms
//	    platform         string   "linux/amd64"
//	    user             string   config User
//	    runsAsRoot       bool     User empty, root or 0
//	    numericUser      bool
//	    exposedPorts     [string] "8080/tcp", sorted
//	    healthcheck      {present, test, interval, timeout, retries}
//	    labels, annotations  map  config labels, manifest annotations
//	    entrypoint, cmd  [string]
//	    env              [string] variable names only
//	    workingDir       string
//	    layers           int      layer count
//	    size             int      compressed layer bytes (what a pull downloads)
//	    configSize       int
//	    created          string   RFC 3339
//	    history          int      history entries
//	    baseName, baseDigest  string  org.opencontainers.image.base.name/.digest, from the
//	                              manifest annotations, else the config labels
//
//	docker.registry     {host, repositoryPrefix ("<host>/<prefix>/<lab>/"), error,
//	                     catalogError, repositoriesTruncated}
//
//	docker.workloads    the lab's Deployments, by name:
//	  name               string
//	  available          bool     condition Available=True
//	  replicas, readyReplicas, availableReplicas, updatedReplicas  int
//	  usesLabImage       bool     a container runs an image from the lab's registry
//	  containers         {<container>: container}, init containers included, container being
//	    image            string   as written in the pod template
//	    inLabRegistry    bool     under the lab's repository prefix
//	    repository       string   name without the lab prefix ("" outside the lab registry)
//	    tag, digest      string   from the reference; digest is the registry's for a tag
//	    byDigest         bool     the reference pins a digest (repo@sha256:... or repo:tag@sha256:...)
//	    found            bool     the tag or digest exists in the lab registry
//	    imageDigestMatches bool   found, and for repo:tag@digest the tag still points at digest
//	    tags             [string] the repository's tags pointing at the digest
//	  and the fields of its first container in the lab registry (or its first
//	  container) at the top: image, repository, tag, digest, byDigest, found,
//	  imageDigestMatches, tags.
//
// Registry and network problems never fail Collect: they are error facts
// (docker.registry.error, an image's or a tag's error) so checks fail with
// them. Everything read is bounded: each registry response is at most
// Limits.MaxResponseBytes (manifests and configs; layers are never
// downloaded), repositories, tags and Deployments are capped and the caps
// reported, and the whole registry read has Limits.Timeout.
//
// The Collector reads the registry as the lab (its own credentials), so a
// check can only see what the learner can push and pull.
package docker

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/handson-dev/rotation-operator/internal/registry"
)

// Fact names under the docker variable.
const (
	FactDockerfile = "dockerfile"
	FactImages     = "images"
	FactRegistry   = "registry"
	FactWorkloads  = "workloads"
)

// Facts returns the fact names Collect provides.
func Facts() []string { return []string{FactDockerfile, FactImages, FactRegistry, FactWorkloads} }

// Limits bound one Collect. Zero fields take the defaults.
type Limits struct {
	// MaxRepositories of the lab read (10).
	MaxRepositories int
	// MaxTags read per repository (20).
	MaxTags int
	// MaxCatalogPages bounds catalog and tag-list pages followed (10).
	MaxCatalogPages int
	// MaxResponseBytes bounds every registry response: manifests, configs,
	// pages (4 MiB, distribution's own manifest limit).
	MaxResponseBytes int64
	// MaxDeployments read (50).
	MaxDeployments int
	// Timeout of the whole registry read (20s).
	Timeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxRepositories <= 0 {
		l.MaxRepositories = 10
	}
	if l.MaxTags <= 0 {
		l.MaxTags = 20
	}
	if l.MaxCatalogPages <= 0 {
		l.MaxCatalogPages = 10
	}
	if l.MaxResponseBytes <= 0 {
		l.MaxResponseBytes = 4 << 20
	}
	if l.MaxDeployments <= 0 {
		l.MaxDeployments = 50
	}
	if l.Timeout <= 0 {
		l.Timeout = 20 * time.Second
	}
	return l
}

// maxCached bounds the per-digest cache of image facts.
const maxCached = 512

// Collector collects the docker facts of labs. It is safe for concurrent
// use; its zero Limits are the defaults.
type Collector struct {
	// Registry is where labs push: host, prefix and credentials.
	Registry registry.Config
	// Transport for registry requests; http.DefaultTransport if nil. It is
	// wrapped to bound response sizes.
	Transport http.RoundTripper
	// Keychain, if set, replaces Registry's per-lab credentials (an
	// external registry signed into with a cloud keychain).
	Keychain authn.Keychain
	Limits   Limits

	mu    sync.Mutex
	cache map[string]map[string]any // manifest digest -> tag facts (immutable content)
}

// Request is one lab to collect.
type Request struct {
	// Namespace of the lab.
	Namespace string
	// Files are the learner's submitted files, flat names to contents:
	// DockerfileName and the build context. Nil: nothing submitted.
	Files map[string]string
	// Deployments of the lab, as read from the apiserver.
	Deployments []appsv1.Deployment
	// Repositories are image names (without the lab prefix) to read even if
	// the registry's catalog does not list them.
	Repositories []string
}

// Collect returns the docker facts of a lab; see the package doc. Only a
// bad configuration is an error; what the lab or registry gets wrong is
// in the facts. The returned maps are shared with later calls through the
// digest cache: read them, do not change them.
func (c *Collector) Collect(ctx context.Context, req Request) (map[string]any, error) {
	if req.Namespace == "" {
		return nil, errors.New("docker facts: no lab namespace")
	}
	if err := c.Registry.Validate(); err != nil {
		return nil, err
	}
	l := c.Limits.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	s, err := c.newSession(ctx, req.Namespace)
	if err != nil {
		return nil, err
	}
	deployments := req.Deployments
	truncated := len(deployments) > l.MaxDeployments
	if truncated {
		deployments = deployments[:l.MaxDeployments]
	}
	extra := append(s.labRepositories(deployments), req.Repositories...)
	images, reg := s.imagesFacts(extra)
	reg["deploymentsTruncated"] = truncated
	return map[string]any{
		FactDockerfile: DockerfileFacts(req.Files),
		FactImages:     images,
		FactRegistry:   reg,
		FactWorkloads:  s.workloadsFacts(deployments),
	}, nil
}

func (c *Collector) cached(digest string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.cache[digest]
	return f, ok
}

func (c *Collector) store(digest string, f map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[string]map[string]any{}
	}
	if len(c.cache) >= maxCached {
		for k := range c.cache { // drop any one: the map's order is random
			delete(c.cache, k)
			break
		}
	}
	c.cache[digest] = f
}

// WithDockerfile returns a copy of a lab's docker facts whose dockerfile
// fact grades files instead: Collect once per lab, then give each exercise
// its own submission. facts is not changed.
func WithDockerfile(facts map[string]any, files map[string]string) map[string]any {
	out := make(map[string]any, len(facts)+1)
	for k, v := range facts {
		out[k] = v
	}
	out[FactDockerfile] = DockerfileFacts(files)
	return out
}
