// Command lab-images builds the images lab pods run (rotation.local/web:1.0,
// web:1.1 and pause:3.10) from the Go sources in labs/images, without
// Docker, and hands them to a cluster:
//
//	lab-images archive OUT.tar                      one tarball for ctr -n k8s.io images import
//	lab-images publish REGISTRY/PREFIX [--insecure] push to REGISTRY/PREFIX/<name>:<tag>
//	lab-images list                                 print the refs and digests
//
// Flags: --arch GOARCH (default: this machine's), --insecure (publish: plain
// HTTP, or TLS without verification). publish uses the credentials of
// ~/.docker/config.json ($DOCKER_CONFIG), like docker and crane. `make
// lab-images` and `make lab-images-publish REGISTRY=...` run it.
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
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

const usage = `usage:
  lab-images archive OUT.tar                       build the lab images into one tarball (ctr -n k8s.io images import OUT.tar)
  lab-images publish REGISTRY/PREFIX [--insecure]  build and push them to REGISTRY/PREFIX/<name>:<tag>
  lab-images list                                  build them and print their refs and digests
flags:
  --arch GOARCH   architecture of the images (default: this machine's)
  --insecure      publish over plain HTTP, or TLS without verifying the certificate
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lab-images:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab-images", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		arch     string
		insecure bool
	)
	fs.StringVar(&arch, "arch", "", "GOARCH of the images")
	fs.BoolVar(&insecure, "insecure", false, "publish over plain HTTP or unverified TLS")
	// Flags may come before or after the arguments.
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
	if len(pos) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, pos := pos[0], pos[1:]
	if (cmd == "list" && len(pos) != 0) || (cmd != "list" && len(pos) != 1) {
		return fmt.Errorf("%w: %s takes %s", errUsage, cmd, map[bool]string{true: "no argument", false: "one argument"}[cmd == "list"])
	}

	build := func() ([]labimages.Image, error) {
		return labimages.Build(ctx, labimages.Options{GOARCH: arch, Log: stderr})
	}
	switch cmd {
	case "archive":
		out := pos[0]
		images, err := build()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := labimages.WriteArchive(out, images...); err != nil {
			return err
		}
		printImages(stdout, images)
		fmt.Fprintf(stderr, "wrote %s; load it on a node with: ctr -n k8s.io images import %s\n", out, out)
		return nil
	case "publish":
		var nameOpts []name.Option
		remoteOpts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
		if insecure {
			nameOpts = append(nameOpts, name.Insecure)
			tr := remote.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
			remoteOpts = append(remoteOpts, remote.WithTransport(tr))
		}
		prefix, err := labimages.ParsePrefix(pos[0], nameOpts...)
		if err != nil {
			return err
		}
		images, err := build()
		if err != nil {
			return err
		}
		pushed, err := labimages.PublishImages(ctx, images, prefix, remoteOpts...)
		if err != nil {
			return err
		}
		printImages(stdout, pushed)
		return nil
	case "list":
		images, err := build()
		if err != nil {
			return err
		}
		printImages(stdout, images)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func printImages(w io.Writer, images []labimages.Image) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, im := range images {
		fmt.Fprintf(tw, "%s\t%s\n", im.Ref, im.Digest)
	}
	tw.Flush()
}
