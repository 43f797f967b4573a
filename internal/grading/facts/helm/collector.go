// Package helm collects the Helm releases of a lab namespace as facts for
// checks, read-only, from Helm's own release storage: the Secrets driver's
// sh.helm.release.v1.<name>.v<revision> Secrets (label owner=helm). It never
// runs the helm CLI and never writes.
//
// Collect returns {"releases": {<release name>: <release>}}. A release is
//
//	name, namespace        string
//	revision               int     latest revision
//	status                 string  deployed, failed, superseded, pending-upgrade, ...
//	description            string  Helm's log line: "Install complete", "Upgrade complete", "Rollback to 1", ...
//	rollbackRevision       int     revision rolled back to, 0 if the latest revision is not a rollback
//	chart                  {name, version, appVersion}
//	values                 map     user-supplied values (helm get values)
//	config                 map     chart defaults coalesced with values (helm get values --all)
//	manifestObjects        list    objects of the rendered manifest, in order, as maps
//	manifestTruncated      bool    more than MaxManifestObjects objects; the rest are left out
//	history                list    one entry per kept revision, oldest first:
//	                               {revision, status, description, rollbackRevision, chart, values}
//	historyTruncated       bool    more than MaxRevisions revisions; only the latest are kept
//
// A release whose history looks written by hand rather than by helm (see
// evidence.go) is {name, namespace, handWritten, error} instead, handWritten
// saying why: its storage Secrets were written by another field manager
// (kubectl), or its latest deployed revision's objects are not in the lab
// as Helm applied them.
//
// A release is keyed, and named, by the Secrets' "name" label (else the
// Secret name), as Helm's own history lookups do.
//
// A release any of whose kept Secrets cannot be decoded (bad base64, bad
// gzip, over MaxEncodedSize / MaxDecodedSize / MaxManifestSize, JSON that is
// not a release, an unparsable manifest, or the namespace's releases
// together over MaxDecodedTotal) is {name, namespace, error} instead, error
// naming the newest bad Secret and the cause, e.g.
//
//	release secret sh.helm.release.v1.web.v3: gzip: release decompresses to over 8 MiB (limit)
//
// so a check on it fails with a clear message; the other releases are
// unaffected. Decoding never panics the caller and its memory is bounded.
//
// Numbers in values, config and manifest objects are int64 when integral
// and float64 otherwise, like the kube facts (unstructured objects).
//
// config comes from the SDK's CoalesceValues, which reports type clashes
// between chart defaults and user values with log.Printf (standard logger),
// as the helm CLI does.
package helm

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	rspb "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// Bounds on the facts of one release.
const (
	// MaxRevisions is how many of the latest revisions are decoded and kept
	// in history. Helm keeps 10 by default (--history-max).
	MaxRevisions = 20
	// MaxManifestObjects bounds manifestObjects.
	MaxManifestObjects = 500
)

// FactReleases is the fact name of the lab's releases under the helm
// variable.
const FactReleases = "releases"

// Helm's Secrets driver: the label every release Secret carries, the labels
// naming release and revision, and the data key of the encoded release.
const (
	ownerLabel   = "owner"
	ownerHelm    = "helm"
	nameLabel    = "name"
	versionLabel = "version"
	releaseKey   = "release"
	secretPrefix = "sh.helm.release.v1." //nolint:gosec // G101: the name prefix of Helm's release Secrets, not a credential.
)

// Collector reads Helm release Secrets of a lab. Reader should read the
// apiserver directly (not a cache), as for the kube facts, and needs list
// on Secrets in lab namespaces; only Secrets labelled owner=helm are listed.
type Collector struct {
	Reader client.Reader
	// Witness: Reader is an apiserver, which records who wrote each object
	// (managedFields). Releases are then checked for signs of a history
	// written by hand (evidence.go); a reader without managedFields (a
	// test's fake client) cannot tell.
	Witness bool
}

// Collect lists the release Secrets in namespace and returns
// {"releases": name -> release}; see the package doc for the shape. Only a
// failed List is an error: a bad release Secret makes an error entry.
func (c *Collector) Collect(ctx context.Context, namespace string) (map[string]any, error) {
	var list corev1.SecretList
	if err := c.Reader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{ownerLabel: ownerHelm}); err != nil {
		return nil, fmt.Errorf("listing Helm release secrets in %s: %w", namespace, err)
	}
	releases := releasesFacts(namespace, list.Items, c.Witness)
	if c.Witness {
		c.checkLive(ctx, namespace, list.Items, releases)
	}
	return map[string]any{FactReleases: releases}, nil
}

