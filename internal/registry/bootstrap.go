package registry

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The Secrets of the registry in a cluster, in the operator's namespace.
// Both the registry and the operator make them if absent (Bootstrap), so
// neither waits for the other, and replicas racing to make one agree on
// whichever was created first.
const (
	// KeySecret holds the key lab credentials are derived from (data "key"):
	// the registry verifies them with it, the operator writes them into labs.
	KeySecret = "lab-registry-key"
	// CASecret holds the self-signed CA (ca.crt, ca.key) nodes trust.
	CASecret = "lab-registry-ca"
	// TLSSecret is the registry's serving certificate (kubernetes.io/tls,
	// with ca.crt).
	TLSSecret = "lab-registry-tls" //nolint:gosec // G101: a Secret's name, not a credential
	// Service and Deployment are the registry's names in config/registry
	// and the chart.
	Service = "lab-registry"
)

// Bootstrap makes the registry's Secrets if they are absent and reads them.
type Bootstrap struct {
	Client    kubernetes.Interface
	Namespace string
	// Hosts the serving certificate must cover (ServingHosts); nil skips
	// the serving certificate (the operator needs only the key and the CA).
	Hosts []string
	// Owner is a Deployment in Namespace owning the Secrets made here, so
	// that removing the registry (make undeploy, helm uninstall) removes
	// them; empty or absent: no owner.
	Owner string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Material is what Bootstrap read: PEM certificates and keys, and the
// lab credential key.
type Material struct {
	Key             []byte
	CACert          []byte
	TLSCert, TLSKey []byte
}

// Ensure makes the key and CA Secrets if absent, and the serving
// certificate if Hosts are given and it is absent, does not cover them or
// has less than a third of its life left; it returns their contents.
func (b Bootstrap) Ensure(ctx context.Context) (Material, error) {
	if b.Now == nil {
		b.Now = time.Now
	}
	owner, err := b.ownerRef(ctx)
	if err != nil {
		return Material{}, err
	}
	var m Material
	key, err := b.createIfAbsent(ctx, KeySecret, corev1.SecretTypeOpaque, owner, func() (map[string][]byte, error) {
		k, err := NewKey()
		return map[string][]byte{"key": k}, err
	})
	if err != nil {
		return m, err
	}
	if m.Key, err = ParseKey(key.Data["key"]); err != nil {
		return m, fmt.Errorf("secret %s/%s: %w", b.Namespace, KeySecret, err)
	}
	caSecret, err := b.createIfAbsent(ctx, CASecret, corev1.SecretTypeOpaque, owner, func() (map[string][]byte, error) {
		ca, err := NewCA(b.Now())
		return map[string][]byte{"ca.crt": ca.CertPEM, "ca.key": ca.KeyPEM}, err
	})
	if err != nil {
		return m, err
	}
	ca := CA{CertPEM: caSecret.Data["ca.crt"], KeyPEM: caSecret.Data["ca.key"]}
	m.CACert = ca.CertPEM
	if len(b.Hosts) == 0 {
		return m, nil
	}
	issue := func() (map[string][]byte, error) {
		crt, k, err := ca.Issue(b.Hosts, b.Now())
		return map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: k, "ca.crt": ca.CertPEM}, err
	}
	// Conflicts: another replica renewed it meanwhile; look again.
	for attempt := 0; ; attempt++ {
		s, err := b.createIfAbsent(ctx, TLSSecret, corev1.SecretTypeTLS, owner, issue)
		if err != nil {
			return m, err
		}
		if ServingCertFits(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey], ca.CertPEM, b.Hosts, b.Now()) == nil {
			m.TLSCert, m.TLSKey = s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
			return m, nil
		}
		if s.Data, err = issue(); err != nil {
			return m, err
		}
		_, err = b.Client.CoreV1().Secrets(b.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err == nil {
			m.TLSCert, m.TLSKey = s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
			return m, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return m, fmt.Errorf("renewing secret %s/%s: %w", b.Namespace, TLSSecret, err)
		}
	}
}

// createIfAbsent returns the Secret name, creating it from data() first if
// it does not exist. When another replica creates it at the same time, the
// one created first wins and both return it.
func (b Bootstrap) createIfAbsent(ctx context.Context, name string, typ corev1.SecretType, owner []metav1.OwnerReference, data func() (map[string][]byte, error)) (*corev1.Secret, error) {
	secrets := b.Client.CoreV1().Secrets(b.Namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading secret %s/%s: %w", b.Namespace, name, err)
	}
	d, err := data()
	if err != nil {
		return nil, err
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.Namespace, OwnerReferences: owner, Labels: map[string]string{
			"app.kubernetes.io/name":       Service,
			"app.kubernetes.io/part-of":    "rotation-operator",
			"app.kubernetes.io/managed-by": "rotation-operator",
		}},
		Type: typ,
		Data: d,
	}
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	switch {
	case err == nil:
		return created, nil
	case apierrors.IsAlreadyExists(err):
		if s, err = secrets.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("reading secret %s/%s: %w", b.Namespace, name, err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("creating secret %s/%s: %w", b.Namespace, name, err)
	}
}

func (b Bootstrap) ownerRef(ctx context.Context) ([]metav1.OwnerReference, error) {
	if b.Owner == "" {
		return nil, nil
	}
	d, err := b.Client.AppsV1().Deployments(b.Namespace).Get(ctx, b.Owner, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading deployment %s/%s: %w", b.Namespace, b.Owner, err)
	}
	// Not blockOwnerDeletion: that needs rights on deployments/finalizers.
	return []metav1.OwnerReference{{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment", Name: d.Name, UID: d.UID}}, nil
}
