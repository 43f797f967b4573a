package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestBootstrapMakesTheSecretsOnceAndReplicasAgree(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: Service, Namespace: "rotation-system", UID: "d-uid"}})
	hosts := ServingHosts("10.0.0.5:30500", Service, "rotation-system")
	// The operator's replicas (key and CA only) and the registry race.
	var wg sync.WaitGroup
	got := make([]Material, 6)
	errs := make([]error, 6)
	for i := range got {
		wg.Go(func() {
			b := Bootstrap{Client: c, Namespace: "rotation-system", Owner: Service}
			if i%2 == 0 {
				b.Hosts = hosts
			}
			got[i], errs[i] = b.Ensure(ctx)
		})
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if string(got[i].Key) != string(got[0].Key) || string(got[i].CACert) != string(got[0].CACert) {
			t.Fatalf("replica %d read another key or CA than replica 0", i)
		}
	}
	if len(got[0].Key) != 2*KeySize {
		t.Fatalf("key is %d bytes", len(got[0].Key))
	}
	for _, name := range []string{KeySecret, CASecret, TLSSecret} {
		s, err := c.CoreV1().Secrets("rotation-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "d-uid" {
			t.Errorf("%s: owner references %v, want the registry Deployment", name, s.OwnerReferences)
		}
	}
	tlsSecret, _ := c.CoreV1().Secrets("rotation-system").Get(ctx, TLSSecret, metav1.GetOptions{})
	if tlsSecret.Type != corev1.SecretTypeTLS {
		t.Errorf("serving secret type %s", tlsSecret.Type)
	}
	for _, h := range []string{"10.0.0.5", "lab-registry.rotation-system.svc"} {
		if err := ServingCertFits(got[0].TLSCert, got[0].TLSKey, got[0].CACert, []string{h}, time.Now()); err != nil {
			t.Errorf("serving certificate does not fit %s: %v", h, err)
		}
	}
}

func TestBootstrapRenewsTheServingCertificate(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	now := time.Now()
	b := Bootstrap{Client: c, Namespace: "ns", Hosts: ServingHosts("registry.example.com", Service, "ns"), Now: func() time.Time { return now }}
	first, err := b.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.TLSCert) != string(first.TLSCert) {
		t.Fatal("a second Ensure reissued a fitting certificate")
	}
	// A new host: reissued for it, same CA and key.
	b.Hosts = ServingHosts("10.1.2.3:30500", Service, "ns")
	moved, err := b.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(moved.TLSCert) == string(first.TLSCert) || string(moved.CACert) != string(first.CACert) || string(moved.Key) != string(first.Key) {
		t.Fatal("a new host did not reissue only the serving certificate")
	}
	// Two thirds of its life gone: renewed.
	now = now.Add(ServingLifetime * 3 / 4)
	renewed, err := b.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(renewed.TLSCert) == string(moved.TLSCert) {
		t.Fatal("an old certificate was not renewed")
	}
	if err := ServingCertFits(renewed.TLSCert, renewed.TLSKey, renewed.CACert, b.Hosts, now); err != nil {
		t.Fatal(err)
	}
}

func TestBootstrapRefusesAShortKey(t *testing.T) {
	c := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: KeySecret, Namespace: "ns"}, Data: map[string][]byte{"key": []byte("short")}})
	if _, err := (Bootstrap{Client: c, Namespace: "ns"}).Ensure(context.Background()); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

// The registry over TLS with the bootstrapped certificate: a client that
// trusts the CA pushes as a lab; one that does not is refused.
func TestServerOverTLSWithTheBootstrappedCertificate(t *testing.T) {
	ctx := context.Background()
	m, err := Bootstrap{Client: fake.NewClientset(), Namespace: "ns", Hosts: ServingHosts("127.0.0.1", Service, "ns")}.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(m.TLSCert, m.TLSKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Dir: t.TempDir(), Key: m.Key, TLS: &tls.Config{Certificates: []tls.Certificate{pair}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx) //nolint:errcheck
	cfg := s.Config()
	if cfg.Insecure {
		t.Fatal("a TLS server's Config says Insecure")
	}
	img, _ := random.Image(64, 1)
	dst := ref(t, cfg.Repository("lab-a", "app")+":v1")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(m.CACert)
	trusting := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	if err := remote.Write(dst, img, remote.WithAuth(cfg.Authenticator("lab-a")), remote.WithTransport(trusting), noRetry); err != nil {
		t.Fatalf("push trusting the CA: %v", err)
	}
	if err := remote.Write(dst, img, remote.WithAuth(cfg.Authenticator("lab-a")), remote.WithTransport(&http.Transport{}), noRetry); err == nil {
		t.Fatal("a client without the CA pushed")
	}
}
