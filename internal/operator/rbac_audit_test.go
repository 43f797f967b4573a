package operator_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestOperatorClusterRoleIsNarrow audits the generated ClusterRole. The
// integration suite runs the operator with exactly this role, which proves it
// is enough; this test proves it is not too much.
func TestOperatorClusterRoleIsNarrow(t *testing.T) {
	b, err := os.ReadFile("../../config/rbac/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(b, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("no rules parsed")
	}
	for _, r := range role.Rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
			if slices.Contains(field, "*") {
				t.Errorf("wildcard in rule %+v", r)
			}
		}
		for _, v := range r.Verbs {
			switch v {
			case "escalate", "impersonate", "deletecollection":
				t.Errorf("verb %q in rule %+v", v, r)
			case "bind":
				// Justified: labs bind the shipped lab ClusterRoles, and only those.
				if !slices.Equal(r.ResourceNames, []string{"rotation-operator:learner", "rotation-operator:learner-readonly", "rotation-operator:mentor"}) {
					t.Errorf("bind is allowed beyond the lab roles: %+v", r)
				}
			case "delete":
				// Justified: the learner RoleBinding is recreated to swap its roleRef, by name only.
				if slices.Contains(r.Resources, "rolebindings") && !slices.Equal(r.ResourceNames, []string{"learner"}) {
					t.Errorf("rolebindings may be deleted beyond the learner binding: %+v", r)
				}
				// Justified: lab namespaces after retention; config/policy/namespace_guard.yaml
				// limits it to managed lab- namespaces, which RBAC cannot express.
				if slices.Contains(r.Resources, "namespaces") {
					policies, err := os.ReadFile("../../config/policy/kustomization.yaml")
					if err != nil || !strings.Contains(string(policies), "namespace_guard.yaml") {
						t.Errorf("namespaces may be deleted but config/policy does not ship the namespace guard (err=%v)", err)
					}
				}
			case "patch":
				// Justified: granting mentors patch on their own rotation; the mentor guard
				// holds them to the protocol annotations.
				if slices.Contains(r.Resources, "learningrotations") {
					policies, err := os.ReadFile("../../config/policy/kustomization.yaml")
					if err != nil || !strings.Contains(string(policies), "mentor_guard.yaml") {
						t.Errorf("mentors may be granted patch on rotations but config/policy does not ship the mentor guard (err=%v)", err)
					}
				}
			case "create":
				// Justified: Terraform runner Jobs in labs, as the learner;
				// config/policy/runner_guard.yaml holds the operator to that,
				// which RBAC cannot express.
				if slices.Contains(r.Resources, "jobs") {
					policies, err := os.ReadFile("../../config/policy/kustomization.yaml")
					if err != nil || !strings.Contains(string(policies), "runner_guard.yaml") {
						t.Errorf("jobs may be created but config/policy does not ship the runner guard (err=%v)", err)
					}
				}
				// Justified: TokenRequest for the learner ServiceAccount, by name only.
				if slices.Contains(r.Resources, "serviceaccounts/token") && !slices.Equal(r.ResourceNames, []string{"learner"}) {
					t.Errorf("token requests are not limited to the learner ServiceAccount: %+v", r)
				}
			}
		}
		for _, res := range r.Resources {
			switch res {
			case "pods/exec", "nodes", "validatingadmissionpolicies", "customresourcedefinitions", "mutatingwebhookconfigurations", "validatingwebhookconfigurations":
				t.Errorf("the operator never needs %s: %+v", res, r)
			}
		}
	}
}
