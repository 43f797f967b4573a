package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real node's containerd gets a hosts file that pulls the registry
// over plain HTTP, under the host:port it is named by; a cluster without a
// real node, or a host without a port, is refused with a message.
func TestTrustPlainHTTPRegistry(t *testing.T) {
	dir := t.TempDir()
	c := &Cluster{node: &realNode{cfg: nodeConfig{Dir: dir, NodeIP: "10.1.2.3"}}}
	if c.NodeIP() != "10.1.2.3" {
		t.Errorf("NodeIP %q", c.NodeIP())
	}
	if err := c.TrustPlainHTTPRegistry("10.1.2.3:5000"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "certs.d", "10.1.2.3:5000", "hosts.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`server = "http://10.1.2.3:5000"`, `[host."http://10.1.2.3:5000"]`, `capabilities = ["pull", "resolve"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("hosts.toml lacks %s:\n%s", want, b)
		}
	}
	if err := c.TrustPlainHTTPRegistry("10.1.2.3"); err == nil || !strings.Contains(err.Error(), "not host:port") {
		t.Errorf("a host without a port: %v", err)
	}
	if err := (&Cluster{}).TrustPlainHTTPRegistry("10.1.2.3:5000"); err == nil || !strings.Contains(err.Error(), "no real node") {
		t.Errorf("no real node: %v", err)
	}
	if (&Cluster{}).NodeIP() != "" {
		t.Error("NodeIP without a real node")
	}
}