// checkLive replaces releases whose latest revision was not applied by Helm
// with hand-written entries (evidence.go).
func (c *Collector) checkLive(ctx context.Context, namespace string, secrets []corev1.Secret, releases map[string]any) {
	first := map[string]time.Time{} // the earliest stored revision's creation, by release
	for i := range secrets {
		name, _ := identify(&secrets[i])
		if t := secrets[i].CreationTimestamp.Time; !t.IsZero() && (first[name].IsZero() || t.Before(first[name])) {
			first[name] = t
		}
	}
	for name, v := range releases {
		rel, _ := v.(map[string]any)
		if rel == nil || rel["error"] != nil {
			continue
		}
		// Only revision 1 predates every object; a pruned history proves nothing by time.
		var since time.Time
		if hist, _ := rel["history"].([]any); len(hist) > 0 {
			if h, _ := hist[0].(map[string]any); h != nil && h["revision"] == int64(1) {
				since = first[name]
			}
		}
		if why := liveEvidence(ctx, c.Reader, namespace, name, rel, since); why != "" {
			releases[name] = handWrittenEntry(namespace, name, why)
		}
	}
}

// stored is one release Secret, before decoding.
type stored struct {
	secret        string
	revision      int // from the labels (or the name); ordering only
	payload       []byte
	managedFields []metav1.ManagedFieldsEntry
}

// collection is the state of one Collect: what is left of MaxDecodedTotal,
// and the decoder's reused buffers.
type collection struct {
	budget int
	dec    decoder
}

// releasesFacts groups release Secrets by release and decodes each group,
// in name order so that a spent budget always fails the same releases.
func releasesFacts(namespace string, secrets []corev1.Secret, witness bool) map[string]any {
	groups := map[string][]stored{}
	for i := range secrets {
		s := &secrets[i]
		name, rev := identify(s)
		groups[name] = append(groups[name], stored{secret: s.Name, revision: rev, payload: s.Data[releaseKey], managedFields: s.ManagedFields})
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	c := &collection{budget: MaxDecodedTotal}
	out := make(map[string]any, len(groups))
	for _, name := range names {
		out[name] = releaseFacts(namespace, name, groups[name], c)
		if rel, _ := out[name].(map[string]any); witness && rel["error"] == nil {
			if why := storageHandWritten(groups[name]); why != "" {
				out[name] = handWrittenEntry(namespace, name, why)
			}
		}
	}
	return out
}

// identify reads a release Secret's release name and revision from the
// labels Helm sets, falling back to its name sh.helm.release.v1.<name>.v<N>.
func identify(s *corev1.Secret) (name string, revision int) {
	name = s.Labels[nameLabel]
	revision, err := strconv.Atoi(s.Labels[versionLabel])
	if name != "" && err == nil {
		return name, revision
	}
	rest := strings.TrimPrefix(s.Name, secretPrefix)
	if i := strings.LastIndex(rest, ".v"); i >= 0 {
		if n, err := strconv.Atoi(rest[i+2:]); err == nil {
			if name == "" {
				name = rest[:i]
			}
			return name, n
		}
	}
	if name == "" {
		name = s.Name
	}
	return name, 0
}

// releaseFacts decodes the latest MaxRevisions revisions of one release.
// Only the newest decoded release is kept whole; older revisions are cut
// down to their history entry as soon as they are decoded.
func releaseFacts(namespace, name string, g []stored, c *collection) map[string]any {
	sort.Slice(g, func(i, j int) bool {
		if g[i].revision != g[j].revision {
			return g[i].revision < g[j].revision
		}
		return g[i].secret < g[j].secret
	})
	truncated := len(g) > MaxRevisions
	if truncated {
		g = g[len(g)-MaxRevisions:]
	}

	type entry struct {
		version int
		facts   map[string]any
	}
	history := make([]entry, 0, len(g))
	var latest *rspb.Release
	var latestSecret string
	var firstErr error
	failed := 0
	// Latest first, so the error reported is the newest revision's.
	for i := len(g) - 1; i >= 0; i-- {
		rls, err := c.safeDecode(g[i].payload)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("release secret %s: %w", g[i].secret, err)
			}
			continue
		}
		if firstErr != nil {
			continue // an error entry it is; keep counting failures
		}
		history = append(history, entry{rls.Version, historyEntry(rls)})
		if latest == nil || rls.Version > latest.Version {
			latest, latestSecret = rls, g[i].secret
		}
	}
	if firstErr != nil {
		return errorEntry(namespace, name, firstErr, failed)
	}

	facts, err := latestFacts(latest)
	if err != nil {
		return errorEntry(namespace, name, fmt.Errorf("release secret %s: %w", latestSecret, err), 1)
	}
	facts["name"] = name
	if facts["namespace"] == "" {
		facts["namespace"] = namespace
	}
	// The stored revision numbers, not the labels, order the history.
	sort.SliceStable(history, func(i, j int) bool { return history[i].version < history[j].version })
	list := make([]any, len(history))
	for i, e := range history {
		list[i] = e.facts
	}
	facts["history"] = list
	facts["historyTruncated"] = truncated
	return facts
}

