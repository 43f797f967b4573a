// Command tekton-release prepares Tekton Pipelines v1.15.0, the CI/CD
// engine of the cicd track, for a cluster that cannot reach the internet:
// built from the Go module proxy (about ten minutes the first time, then
// cached), images assembled with go-containerregistry, no Docker Hub.
//
//	tekton-release RELEASE.yaml [--archive IMAGES.tar] [--registry REGISTRY/PREFIX [--insecure]]
//
// It writes the rendered release to RELEASE.yaml and the images to
// IMAGES.tar, for `ctr -n k8s.io images import` on every node: the
// component images (rotation.local/tekton/<component>:v1.15.0) and the
// step image rotation.local/cicd/go:v1 that the exercises' Tasks name.
// With --registry it also pushes the component and step images to
// REGISTRY/PREFIX/... (credentials of ~/.docker/config.json) and the
// release names them there, by digest; the step image must still be on
// the nodes under its rotation.local name for the learners' Tasks. `make
// tekton-release [REGISTRY=...]` runs it.
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

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

const usage = `usage:
  tekton-release RELEASE.yaml [--archive IMAGES.tar] [--registry REGISTRY/PREFIX [--insecure]]
flags:
  --archive FILE   where the images go, for ctr -n k8s.io images import (default: IMAGES.tar next to RELEASE.yaml)
  --registry P     also push the images to P/... and name them there in the release
  --insecure       push over plain HTTP, or TLS without verifying the certificate
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, tekton.Build); err != nil {
		fmt.Fprintln(os.Stderr, "tekton-release:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

// build is tekton.Build, replaced in tests.
type build func(ctx context.Context, progress io.Writer) (tekton.Bundle, tekton.InstallTimings, error)

func run(ctx context.Context, args []string, stdout, stderr io.Writer, build build) error {
	fs := flag.NewFlagSet("tekton-release", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		archive, registry string
		insecure          bool
	)
	fs.StringVar(&archive, "archive", "", "images archive")
	fs.StringVar(&registry, "registry", "", "registry prefix to push to")
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
	if len(pos) != 1 {
		return fmt.Errorf("%w: one argument, the release file to write", errUsage)
	}
	out := pos[0]
	if archive == "" {
		archive = filepath.Join(filepath.Dir(out), "tekton-images.tar")
	}
	var prefix name.Repository
	remoteOpts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if registry != "" {
		var nameOpts []name.Option
		if insecure {
			nameOpts = append(nameOpts, name.Insecure)
			tr := remote.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
			remoteOpts = append(remoteOpts, remote.WithTransport(tr))
		}
		var err error
		if prefix, err = labimages.ParsePrefix(registry, nameOpts...); err != nil {
			return err
		}
	}

	b, _, err := build(ctx, stderr)
	if err != nil {
		return err
	}
	images := append(append([]labimages.Image{}, b.Images...), b.StepImages...)
	if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
		return err
	}
	if err := labimages.WriteArchive(archive, images...); err != nil {
		return err
	}
	if registry != "" {
		pushed, err := labimages.PublishImages(ctx, images, prefix, remoteOpts...)
		if err != nil {
			return err
		}
		refs := map[string]string{}
		for i, p := range pushed {
			refs[images[i].Ref] = p.Ref + "@" + p.Digest.String()
			fmt.Fprintf(stdout, "pushed %s\n", refs[images[i].Ref])
		}
		tekton.Retag(b.Release, refs)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := tekton.WriteYAML(out, b.Release); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d objects) and %s (%d images)\n", out, len(b.Release), archive, len(images))
	fmt.Fprintf(stdout, "on every node: ctr -n k8s.io images import %s; then: kubectl apply --server-side -f %s\n", archive, out)
	return nil
}
