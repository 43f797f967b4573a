// Command lab-registry runs the labs' image registry in a cluster
// (config/registry, the Helm chart), from the operator's own image, so no
// other image is needed:
//
//	lab-registry serve --host HOST [--addr :5000] [--dir /var/lib/lab-registry]
//	    make the registry's Secrets if absent (internal/registry.Bootstrap:
//	    the lab credential key, a self-signed CA, a serving certificate for
//	    HOST and the Service's names, renewed when a third of its life is
//	    left), then serve HTTPS with per-lab credentials, storing in --dir
//	    (a PersistentVolume), with the offline base library/static:nonroot.
//	    --tls-cert-file and --tls-key-file serve a certificate of your own
//	    instead (cert-manager's, say); the key Secret is still made.
//	lab-registry bootstrap --out DIR [--best-effort]
//	    make the key and CA Secrets if absent and write DIR/key and
//	    DIR/ca.crt: the operator pod's init container, so the operator
//	    derives lab credentials (--registry-key-file) and trusts the
//	    registry (SSL_CERT_FILE) whether or not the registry runs yet.
//	    --best-effort logs a failure and exits 0: the operator then starts
//	    without a registry and says so, instead of never starting.
//
// Both find the namespace in $POD_NAMESPACE (or the ServiceAccount's).
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log, newClient); err != nil {
		log.Error("lab-registry failed", "err", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: lab-registry serve --host HOST [--addr :5000] [--dir DIR] [--prefix P] | lab-registry bootstrap --out DIR [--best-effort]")

func newClient() (kubernetes.Interface, error) {
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func run(ctx context.Context, args []string, log *slog.Logger, client func() (kubernetes.Interface, error)) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	namespace := fs.String("namespace", podNamespace(), "namespace of the registry's Secrets")
	owner := fs.String("owner", registry.Service, "Deployment owning the Secrets made here (removed with it)")
	host := fs.String("host", "", "serve: the registry's address as kubelets and learners use it (host[:port])")
	addr := fs.String("addr", ":5000", "serve: listen address")
	dir := fs.String("dir", "/var/lib/lab-registry", "serve: image storage")
	prefix := fs.String("prefix", "", "serve: repository prefix of labs (the operator's --registry-prefix)")
	out := fs.String("out", "", "bootstrap: folder to write key and ca.crt into")
	bestEffort := fs.Bool("best-effort", false, "bootstrap: log a failure and exit 0")
	certFile := fs.String("tls-cert-file", "", "serve: a serving certificate of your own (PEM), instead of the self-signed CA's")
	keyFile := fs.String("tls-key-file", "", "serve: its private key (PEM)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w (%w)", errUsage, err)
	}
	if *namespace == "" {
		return fmt.Errorf("%w: no --namespace and no $POD_NAMESPACE", errUsage)
	}
	c, err := client()
	b := registry.Bootstrap{Client: c, Namespace: *namespace, Owner: *owner}
	switch args[0] {
	case "bootstrap":
		if *out == "" {
			return fmt.Errorf("%w: bootstrap needs --out", errUsage)
		}
		if err == nil {
			err = bootstrap(ctx, b, *out)
		}
		if err != nil && *bestEffort {
			log.Error("the lab registry's key and CA are not available: the operator starts without a lab registry (Docker exercises fail their image checks saying so)", "err", err)
			return nil
		}
		if err == nil {
			log.Info("wrote the lab registry's key and CA", "dir", *out, "namespace", *namespace)
		}
		return err
	case "serve":
		if err != nil {
			return err
		}
		if *host == "" {
			return fmt.Errorf("%w: serve needs --host", errUsage)
		}
		if err := (registry.Config{Host: *host, Prefix: *prefix}).Validate(); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if (*certFile == "") != (*keyFile == "") {
			return fmt.Errorf("%w: --tls-cert-file and --tls-key-file go together", errUsage)
		}
		if *certFile == "" {
			b.Hosts = registry.ServingHosts(*host, registry.Service, *namespace)
		}
		return serve(ctx, b, servingOptions{addr: *addr, dir: *dir, prefix: *prefix, host: *host, certFile: *certFile, keyFile: *keyFile}, log)
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
}

func bootstrap(ctx context.Context, b registry.Bootstrap, out string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	m, err := b.Ensure(ctx)
	if err != nil {
		return err
	}
	// out is the init container's own --out flag, a folder it shares with the manager.
	if err := os.MkdirAll(out, 0o700); err != nil { //nolint:gosec // G703: out is the operator's own flag, not request data
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "key"), m.Key, 0o600); err != nil { //nolint:gosec // G703: as above
		return err
	}
	return os.WriteFile(filepath.Join(out, "ca.crt"), m.CACert, 0o644) //nolint:gosec // G306: a CA certificate is public
}

type servingOptions struct {
	addr, dir, prefix, host string
	certFile, keyFile       string
}

func serve(ctx context.Context, b registry.Bootstrap, o servingOptions, log *slog.Logger) error {
	m, err := b.Ensure(ctx)
	if err != nil {
		return err
	}
	var pair tls.Certificate
	if o.certFile != "" {
		pair, err = tls.LoadX509KeyPair(o.certFile, o.keyFile)
	} else {
		pair, err = tls.X509KeyPair(m.TLSCert, m.TLSKey)
	}
	if err != nil {
		return err
	}
	srv, err := registry.New(registry.Options{
		Dir: o.dir, Key: m.Key, Addr: o.addr, Prefix: o.prefix,
		TLS: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		Log: logr.FromSlogHandler(log.Handler()),
	})
	if err != nil {
		return err
	}
	base, err := labimages.StaticBase("")
	if err != nil {
		return err
	}
	if err := srv.PutLibrary(ctx, "static:nonroot", base.Image); err != nil {
		return fmt.Errorf("stocking the registry's library: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	log.Info("serving the lab registry over TLS", "addr", srv.Addr(), "host", o.host, "certificate", cmp.Or(o.certFile, "self-signed CA's for "+strings.Join(b.Hosts, ",")), "storage", o.dir)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Stop(stopCtx)
}

// podNamespace is $POD_NAMESPACE, else the ServiceAccount's namespace.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	b, _ := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	return strings.TrimSpace(string(b))
}
