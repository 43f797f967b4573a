package localcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// NodeIP is the real node's address: what pods reach the host on (the
// apiserver is advertised there too). Empty without a real node.
func (c *Cluster) NodeIP() string {
	if c.node == nil {
		return ""
	}
	return c.node.cfg.NodeIP
}

// TrustPlainHTTPRegistry lets the real node's containerd pull from the
// plain-HTTP registry at host (host:port), which it otherwise does only on
// loopback: a lab registry pipeline pods push to must listen where pods
// reach it, the node's address, and the kubelet pulls by the same name.
// containerd reads the hosts file on every pull, so this works on a
// running node.
func (c *Cluster) TrustPlainHTTPRegistry(host string) error {
	if c.node == nil {
		return errors.New("no real node: only the real node's containerd pulls images")
	}
	if h, p, err := net.SplitHostPort(host); err != nil || h == "" || p == "" {
		return fmt.Errorf("registry %q is not host:port", host)
	}
	dir := filepath.Join(c.node.cfg.Dir, "certs.d", host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hosts := fmt.Sprintf("server = %[1]q\n\n[host.%[1]q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+host)
	return os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(hosts), 0o644) //nolint:gosec // G306: containerd's config, not a secret
}
