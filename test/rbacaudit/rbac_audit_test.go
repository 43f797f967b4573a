// Package rbacaudit checks the shipped RBAC: the operator's generated
// ClusterRole and the roles labs bind. It fails when a rule grants a
// dangerous verb that is not a named, justified exception below.
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

// justified lists every dangerous grant the operator holds, and why.
var justified = map[string]string{
	// Labs bind the shipped learner and mentor ClusterRoles; the operator may
	// bind exactly those names and so never needs to hold what they grant.
	"bind clusterroles rotation-operator:learner": "lab RoleBinding for the learner",
	"bind clusterroles rotation-operator:mentor":  "lab RoleBinding for mentors",
	// At the deadline, the learner's binding is swapped to the read-only role.
	"bind clusterroles rotation-operator:learner-readonly": "expired labs stay readable",
}

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

func TestOperatorClusterRoleHoldsNoUnjustifiedPower(t *testing.T) {
	roles := readClusterRoles(t, "config/rbac/role.yaml")
	used := map[string]bool{}
	for _, rule := range roles[0].Rules {
		for _, list := range [][]string{rule.APIGroups, rule.Resources} {
			if slices.Contains(list, "*") {
				t.Errorf("wildcard in rule %+v", rule)
			}
		}
		for _, verb := range rule.Verbs {
			if !slices.Contains(dangerous, verb) {
				continue
			}
			if len(rule.ResourceNames) == 0 {
				t.Errorf("%s on %v for every name: only named exceptions are allowed", verb, rule.Resources)
				continue
			}
			for _, res := range rule.Resources {
				for _, name := range rule.ResourceNames {
					key := verb + " " + res + " " + name
					if justified[key] == "" {
						t.Errorf("unjustified grant %q: add it to justified with the reason, or remove it", key)
					}
					used[key] = true
				}
			}
		}
		// The operator mints tokens only for the lab's learner ServiceAccount.
		if slices.Contains(rule.Resources, "serviceaccounts/token") && !slices.Equal(rule.ResourceNames, []string{"learner"}) {
			t.Errorf("serviceaccounts/token for %v, want only [learner]", rule.ResourceNames)
		}
		// Nothing reads or writes cluster-wide identity or node objects.
		for _, res := range rule.Resources {
			if slices.Contains([]string{"nodes", "users", "groups", "certificatesigningrequests", "validatingadmissionpolicies", "mutatingwebhookconfigurations"}, res) {
				t.Errorf("the operator holds %v on %s", rule.Verbs, res)
			}
		}
	}
	for key := range justified {
		if !used[key] && !strings.HasSuffix(key, "learner-readonly") {
			t.Errorf("justified exception %q is no longer granted; remove it from the list", key)
		}
	}
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
