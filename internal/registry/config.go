package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config says where labs push their images and how they sign in. It covers
// both the registry this package runs (embedded mode: Host is the loopback
// address, Key derives per-lab credentials) and an external registry (a
// real cluster: Host and Prefix name it, and either Key, when it is fronted
// by this package's Handler, or one static account).
//
// A lab's images are <Host>/<Prefix>/<lab namespace>/<image>, without the
// Prefix part when Prefix is empty.
type Config struct {
	// Host is the registry as image references name it: host[:port].
	Host string
	// Prefix is a repository path put before every lab's repositories,
	// e.g. "labs"; empty for none.
	Prefix string
	// Insecure means plain HTTP; only for a loopback or test registry, or
	// the embedded mode's registry on its real node's address.
	Insecure bool
	// Key derives each lab's credentials (see Credentials).
	Key []byte
	// Username and Password are used for every lab when Key is empty: an
	// external registry with one account for all labs. The registry then
	// does not keep labs apart; their repository paths still do.
	Username, Password string
}

// Validate checks that the config names a registry and a valid prefix.
func (c Config) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("registry host is empty"))
	} else if _, err := name.NewRegistry(c.Host); err != nil || strings.ContainsAny(c.Host, "/ ") {
		errs = append(errs, fmt.Errorf("registry host %q is not host[:port]", c.Host))
	}
	if c.Prefix != "" {
		if _, err := name.NewRepository("example.com/"+c.Prefix+"/x", name.StrictValidation); err != nil {
			errs = append(errs, fmt.Errorf("repository prefix %q: %w", c.Prefix, err))
		}
	}
	if len(c.Key) > 0 && len(c.Key) < KeySize {
		errs = append(errs, fmt.Errorf("registry key is %d bytes, want at least %d", len(c.Key), KeySize))
	}
	return errors.Join(errs...)
}

// LabPrefix is the repository path, without the host, under which the lab
// namespace's repositories live: "<prefix>/<namespace>".
func (c Config) LabPrefix(namespace string) string {
	if c.Prefix == "" {
		return namespace
	}
	return c.Prefix + "/" + namespace
}

// Repository is the full repository of a lab's image, as image references
// and docker push name it: "<host>/<prefix>/<namespace>/<image>".
func (c Config) Repository(namespace, image string) string {
	return c.Host + "/" + c.LabPrefix(namespace) + "/" + image
}

// LabCredentials are the credentials the lab namespace uses to push and
// pull its images.
func (c Config) LabCredentials(namespace string) (user, pass string) {
	if len(c.Key) > 0 {
		return Credentials(c.Key, namespace)
	}
	return c.Username, c.Password
}

// LabDockerConfigJSON is the .dockerconfigjson of the lab's
// kubernetes.io/dockerconfigjson Secret.
func (c Config) LabDockerConfigJSON(namespace string) []byte {
	user, pass := c.LabCredentials(namespace)
	return DockerConfigJSON(c.Host, user, pass)
}

// Authenticator signs in as the lab namespace, for reading its images
// (the grading collector uses it, so it sees no more than the lab can).
func (c Config) Authenticator(namespace string) authn.Authenticator {
	user, pass := c.LabCredentials(namespace)
	if user == "" && pass == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: user, Password: pass}
}

// NameOptions are the go-containerregistry name options for references to
// this registry.
func (c Config) NameOptions() []name.Option {
	if c.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// validNamespace reports whether user can be a lab namespace: a DNS label.
func validNamespace(user string) bool {
	return len(validation.IsDNS1123Label(user)) == 0
}
