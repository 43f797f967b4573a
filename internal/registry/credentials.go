package registry

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeySize is the least length of a registry secret key, in bytes.
const KeySize = 32

// tokenContext separates lab registry tokens from any other use of the key.
const tokenContext = "rotation-operator lab registry v1\x00"

// NewKey returns a new registry secret key: KeySize random bytes,
// hex-encoded. A key is text because it travels as text (a Secret read
// with kubectl, a file that ends in a newline) and ParseKey trims the
// whitespace around it: a raw random key begins or ends with a whitespace
// byte one time in twenty, and the operator read such a key shorter than
// the registry did (an install's replicas exited in a loop).
func NewKey() ([]byte, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(raw)), nil
}

// ParseKey is the key in b, a file's or a Secret's content: without the
// whitespace around it, and at least KeySize bytes long. The operator and
// the registry both read keys with it, so they derive the same credentials.
func ParseKey(b []byte) ([]byte, error) {
	k := bytes.TrimSpace(b)
	if len(k) < KeySize {
		return nil, fmt.Errorf("the key is %d bytes, want at least %d (make one with: openssl rand -hex %d)", len(k), KeySize, KeySize)
	}
	return k, nil
}

// LoadOrCreateKey reads the registry secret key at path, creating it (mode
// 0600, parent folders 0700) with a new random key if it does not exist, so
// the lab credentials written into labs stay valid across restarts.
func LoadOrCreateKey(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	switch {
	case err == nil:
		if k, err = ParseKey(k); err != nil {
			return nil, fmt.Errorf("registry key %s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if k, err = NewKey(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(path) // another process made it first
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// Credentials are a lab's registry credentials: the user is the lab
// namespace, the password base64url(HMAC-SHA256(key, context || namespace))
// without padding. Anyone holding the key can compute them and the
// registry verifies them without any stored state; a new key revokes
// every lab's credentials at once.
func Credentials(key []byte, namespace string) (user, pass string) {
	return namespace, token(key, namespace)
}

func token(key []byte, namespace string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenContext))
	m.Write([]byte(namespace))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether pass is the lab namespace user's password under
// key, in constant time.
func Verify(key []byte, user, pass string) bool {
	if len(key) == 0 || user == "" {
		return false
	}
	want := token(key, user)
	return subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1
}

// DockerConfigJSON is the .dockerconfigjson of a kubernetes.io/dockerconfigjson
// Secret giving user access to the registry at host (host[:port]): what
// `docker login` writes and what kubelet and docker, crane, buildah and
// kaniko read.
func DockerConfigJSON(host, user, pass string) []byte {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	cfg := struct {
		Auths map[string]entry `json:"auths"`
	}{Auths: map[string]entry{host: {
		Username: user,
		Password: pass,
		Auth:     base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)),
	}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}
