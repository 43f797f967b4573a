package labimages

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Registry is the registry name of every lab image. It is not a registry:
// the name never resolves (".local" is mDNS, and no lab node answers it),
// so a node that lacks an image fails to pull it instead of fetching
// something else from the internet.
const Registry = "rotation.local"

// The lab images, fully qualified: a short name such as web:1.0 would be
// looked up as docker.io/library/web:1.0.
const (
	// Pause is the pod sandbox image (containerd's sandbox_image).
	Pause = Registry + "/pause:3.10"
	// Web10 is the web server the exercises run.
	Web10 = Registry + "/web:1.0"
	// Web11 is the same binary with another default greeting: the upgrade
	// target of exercises that upgrade and roll back.
	Web11 = Registry + "/web:1.1"
)

// SourceDir holds the Go sources of the images, one main package per image
// name, relative to the repository root.
const SourceDir = "labs/images"

// UID and GID of the nonroot user the images run as (the user of
// distroless's :nonroot images). Numeric in the image config, so that the
// kubelet can verify runAsNonRoot.
const (
	UID = 65532
	GID = 65532
)

// Image is a built lab image.
type Image struct {
	// Ref is the image's reference: Registry/<Name>:<Tag> from Build, or
	// where it was pushed from PublishImages.
	Ref string
	// Name is the image's name, the folder of its sources under SourceDir
	// and its binary, /<Name>.
	Name string
	Tag  string
	// Digest is the digest of the image's manifest, the same wherever the
	// image is stored.
	Digest v1.Hash
	Image  v1.Image
}

// spec says what goes into an image besides its binary. Everything in it is
// part of the cache key.
type spec struct {
	Name        string
	Tag         string
	Description string
	// Env is the environment besides PATH: the program's defaults.
	Env []string
	// Ports are exposed ports, such as 8080/tcp.
	Ports []string
}

func (s spec) ref() string { return Registry + "/" + s.Name + ":" + s.Tag }

// specs are the lab images, in the order Build returns them.
var specs = []spec{{
	Name:        "pause",
	Tag:         "3.10",
	Description: "The pod sandbox of the rotation labs: sleeps until SIGTERM.",
}, {
	Name:        "web",
	Tag:         "1.0",
	Description: "A small web server for the rotation labs, with get, alloc, env, sleep and id subcommands.",
	Env:         []string{"PORT=8080", "GREETING=Hello from web 1.0"},
	Ports:       []string{"8080/tcp"},
}, {
	Name:        "web",
	Tag:         "1.1",
	Description: "A small web server for the rotation labs, with get, alloc, env, sleep and id subcommands.",
	Env:         []string{"PORT=8080", "GREETING=Hello from web 1.1"},
	Ports:       []string{"8080/tcp"},
}}

// Refs returns the references of every lab image (Pause, Web10, Web11).
func Refs() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.ref()
	}
	return out
}
