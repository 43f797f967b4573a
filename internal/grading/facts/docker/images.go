package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// OCI annotations (and labels) naming the image an image was built on.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// tagsPageSize is how many tags one tags/list page asks for.
const tagsPageSize = 100

// session is one Collect's view of the registry, as the lab.
type session struct {
	ctx     context.Context
	c       *Collector
	ns      string
	limits  Limits
	reg     name.Registry
	prefix  string // "<lab prefix>/", repository path without the host
	opts    []remote.Option
	puller  *remote.Puller
	nameOpt []name.Option
	// byRepo are the facts of each repository collected, by name without
	// the lab prefix, for the workloads.
	byRepo map[string]*repoFacts
}

type repoFacts struct {
	facts map[string]any
	tags  map[string]string // tag -> manifest digest
}

func (c *Collector) newSession(ctx context.Context, ns string) (*session, error) {
	l := c.Limits.withDefaults()
	nameOpts := append([]name.Option{name.WeakValidation}, c.Registry.NameOptions()...)
	reg, err := name.NewRegistry(c.Registry.Host, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("registry host %q: %w", c.Registry.Host, err)
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(&boundedTransport{next: base, max: l.MaxResponseBytes}),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithPageSize(tagsPageSize),
		remote.WithUserAgent("rotation-operator-grading"),
	}
	if c.Keychain != nil {
		opts = append(opts, remote.WithAuthFromKeychain(c.Keychain))
	} else {
		opts = append(opts, remote.WithAuth(c.Registry.Authenticator(ns)))
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	return &session{
		ctx: ctx, c: c, ns: ns, limits: l, reg: reg, prefix: c.Registry.LabPrefix(ns) + "/",
		opts: opts, puller: p, nameOpt: nameOpts, byRepo: map[string]*repoFacts{},
	}, nil
}

// repositories lists the lab's repositories from the catalog, names
// without the lab prefix, sorted; at most MaxRepositories.
func (s *session) catalog() (repos []string, truncated bool, err error) {
	last := ""
	seen := map[string]bool{}
	for page := 0; page < s.limits.MaxCatalogPages; page++ {
		n := 100
		names, err := remote.CatalogPage(s.reg, last, n, s.opts...)
		if err != nil {
			return repos, truncated, err
		}
		for _, r := range names {
			if rest, ok := strings.CutPrefix(r, s.prefix); ok && rest != "" && !seen[rest] {
				seen[rest] = true
				repos = append(repos, rest)
			}
		}
		if len(names) < n || len(repos) > s.limits.MaxRepositories {
			break
		}
		if names[len(names)-1] <= last {
			break // a registry that does not page forwards
		}
		last = names[len(names)-1]
		if page == s.limits.MaxCatalogPages-1 {
			truncated = true
		}
	}
	return repos, truncated, nil
}

// imagesFacts reads every repository of the lab (the catalog's and those
// named by the caller), each tag's manifest and config.
func (s *session) imagesFacts(extra []string) (images map[string]any, registry map[string]any) {
	registry = map[string]any{
		"host":                  s.c.Registry.Host,
		"repositoryPrefix":      s.c.Registry.Host + "/" + s.prefix,
		"error":                 "",
		"catalogError":          "",
		"repositoriesTruncated": false,
	}
	repos, truncated, err := s.catalog()
	if err != nil {
		registry["catalogError"] = errorMessage(err)
	}
	for _, r := range extra {
		if r != "" && !slices.Contains(repos, r) {
			repos = append(repos, r)
		}
	}
	sort.Strings(repos)
	if len(repos) > s.limits.MaxRepositories {
		repos, truncated = repos[:s.limits.MaxRepositories], true
	}
	registry["repositoriesTruncated"] = truncated
	images = make(map[string]any, len(repos))
	for _, r := range repos {
		rf := s.repositoryFacts(r)
		s.byRepo[r] = rf
		images[r] = rf.facts
	}
	if err != nil && len(repos) == 0 {
		registry["error"] = registry["catalogError"]
	}
	return images, registry
}

func (s *session) repository(image string) (name.Repository, error) {
	return name.NewRepository(s.reg.RegistryStr()+"/"+s.prefix+image, s.nameOpt...)
}

func (s *session) repositoryFacts(image string) *repoFacts {
	rf := &repoFacts{tags: map[string]string{}}
	repo, err := s.repository(image)
	if err != nil {
		rf.facts = map[string]any{"name": image, "error": err.Error(), "tags": map[string]any{}}
		return rf
	}
	tags, truncated, err := s.listTags(repo)
	facts := map[string]any{
		"name":          image,
		"repository":    repo.String(),
		"error":         "",
		"tagsTruncated": truncated,
	}
	if err != nil {
		facts["error"] = errorMessage(err)
	}
	tagFacts := make(map[string]any, len(tags))
	for _, tag := range tags {
		tf := s.tagFacts(repo.Tag(tag))
		tagFacts[tag] = tf
		if d, _ := tf["digest"].(string); d != "" {
			rf.tags[tag] = d
		}
	}
	facts["tags"] = tagFacts
	facts["tagCount"] = int64(len(tags))
	rf.facts = facts
	return rf
}

// listTags returns at most MaxTags tags: the last ones in sort order
// (v1.9 before v2.0) of at most MaxCatalogPages pages of tags.
func (s *session) listTags(repo name.Repository) (tags []string, truncated bool, err error) {
	ctx := s.ctx
	lister, err := s.puller.Lister(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	for pages := 0; lister.HasNext(); pages++ {
		if pages >= s.limits.MaxCatalogPages {
			truncated = true
			break
		}
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, false, err
		}
		tags = append(tags, page.Tags...)
	}
	sort.Strings(tags)
	if len(tags) > s.limits.MaxTags {
		tags, truncated = tags[len(tags)-s.limits.MaxTags:], true
	}
	return tags, truncated, nil
}

// tagFacts reads one tag: a HEAD for its digest, then the manifest and
// config unless the digest's facts are cached.
func (s *session) tagFacts(ref name.Reference) map[string]any {
	ctx := s.ctx
	head, err := s.puller.Head(ctx, ref)
	if err != nil {
		return map[string]any{"error": errorMessage(err), "digest": ""}
	}
	if f, ok := s.c.cached(head.Digest.String()); ok {
		return f
	}
	f := s.manifestFacts(ctx, ref)
	if f["error"] == "" {
		s.c.store(head.Digest.String(), f)
	}
	return f
}

func (s *session) manifestFacts(ctx context.Context, ref name.Reference) (facts map[string]any) {
	defer func() {
		if r := recover(); r != nil {
			facts = map[string]any{"error": fmt.Sprintf("reading the image panicked: %v", r), "digest": ""}
		}
	}()
	fail := func(err error) map[string]any {
		return map[string]any{"error": errorMessage(err), "digest": ""}
	}
	desc, err := s.puller.Get(ctx, ref)
	if err != nil {
		return fail(err)
	}
	facts = map[string]any{
		"error":     "",
		"digest":    desc.Digest.String(),
		"mediaType": string(desc.MediaType),
		"platforms": []any{},
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fail(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fail(err)
		}
		var platforms []any
		for _, m := range im.Manifests {
			if m.Platform != nil && len(platforms) < 64 {
				platforms = append(platforms, m.Platform.String())
			}
		}
		facts["platforms"] = platforms
		facts["index"] = true
	}
	// For an index, Image picks the linux/amd64 image (the puller's platform).
	img, err = desc.Image()
	if err != nil {
		return fail(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fail(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fail(err)
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	c := cfg.Config
	ports := make([]string, 0, len(c.ExposedPorts))
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	health := map[string]any{"present": false, "test": []any{}}
	if c.Healthcheck != nil && len(c.Healthcheck.Test) > 0 {
		health = map[string]any{
			"present":  c.Healthcheck.Test[0] != "NONE",
			"test":     strSlice(c.Healthcheck.Test),
			"interval": durationString(c.Healthcheck.Interval),
			"timeout":  durationString(c.Healthcheck.Timeout),
			"retries":  int64(c.Healthcheck.Retries),
		}
	}
	labels := stringMap(c.Labels)
	annotations := stringMap(m.Annotations)
	baseName, baseDigest := m.Annotations[annotationBaseName], m.Annotations[annotationBaseDigest]
	if baseName == "" {
		baseName, baseDigest = c.Labels[annotationBaseName], c.Labels[annotationBaseDigest]
	}
	envNames := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		k, _, _ := strings.Cut(e, "=")
		envNames = append(envNames, k)
	}
	created := ""
	if !cfg.Created.IsZero() {
		created = cfg.Created.UTC().Format(time.RFC3339)
	}
	for k, v := range map[string]any{
		"imageDigest":  mustDigest(img),
		"platform":     cfg.OS + "/" + cfg.Architecture,
		"user":         c.User,
		"runsAsRoot":   isRootUser(c.User),
		"numericUser":  numericUser(c.User),
		"exposedPorts": strSlice(ports),
		"healthcheck":  health,
		"labels":       labels,
		"annotations":  annotations,
		"entrypoint":   strSlice(c.Entrypoint),
		"cmd":          strSlice(c.Cmd),
		"env":          strSlice(envNames),
		"workingDir":   c.WorkingDir,
		"layers":       int64(len(m.Layers)),
		"size":         size,
		"configSize":   m.Config.Size,
		"created":      created,
		"history":      int64(len(cfg.History)),
		"baseName":     baseName,
		"baseDigest":   baseDigest,
	} {
		facts[k] = v
	}
	return facts
}

func mustDigest(img v1.Image) string {
	d, err := img.Digest()
	if err != nil {
		return ""
	}
	return d.String()
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// errorMessage shortens registry errors to what a learner can act on.
func errorMessage(err error) string {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return "not found in the registry: " + te.Error()
		case http.StatusUnauthorized, http.StatusForbidden:
			return "the registry refused the lab's credentials: " + te.Error()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the registry did not answer in time: " + err.Error()
	}
	return err.Error()
}
