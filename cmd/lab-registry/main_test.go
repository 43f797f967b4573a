package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/handson-dev/rotation-operator/internal/registry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func fakeClient(c kubernetes.Interface) func() (kubernetes.Interface, error) {
	return func() (kubernetes.Interface, error) { return c, nil }
}

// The operator's init container writes the key and the CA the registry
// serves with; with --best-effort a failure still exits 0.
func TestBootstrapThenServe(t *testing.T) {
	c := fake.NewClientset()
	out := t.TempDir()
	if err := run(context.Background(), []string{"bootstrap", "--namespace=ns", "--out=" + out}, quiet, fakeClient(c)); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(out, "key"))
	ca, _ := os.ReadFile(filepath.Join(out, "ca.crt"))
	if len(key) != 2*registry.KeySize || len(ca) == 0 {
		t.Fatalf("key %d bytes, CA %d bytes", len(key), len(ca))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--namespace=ns", "--host=" + addr, "--addr=" + addr, "--dir=" + t.TempDir()}, quiet, fakeClient(c))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	cfg := registry.Config{Host: addr, Key: key}
	ref, _ := name.ParseReference(cfg.Repository("lab-a", "app") + ":v1")
	img, _ := random.Image(64, 1)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = remote.Write(ref, img, remote.WithTransport(tr), remote.WithAuth(cfg.Authenticator("lab-a")))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("push to the served registry with the bootstrapped CA and key: %v", err)
	}
	// The library is stocked.
	lib, _ := name.ParseReference(cfg.LibraryRepository("static") + ":nonroot")
	if _, err := remote.Head(lib, remote.WithTransport(tr), remote.WithAuth(cfg.Authenticator("lab-a"))); err != nil {
		t.Errorf("library/static:nonroot: %v", err)
	}
}

func TestBestEffortBootstrap(t *testing.T) {
	broken := func() (kubernetes.Interface, error) { return nil, errors.New("no cluster") }
	if err := run(context.Background(), []string{"bootstrap", "--namespace=ns", "--out=" + t.TempDir(), "--best-effort"}, quiet, broken); err != nil {
		t.Fatalf("--best-effort without a cluster: %v", err)
	}
	c := fake.NewClientset()
	c.PrependReactor("*", "*", func(_ k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	if err := run(context.Background(), []string{"bootstrap", "--namespace=ns", "--out=" + t.TempDir(), "--best-effort"}, quiet, fakeClient(c)); err != nil {
		t.Fatalf("--best-effort: %v", err)
	}
	if err := run(context.Background(), []string{"bootstrap", "--namespace=ns", "--out=" + t.TempDir()}, quiet, fakeClient(c)); err == nil {
		t.Fatal("a failing bootstrap without --best-effort succeeded")
	}
	if err := run(context.Background(), []string{"serve", "--namespace=ns"}, quiet, fakeClient(c)); !errors.Is(err, errUsage) {
		t.Fatalf("serve without --host: %v", err)
	}
}
