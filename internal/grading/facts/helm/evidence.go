package helm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Tamper evidence. Helm's storage is plain Secrets the learner may write:
// three release Secrets made with kubectl (no chart, nothing applied) would
// claim a whole install, upgrade and rollback. Two things Helm leaves and a
// hand-written history lacks are checked:
//
//   - the storage Secrets are written by Helm: every managedFields entry is
//     a Helm manager ("Helm" from the CLI's user agent, "helm" as its
//     field manager); kubectl records "kubectl-create", "kubectl-edit", ...
//   - the latest deployed revision was applied to the lab: some object of
//     its manifest is live, annotated with the release, written by a Helm
//     field manager, and created no earlier than the release's first
//     revision (Helm stores revision 1 before it creates anything).
//
// The server sets managedFields and creation times, so neither can be
// backdated; copying them needs the live work done. Storage Secrets
// without managedFields were stripped of them, which Helm never does. A
// release failing either is reported as {name, namespace,
// handWritten, error}: no check on its history passes.

// MaxVerifiedObjects bounds the live lookups per release.
const MaxVerifiedObjects = 20

// clockSlack absorbs the apiserver's one-second timestamps.
const clockSlack = 5 * time.Second

// Helm's ownership annotation on every object it applies.
const releaseNameAnnotation = "meta.helm.sh/release-name"

// isHelmManager tells Helm's field managers: the CLI's user agent prefix
// ("Helm"), its field manager ("helm"), helm-controller and the like.
func isHelmManager(m string) bool {
	return strings.HasPrefix(strings.ToLower(m), "helm")
}

// foreignManagers lists the non-Helm managers of an object, sorted.
func foreignManagers(fields []metav1.ManagedFieldsEntry) []string {
	set := map[string]bool{}
	for _, f := range fields {
		if !isHelmManager(f.Manager) {
			set[f.Manager] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// storageHandWritten is why a release's Secrets look written by hand, or "".
func storageHandWritten(g []stored) string {
	for _, s := range g {
		if len(s.managedFields) == 0 {
			return fmt.Sprintf("release secret %s records no writer (its managedFields were removed)", s.secret)
		}
		if ms := foreignManagers(s.managedFields); len(ms) > 0 {
			return fmt.Sprintf("release secret %s was written by %s, not by helm", s.secret, strings.Join(ms, ", "))
		}
	}
	return ""
}

// liveEvidence checks that the latest revision's objects were applied by
// Helm: it returns why not, or "" when some object shows it or nothing can
// be told (no objects, none readable).
func liveEvidence(ctx context.Context, r client.Reader, namespace, release string, facts map[string]any, firstStored time.Time) string {
	if r == nil || facts["status"] != "deployed" {
		return ""
	}
	objs, _ := facts["manifestObjects"].([]any)
	looked, missing := 0, 0
	var why []string
	for _, o := range objs {
		m, ok := o.(map[string]any)
		if !ok || looked == MaxVerifiedObjects {
			continue
		}
		want := &unstructured.Unstructured{Object: m}
		if want.GetAPIVersion() == "" || want.GetKind() == "" || want.GetName() == "" {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetAPIVersion(want.GetAPIVersion())
		live.SetKind(want.GetKind())
		err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: want.GetName()}, live)
		switch {
		case apierrors.IsNotFound(err):
			looked++
			missing++
			continue
		case err != nil:
			continue // forbidden, unknown kind: no evidence either way
		}
		looked++
		what := want.GetKind() + " " + want.GetName()
		switch {
		case live.GetAnnotations()[releaseNameAnnotation] != release:
			why = append(why, what+" is not annotated with the release")
		case len(live.GetManagedFields()) > 0 && !helmWrote(live.GetManagedFields()):
			why = append(why, what+" was written by "+strings.Join(foreignManagers(live.GetManagedFields()), ", ")+", not by helm")
		case !firstStored.IsZero() && live.GetCreationTimestamp().Add(clockSlack).Before(firstStored):
			why = append(why, what+" existed before the release was first stored")
		default:
			return "" // applied by Helm
		}
	}
	if looked == 0 {
		return ""
	}
	if missing == looked {
		return fmt.Sprintf("revision %v is deployed, but none of its objects is in the lab", facts["revision"])
	}
	return fmt.Sprintf("revision %v is deployed, but none of its objects was applied by helm: %s", facts["revision"], strings.Join(why, "; "))
}

func helmWrote(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if isHelmManager(f.Manager) {
			return true
		}
	}
	return false
}

// handWrittenEntry replaces a release whose history looks forged.
func handWrittenEntry(namespace, name, why string) map[string]any {
	return map[string]any{
		"name": name, "namespace": namespace, "handWritten": why,
		"error": "the release's history looks hand-written (" + why + "): install, upgrade and roll back with helm",
	}
}
