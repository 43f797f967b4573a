package helm

import (
	"context"
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var installedAt = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func writtenBy(manager string) []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{}}`)}}
}

// storedBy is release web's one revision, its Secret written by manager.
func storedBy(t *testing.T, manager string) *corev1.Secret {
	s := releaseSecret(t, "web", rev{1, rcommon.StatusDeployed, "Install complete", 0, "1.0.0", "1", nil, webManifest("web", 1, "1", 80)})
	if manager != "" {
		s.ManagedFields = writtenBy(manager)
	}
	s.CreationTimestamp = metav1.NewTime(installedAt)
	return s
}

// liveWeb is the Deployment web as the apiserver returns it.
func liveWeb(manager string, annotated bool, created time.Time) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns,
		CreationTimestamp: metav1.NewTime(created), ManagedFields: writtenBy(manager)}}
	if annotated {
		d.Annotations = map[string]string{releaseNameAnnotation: "web"}
	}
	return d
}

func witnessed(t *testing.T, objs ...client.Object) map[string]any {
	t.Helper()
	c := &Collector{Reader: apiserverReader(objs), Witness: true}
	facts, err := c.Collect(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return facts[FactReleases].(map[string]any)["web"].(map[string]any)
}

// apiserverReader returns objects as an apiserver does, managedFields and
// all (the fake client manages them itself): it lists the Secrets and gets
// the others by kind and name.
type apiserverReader []client.Object

func (r apiserverReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	u := obj.(*unstructured.Unstructured)
	for _, o := range r {
		if _, isSecret := o.(*corev1.Secret); isSecret || o.GetName() != key.Name {
			continue
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		u.Object = m
		return nil
	}
	return apierrors.NewNotFound(schema.GroupResource{Resource: strings.ToLower(u.GetKind()) + "s"}, key.Name)
}

func (r apiserverReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	l := list.(*corev1.SecretList)
	for _, o := range r {
		if s, ok := o.(*corev1.Secret); ok {
			l.Items = append(l.Items, *s)
		}
	}
	return nil
}

func TestWitnessAcceptsWhatHelmWrote(t *testing.T) {
	for _, m := range []string{"Helm", "helm", "helm-controller"} {
		web := witnessed(t, storedBy(t, "Helm"), liveWeb(m, true, installedAt.Add(time.Second)))
		if web["handWritten"] != nil || web["status"] != "deployed" {
			t.Errorf("objects by %s: %v", m, web)
		}
	}
}

func TestWitnessFlagsHandWrittenHistory(t *testing.T) {
	for name, tt := range map[string]struct {
		objs []client.Object
		want string
	}{
		"secrets by kubectl, nothing live": {[]client.Object{storedBy(t, "kubectl-create")}, "written by kubectl-create, not by helm"},
		"secrets stripped of writers":      {[]client.Object{storedBy(t, "")}, "records no writer"},
		"secrets by helm, nothing live":    {[]client.Object{storedBy(t, "Helm")}, "none of its objects is in the lab"},
		"objects by kubectl": {[]client.Object{storedBy(t, "Helm"), liveWeb("kubectl-create", true, installedAt)},
			"Deployment web was written by kubectl-create"},
		"objects not annotated": {[]client.Object{storedBy(t, "Helm"), liveWeb("helm", false, installedAt)},
			"Deployment web is not annotated"},
		"objects older than the release": {[]client.Object{storedBy(t, "Helm"), liveWeb("helm", true, installedAt.Add(-time.Hour))},
			"existed before the release was first stored"},
	} {
		t.Run(name, func(t *testing.T) {
			web := witnessed(t, tt.objs...)
			why, _ := web["handWritten"].(string)
			if !strings.Contains(why, tt.want) || web["status"] != nil || !strings.Contains(web["error"].(string), "looks hand-written") {
				t.Errorf("release = %v, want it hand-written because %q", web, tt.want)
			}
		})
	}
}

func TestWithoutWitnessNothingIsFlagged(t *testing.T) {
	web := collect(t, storedBy(t, "kubectl-create"))["web"].(map[string]any)
	if web["handWritten"] != nil || web["status"] != "deployed" {
		t.Errorf("release = %v", web)
	}
}
