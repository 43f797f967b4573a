package terraform

import tfjson "github.com/hashicorp/terraform-json"

// Tamper evidence, in the runner. The state is a Secret the learner may
// write by hand: a state listing a ConfigMap and a Deployment, with neither
// in the lab, would otherwise read as "Terraform manages them". Plan's
// refresh reads every state resource back from the lab; those it finds
// deleted are reported in resource_drift with the action "delete". Each
// entry of resources says whether it was found: inLab is true only when
// the refresh ran and did not find the resource gone, so a configuration
// that does not plan (invalid, refused, locked) proves nothing either.

// goneResources are the addresses plan's refresh found deleted outside
// Terraform.
func goneResources(drift []*tfjson.ResourceChange) map[string]bool {
	gone := map[string]bool{}
	for _, rc := range drift {
		if rc != nil && rc.Change != nil && rc.Change.Actions.Delete() {
			gone[rc.Address] = true
		}
	}
	return gone
}

// markInLab sets inLab on every resource of the state.
func (r *run) markInLab() {
	resources, _ := r.facts[FactResources].(map[string]any)
	for addr, e := range resources {
		if m, ok := e.(map[string]any); ok {
			m[FactInLab] = r.refreshed && !r.gone[addr]
		}
	}
}
