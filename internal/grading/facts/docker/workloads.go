package docker

import (
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// labImage is a container image reference under the lab's prefix.
type labImage struct {
	repository string // without the lab prefix
	tag        string
	digest     string
}

// parseLabImage splits a container's image into the lab repository, tag
// and digest; ok is false for an image outside the lab's registry prefix.
func (s *session) parseLabImage(image string) (li labImage, ok bool) {
	// A reference may carry a tag and a digest: repo:tag@sha256:...
	rest, digest, hasDigest := strings.Cut(image, "@")
	repoPart, tag := rest, ""
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repoPart, tag = rest[:i], rest[i+1:]
	}
	repo, err := name.NewRepository(repoPart, s.nameOpt...)
	if err != nil || repo.RegistryStr() != s.reg.RegistryStr() {
		return li, false
	}
	short, found := strings.CutPrefix(repo.RepositoryStr(), s.prefix)
	if !found || short == "" {
		return li, false
	}
	if tag == "" && !hasDigest {
		tag = "latest" // what the container runtime pulls
	}
	return labImage{repository: short, tag: tag, digest: digest}, true
}

// labRepositories are the lab repositories the Deployments run, so they
// are read even when the catalog is not available.
func (s *session) labRepositories(deployments []appsv1.Deployment) []string {
	var out []string
	for i := range deployments {
		for _, c := range containersOf(&deployments[i]) {
			if li, ok := s.parseLabImage(c.Image); ok && !slices.Contains(out, li.repository) {
				out = append(out, li.repository)
			}
		}
	}
	return out
}

func containersOf(d *appsv1.Deployment) []corev1.Container {
	spec := &d.Spec.Template.Spec
	return slices.Concat(spec.InitContainers, spec.Containers)
}

func (s *session) workloadsFacts(deployments []appsv1.Deployment) map[string]any {
	out := make(map[string]any, len(deployments))
	for i := range deployments {
		d := &deployments[i]
		available := false
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				available = true
			}
		}
		replicas := int64(1)
		if d.Spec.Replicas != nil {
			replicas = int64(*d.Spec.Replicas)
		}
		w := map[string]any{
			"name":              d.Name,
			"available":         available,
			"replicas":          replicas,
			"readyReplicas":     int64(d.Status.ReadyReplicas),
			"availableReplicas": int64(d.Status.AvailableReplicas),
			"updatedReplicas":   int64(d.Status.UpdatedReplicas),
			"usesLabImage":      false,
		}
		containers := map[string]any{}
		var top map[string]any
		for _, c := range containersOf(d) {
			cf := s.containerFacts(c)
			containers[c.Name] = cf
			if cf["inLabRegistry"] == true && (top == nil || top["inLabRegistry"] != true) {
				top = cf
				w["usesLabImage"] = true
			} else if top == nil {
				top = cf
			}
		}
		w["containers"] = containers
		for _, k := range []string{"image", "repository", "tag", "digest", "byDigest", "found", "imageDigestMatches", "tags"} {
			if top != nil {
				w[k] = top[k]
			}
		}
		if top == nil {
			for k, v := range map[string]any{"image": "", "repository": "", "tag": "", "digest": "", "byDigest": false, "found": false, "imageDigestMatches": false, "tags": []any{}} {
				w[k] = v
			}
		}
		out[d.Name] = w
	}
	return out
}

func (s *session) containerFacts(c corev1.Container) map[string]any {
	f := map[string]any{
		"name": c.Name, "image": c.Image, "inLabRegistry": false, "repository": "", "tag": "", "digest": "",
		"byDigest": false, "found": false, "imageDigestMatches": false, "tags": []any{},
	}
	li, ok := s.parseLabImage(c.Image)
	if !ok {
		return f
	}
	f["inLabRegistry"] = true
	f["repository"] = li.repository
	f["tag"] = li.tag
	f["byDigest"] = li.digest != ""
	rf := s.byRepo[li.repository]
	if rf == nil {
		return f
	}
	digest := li.digest
	switch {
	case li.digest != "" && li.tag != "":
		tagDigest, tagFound := rf.tags[li.tag]
		f["found"] = tagFound || s.digestExists(li)
		f["imageDigestMatches"] = tagFound && tagDigest == li.digest
	case li.digest != "":
		found := slices.Contains(valuesOf(rf.tags), li.digest) || s.digestExists(li)
		f["found"], f["imageDigestMatches"] = found, found
	default:
		d, found := rf.tags[li.tag]
		if !found && rf.facts["tagsTruncated"] == true {
			d, found = s.headTag(li) // beyond the tags read
		}
		digest = d
		f["found"], f["imageDigestMatches"] = found, found
	}
	f["digest"] = digest
	var tags []string
	for t, d := range rf.tags {
		if d == digest && digest != "" {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	f["tags"] = strSlice(tags)
	return f
}

// digestExists asks the registry for a digest no collected tag points at.
func (s *session) digestExists(li labImage) bool {
	repo, err := s.repository(li.repository)
	if err != nil {
		return false
	}
	_, err = s.puller.Head(s.ctx, repo.Digest(li.digest))
	return err == nil
}

// headTag asks the registry for a tag that was not among those read.
func (s *session) headTag(li labImage) (string, bool) {
	repo, err := s.repository(li.repository)
	if err != nil {
		return "", false
	}
	d, err := s.puller.Head(s.ctx, repo.Tag(li.tag))
	if err != nil {
		return "", false
	}
	return d.Digest.String(), true
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