func errorEntry(namespace, name string, err error, failed int) map[string]any {
	msg := err.Error()
	if failed > 1 {
		msg += fmt.Sprintf(" (and %d more undecodable revisions)", failed-1)
	}
	return map[string]any{"name": name, "namespace": namespace, "error": msg}
}

// safeDecode decodes a release Secret's payload charged to the budget,
// turning a panic in the SDK types' JSON decoding into an error: one bad
// Secret must not crash the operator.
func (c *collection) safeDecode(payload []byte) (rls *rspb.Release, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.dec = decoder{} // its state is unknown now
			rls, err = nil, fmt.Errorf("decoding panicked: %v", r)
		}
	}()
	if c.budget <= 0 {
		return nil, fmt.Errorf("the namespace's Helm releases decode to over %d MiB (limit): %w", MaxDecodedTotal>>20, errTooLarge)
	}
	rls, size, err := c.dec.decode(payload)
	c.budget -= size
	return rls, err
}

// latestFacts is the release entry for its latest revision, without name
// and history.
func latestFacts(r *rspb.Release) (facts map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			facts, err = nil, fmt.Errorf("reading release panicked: %v", p)
		}
	}()
	objs, objsTruncated, err := manifestObjects(r.Manifest)
	if err != nil {
		return nil, err
	}
	config, err := mergedConfig(r)
	if err != nil {
		return nil, fmt.Errorf("merging chart values: %w", err)
	}
	return map[string]any{
		"namespace":         r.Namespace,
		"revision":          int64(r.Version),
		"status":            r.Info.Status.String(),
		"description":       r.Info.Description,
		"rollbackRevision":  int64(r.Info.RollbackRevision),
		"chart":             chartFacts(r),
		"values":            userValues(r),
		"config":            config,
		"manifestObjects":   objs,
		"manifestTruncated": objsTruncated,
	}, nil
}

func historyEntry(r *rspb.Release) map[string]any {
	return map[string]any{
		"revision":         int64(r.Version),
		"status":           r.Info.Status.String(),
		"description":      r.Info.Description,
		"rollbackRevision": int64(r.Info.RollbackRevision),
		"chart":            chartFacts(r),
		"values":           userValues(r),
	}
}

func chartFacts(r *rspb.Release) map[string]any {
	m := r.Chart.Metadata
	return map[string]any{"name": m.Name, "version": m.Version, "appVersion": m.AppVersion}
}

// userValues are the values the learner supplied (-f, --set): the
// release's Config, as `helm get values` prints them.
// The latest revision's values and its history entry share the map.
func userValues(r *rspb.Release) map[string]any {
	if r.Config == nil {
		r.Config = map[string]any{}
	}
	normalizeNumbers(r.Config)
	return r.Config
}

// mergedConfig is what `helm get values --all` prints: the SDK's
// CoalesceValues over the stored chart's defaults and the user's values.
// The stored chart has no subcharts (Helm does not persist them), exactly
// as when helm itself reads the release back. CoalesceValues copies both
// inputs; it may log warnings (log.Printf) for type clashes, as helm does.
func mergedConfig(r *rspb.Release) (map[string]any, error) {
	vals, err := chartutil.CoalesceValues(r.Chart, r.Config)
	if err != nil {
		return nil, err
	}
	m := map[string]any(vals)
	if m == nil {
		m = map[string]any{}
	}
	normalizeNumbers(m)
	return m, nil
}

// normalizeNumbers turns integral float64s (encoding/json's numbers) into
// int64 in place, so checks compare values.replicas == 3 as for kube facts.
func normalizeNumbers(v any) any {
	return jsontree.Walker{InPlace: true, Leaf: integralToInt64}.Map(v)
}

// integralToInt64 is an integral float64 in int64's range as an int64.
func integralToInt64(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return v
}
