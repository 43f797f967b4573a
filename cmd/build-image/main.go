// Command build-image builds the operator image without Docker
// (internal/operatorimage: the manager, terraform and the kubernetes
// provider mirror, laid out as the Dockerfile lays them out) and hands it
// on:
//
//	build-image archive OUT.tar [--ref REF]    one tarball for ctr -n k8s.io images import (or docker load)
//	build-image push REF [--insecure]          push it to REF
//
// Flags: --ref (archive: the name the image is imported under, default
// ghcr.io/handson-dev/rotation-operator:latest), --terraform PATH (the
// terraform CLI to put in, default terraform on PATH; it must be static),
// --insecure (push: plain HTTP, or TLS without verification). push uses
// the credentials of ~/.docker/config.json ($DOCKER_CONFIG). `make image`
// and `make image-push IMG=...` run it.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/handson-dev/rotation-operator/internal/operatorimage"
)

// defaultRef is the Makefile's IMG.
const defaultRef = "ghcr.io/handson-dev/rotation-operator:latest"

const usage = `usage:
  build-image archive OUT.tar [--ref REF]   build the operator image into a tarball (ctr -n k8s.io images import OUT.tar)
  build-image push REF [--insecure]         build it and push it to REF
flags:
  --ref REF          archive: the image's name in the tarball (default ` + defaultRef + `)
  --terraform PATH   the terraform CLI for /usr/local/bin/terraform (default: terraform on PATH; must be static)
  --insecure         push over plain HTTP, or TLS without verifying the certificate
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "build-image:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

// buildImage is operatorimage.Build; tests stand in a small image.
var buildImage = operatorimage.Build

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build-image", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		ref, terraform string
		insecure       bool
	)
	fs.StringVar(&ref, "ref", defaultRef, "the image's name in the archive")
	fs.StringVar(&terraform, "terraform", "", "the terraform CLI to put in")
	fs.BoolVar(&insecure, "insecure", false, "push over plain HTTP or unverified TLS")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want a command and one argument", errUsage)
	}
	o := operatorimage.Options{Terraform: terraform, Log: stderr}
	switch cmd, arg := pos[0], pos[1]; cmd {
	case "archive":
		if _, err := name.NewTag(ref); err != nil {
			return fmt.Errorf("%w: --ref %q: %w", errUsage, ref, err)
		}
		img, err := buildImage(ctx, o)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(arg), 0o755); err != nil {
			return err
		}
		if err := operatorimage.WriteArchive(arg, ref, img); err != nil {
			return err
		}
		d, _ := img.Digest()
		fi, err := os.Stat(arg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", ref, d)
		fmt.Fprintf(stderr, "wrote %s (%.1f MiB); load it on a node with: ctr -n k8s.io images import %s\n", arg, float64(fi.Size())/(1<<20), arg)
		return nil
	case "push":
		var nameOpts []name.Option
		remoteOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
		if insecure {
			nameOpts = append(nameOpts, name.Insecure)
			tr := remote.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
			remoteOpts = append(remoteOpts, remote.WithTransport(tr))
		}
		tag, err := name.NewTag(arg, nameOpts...)
		if err != nil {
			return fmt.Errorf("%w: %q: %w", errUsage, arg, err)
		}
		img, err := buildImage(ctx, o)
		if err != nil {
			return err
		}
		if err := remote.Write(tag, img, remoteOpts...); err != nil {
			return fmt.Errorf("pushing the operator image to %s: %w", tag, err)
		}
		d, _ := img.Digest()
		fmt.Fprintf(stdout, "%s@%s\n", tag, d)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}
