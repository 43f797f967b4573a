// Package rbacaudit checks the roles labs bind (the operator's own
// ClusterRole is audited in internal/operator): no learner or mentor role
// may grant a verb that escalates, or write what guards the lab.
package rbacaudit

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// dangerous verbs let a holder act beyond its own rights.
var dangerous = []string{"escalate", "bind", "impersonate", "*"}

func readClusterRoles(t *testing.T, path string) []rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []rbacv1.ClusterRole
	for {
		var cr rbacv1.ClusterRole
		if err := dec.Decode(&cr); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if cr.Kind == "ClusterRole" {
			out = append(out, cr)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no ClusterRole", path)
	}
	return out
}

func TestLabRolesGrantNoEscalation(t *testing.T) {
	for _, cr := range readClusterRoles(t, "config/rbac/lab_roles.yaml") {
		for _, rule := range cr.Rules {
			for _, list := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs} {
				if slices.Contains(list, "*") {
					t.Errorf("%s: wildcard in %+v", cr.Name, rule)
				}
			}
			for _, verb := range rule.Verbs {
				if slices.Contains(dangerous, verb) {
					t.Errorf("%s: grants %s on %v", cr.Name, verb, rule.Resources)
				}
			}
			for _, res := range rule.Resources {
				writes := slices.ContainsFunc(rule.Verbs, func(v string) bool { return v != "get" && v != "list" && v != "watch" })
				switch {
				case res == "serviceaccounts/token" || res == "namespaces":
					t.Errorf("%s: grants %v on %s", cr.Name, rule.Verbs, res)
				case writes && slices.Contains([]string{"roles", "rolebindings", "resourcequotas", "limitranges", "networkpolicies", "serviceaccounts"}, res):
					t.Errorf("%s: may write %s, which guard the lab", cr.Name, res)
				case strings.HasPrefix(cr.Name, "rotation-operator:mentor") && writes:
					t.Errorf("%s: mentors only read, but %v on %s", cr.Name, rule.Verbs, res)
				case strings.HasPrefix(cr.Name, "rotation-operator:mentor") && res == "secrets":
					t.Errorf("%s: mentors must not read the lab's Secrets", cr.Name)
				}
			}
		}
	}
}

// Mentor leads get rotation-operator:program-viewer: it may read programs,
// rotations and the catalog, and nothing else.
func TestProgramViewerOnlyReadsRotations(t *testing.T) {
	var found bool
	for _, cr := range readClusterRoles(t, "config/rbac/lab_roles.yaml") {
		if cr.Name != "rotation-operator:program-viewer" {
			continue
		}
		found = true
		for _, rule := range cr.Rules {
			if !slices.Equal(rule.APIGroups, []string{"rotations.handson.dev"}) {
				t.Errorf("%s: reaches beyond rotations.handson.dev: %v", cr.Name, rule.APIGroups)
			}
			for _, verb := range rule.Verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, verb) {
					t.Errorf("%s: grants %s on %v; it only reads", cr.Name, verb, rule.Resources)
				}
			}
			if !slices.Contains(rule.Resources, "rotationprograms") {
				t.Errorf("%s: does not read rotationprograms", cr.Name)
			}
		}
	}
	if !found {
		t.Fatal("config/rbac/lab_roles.yaml has no rotation-operator:program-viewer ClusterRole")
	}
}
