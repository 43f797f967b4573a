package labimages

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Publish builds the lab images (Build with the default Options) and pushes
// each to <registryPrefix>/<name>:<tag>, e.g. registry.example.com/rotation
// gives registry.example.com/rotation/web:1.0. It returns the images as
// pushed. opts are passed to go-containerregistry (credentials, transport);
// with none, the push is anonymous.
func Publish(ctx context.Context, registryPrefix string, opts ...remote.Option) ([]Image, error) {
	prefix, err := ParsePrefix(registryPrefix)
	if err != nil {
		return nil, err
	}
	images, err := Build(ctx, Options{})
	if err != nil {
		return nil, err
	}
	return PublishImages(ctx, images, prefix, opts...)
}

// ParsePrefix reads REGISTRY[/PATH], where lab images are published. The
// registry must be explicit (a host with a dot or a port, or localhost):
// a bare word would mean Docker Hub to every registry client, and lab
// images are never meant to go there by accident. name.Insecure in opts
// allows plain HTTP.
func ParsePrefix(s string, opts ...name.Option) (name.Repository, error) {
	if strings.Contains(s, "://") {
		return name.Repository{}, fmt.Errorf("registry prefix %q: write it without a scheme, e.g. registry.example.com/rotation", s)
	}
	host, path, _ := strings.Cut(strings.TrimSuffix(s, "/"), "/")
	if host != "localhost" && !strings.ContainsAny(host, ".:") {
		return name.Repository{}, fmt.Errorf("registry prefix %q: start with a registry host (a name with a dot or a port, or localhost), e.g. registry.example.com/rotation", s)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("registry prefix %q: %w", s, err)
	}
	if path == "" {
		return reg.Repo(), nil
	}
	// The images' repositories are checked with their last element; the
	// prefix alone must be a valid repository too.
	if _, err := name.NewRepository(host+"/"+path, opts...); err != nil {
		return name.Repository{}, fmt.Errorf("registry prefix %q: %w", s, err)
	}
	return reg.Repo(path), nil
}

// PublishedRef is where PublishImages pushes img under prefix.
func PublishedRef(prefix name.Repository, img Image) (name.Tag, error) {
	repo := img.Name
	if p := prefix.RepositoryStr(); p != "" {
		repo = p + "/" + img.Name
	}
	// Parsed again from its string to validate it, with the registry's
	// options (plain HTTP) carried over by building on prefix.Registry.
	if _, err := name.NewTag(prefix.RegistryStr() + "/" + repo + ":" + img.Tag); err != nil {
		return name.Tag{}, err
	}
	return prefix.Registry.Repo(repo).Tag(img.Tag), nil
}

// PublishImages pushes images to prefix (ParsePrefix), each to
// <prefix>/<name>:<tag>, in one go so shared layers are uploaded once. It
// returns the images with Ref set to where they now are; the digests do not
// change.
func PublishImages(ctx context.Context, images []Image, prefix name.Repository, opts ...remote.Option) ([]Image, error) {
	todo := map[name.Reference]remote.Taggable{}
	out := make([]Image, 0, len(images))
	for _, img := range images {
		ref, err := PublishedRef(prefix, img)
		if err != nil {
			return nil, fmt.Errorf("publishing %s: %w", img.Ref, err)
		}
		todo[ref] = img.Image
		pushed := img
		pushed.Ref = ref.String()
		out = append(out, pushed)
	}
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	if err := remote.MultiWrite(todo, opts...); err != nil {
		return nil, fmt.Errorf("publishing the lab images to %s: %w", prefix, err)
	}
	return out, nil
}
