package lab

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Profile is the quota and container limits of a lab size.
type Profile struct {
	Quota corev1.ResourceList
	// Container defaults and maximum for the LimitRange.
	DefaultRequest, DefaultLimit, MaxLimit corev1.ResourceList
}

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// Object counts are sized for the tracks: Helm keeps a Secret per release
// revision and Terraform a Secret per workspace state, so Secrets are generous.
// LoadBalancers and NodePorts are zero: a lab must not open the cluster's edge.
var profiles = map[rotationsv1.SizeProfile]Profile{
	rotationsv1.SizeSmall: {
		// limits.cpu 6: a whole onboarding (every track in one lab) runs
		// about 18 containers at the 200m default limit, plus terraform
		// runner Jobs at 1 CPU each while they grade (3.6 + 2 in flight).
		Quota: list("requests.cpu", "2", "requests.memory", "4Gi", "limits.cpu", "6", "limits.memory", "8Gi",
			"requests.storage", "10Gi", "persistentvolumeclaims", "5",
			"pods", "30", "services", "10", "services.loadbalancers", "0", "services.nodeports", "0",
			"configmaps", "50", "secrets", "100", "count/deployments.apps", "20", "count/statefulsets.apps", "5",
			"count/jobs.batch", "20", "count/cronjobs.batch", "5", "count/ingresses.networking.k8s.io", "5"),
		DefaultRequest: list("cpu", "50m", "memory", "64Mi"),
		// 200m: a lab solving every track at once runs about 18 containers
		// the learner wrote without resources; at 500m they used up the
		// quota's limits.cpu after 8 (test/realnode/onboarding_test.go).
		DefaultLimit: list("cpu", "200m", "memory", "256Mi"),
		MaxLimit:     list("cpu", "2", "memory", "2Gi"),
	},
	rotationsv1.SizeMedium: {
		Quota: list("requests.cpu", "4", "requests.memory", "8Gi", "limits.cpu", "8", "limits.memory", "16Gi",
			"requests.storage", "20Gi", "persistentvolumeclaims", "10",
			"pods", "60", "services", "20", "services.loadbalancers", "0", "services.nodeports", "0",
			"configmaps", "100", "secrets", "200", "count/deployments.apps", "40", "count/statefulsets.apps", "10",
			"count/jobs.batch", "40", "count/cronjobs.batch", "10", "count/ingresses.networking.k8s.io", "10"),
		DefaultRequest: list("cpu", "100m", "memory", "128Mi"),
		DefaultLimit:   list("cpu", "1", "memory", "512Mi"),
		MaxLimit:       list("cpu", "4", "memory", "4Gi"),
	},
	rotationsv1.SizeLarge: {
		Quota: list("requests.cpu", "8", "requests.memory", "16Gi", "limits.cpu", "16", "limits.memory", "32Gi",
			"requests.storage", "50Gi", "persistentvolumeclaims", "20",
			"pods", "120", "services", "40", "services.loadbalancers", "0", "services.nodeports", "0",
			"configmaps", "200", "secrets", "400", "count/deployments.apps", "80", "count/statefulsets.apps", "20",
			"count/jobs.batch", "80", "count/cronjobs.batch", "20", "count/ingresses.networking.k8s.io", "20"),
		DefaultRequest: list("cpu", "100m", "memory", "128Mi"),
		DefaultLimit:   list("cpu", "2", "memory", "1Gi"),
		MaxLimit:       list("cpu", "8", "memory", "8Gi"),
	},
}

// ProfileFor returns the profile of a size, small when unset.
func ProfileFor(size rotationsv1.SizeProfile) Profile {
	if p, ok := profiles[size]; ok {
		return p
	}
	return profiles[rotationsv1.SizeSmall]
}
