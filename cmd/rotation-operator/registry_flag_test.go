package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/registry"
)

// TestRegistryKeyFile: the key the lab-registry bootstrap writes is the key
// the operator uses, and a missing or short key file makes the operator run
// without a registry and say why, instead of exiting (a crash loop of every
// replica, seen in CI with a key that ended in a whitespace byte).
func TestRegistryKeyFile(t *testing.T) {
	dir := t.TempDir()
	key, err := registry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "key")
	if err := os.WriteFile(good, append(key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	c, problem, err := registryFlags{host: "registry.example.com:5000", keyFile: good}.config()
	if err != nil || problem != "" || c == nil || string(c.Key) != string(key) {
		t.Fatalf("good key file: config %+v, problem %q, err %v", c, problem, err)
	}

	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, why := range map[string]string{short: "want at least 32", filepath.Join(dir, "absent"): "no such file"} {
		c, problem, err := registryFlags{host: "registry.example.com:5000", keyFile: file}.config()
		if err != nil || c != nil || !strings.Contains(problem, why) {
			t.Errorf("key file %s: config %+v, problem %q, err %v; want no registry and a problem saying %q", file, c, problem, err, why)
		}
	}
}
