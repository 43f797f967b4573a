package terraform

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tamper evidence, in the operator. Besides the refresh (state_in_lab.go),
// the state Secret must have been written by Terraform's kubernetes
// backend: every managedFields entry is a Terraform manager. kubectl
// records "kubectl-create", "kubectl-edit", ...; a state copied by hand
// next to objects made with kubectl would pass the refresh. The server
// sets managedFields; a Secret with none was stripped of them, which the
// backend never does. A state failing this reads, for every resource, as
// {type, name, mode, inLab: false, handWritten}: no check on its values
// passes, and the mentor is warned (grading.HandWrittenKey).

// terraformManagers are the backend's field managers: client-go names the
// manager after the user agent's first word, and Terraform's is
// "HashiCorp/1.0 Terraform/<version>" (seen with terraform 1.x and the
// kubernetes backend against a real apiserver: TestForgedState). kubectl
// --field-manager=HashiCorp could pass this check; the refresh still needs
// the objects live.
var terraformManagers = map[string]bool{"HashiCorp": true}

// stateHandWritten is why the state Secret looks written by hand, or "".
func stateHandWritten(secret string, fields []metav1.ManagedFieldsEntry) string {
	if len(fields) == 0 {
		return fmt.Sprintf("state secret %s records no writer (its managedFields were removed)", secret)
	}
	set := map[string]bool{}
	for _, f := range fields {
		if !terraformManagers[f.Manager] {
			set[f.Manager] = true
		}
	}
	if len(set) == 0 {
		return ""
	}
	foreign := make([]string, 0, len(set))
	for m := range set {
		foreign = append(foreign, m)
	}
	sort.Strings(foreign)
	return fmt.Sprintf("state secret %s was written by %s, not by terraform", secret, strings.Join(foreign, ", "))
}

// markHandWritten replaces every resource of facts (a copy Collect owns)
// by what its state cannot vouch for.
func markHandWritten(facts map[string]any, why string) {
	resources, _ := facts[FactResources].(map[string]any)
	for addr, e := range resources {
		m, _ := e.(map[string]any)
		resources[addr] = map[string]any{
			"type": m["type"], "name": m["name"], "mode": m["mode"],
			FactInLab: false, FactHandWritten: why,
		}
	}
}
