package labs

import (
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	rcommon "helm.sh/helm/v4/pkg/release/common"
)

// Grading tables of the helm track. Releases are built from the catalog's
// charts and read by the helm collector (see helmharness_test.go); the
// objects Helm applied are in the lab with the status the controllers
// would write.

func init() {
	gradingTables["helm-install"] = helmInstall
	gradingTables["helm-upgrade-rollback"] = helmUpgradeRollback
	gradingTables["helm-own-chart"] = helmOwnChart
	gradingTables["helm-fix-failed"] = helmFixFailed
}

const oldWelcomeChart = "testdata/welcome"

// unavailableStatus is the status of a Deployment of n replicas none of
// whose pods is ready.
func unavailableStatus(n string) string {
	return `
status:
  observedGeneration: 2
  replicas: ` + n + `
  updatedReplicas: ` + n + `
  unavailableReplicas: ` + n + `
  conditions:
  - type: Available
    status: "False"
    reason: MinimumReplicasUnavailable
    message: Deployment does not have minimum availability.
    lastUpdateTime: "2026-03-01T10:00:00Z"
    lastTransitionTime: "2026-03-01T10:00:00Z"
`
}

// editTemplate replaces old with new in a chart's template, which must
// contain it.
func editTemplate(name, old, new string) func(t *testing.T, c *chart.Chart) {
	return func(t *testing.T, c *chart.Chart) {
		t.Helper()
		for _, f := range c.Templates {
			if f.Name == name {
				if !strings.Contains(string(f.Data), old) {
					t.Fatalf("%s has no %q", name, old)
				}
				f.Data = []byte(strings.ReplaceAll(string(f.Data), old, new))
				return
			}
		}
		t.Fatalf("chart %s has no %s", c.Name(), name)
	}
}

func dropTemplate(name string) func(t *testing.T, c *chart.Chart) {
	return func(t *testing.T, c *chart.Chart) {
		t.Helper()
		n := len(c.Templates)
		c.Templates = slices.DeleteFunc(c.Templates, func(f *common.File) bool { return f.Name == name })
		if len(c.Templates) == n {
			t.Fatalf("chart %s has no %s", c.Name(), name)
		}
	}
}

// --- helm-install ---

const webValues = `{replicaCount: 2, service: {port: 8080}}`

func helloRelease(values string, live map[string]string) oldRelease {
	return oldRelease{name: "hello", chart: webChart, revisions: []oldRevision{{values: values}}, live: live}
}

var helmInstall = gradingTable{
	releases: []oldRelease{helloRelease(webValues, map[string]string{"Deployment/hello": deploymentStatus("2")})},
	cases: []gradingCase{{
		name:     "nothing installed",
		releases: []oldRelease{},
		failing:  []string{"release-deployed", "replica-count-value", "service-port-value", "renders-deployment-and-service", "deployment-available"},
	}, {
		name:     "installed with the chart's defaults",
		releases: []oldRelease{helloRelease("", map[string]string{"Deployment/hello": deploymentStatus("1")})},
		failing:  []string{"replica-count-value", "service-port-value", "deployment-available"},
	}, {
		name:     "scaled with kubectl instead of --set replicaCount=2",
		releases: []oldRelease{helloRelease(`{service: {port: 8080}}`, map[string]string{"Deployment/hello": deploymentStatus("2")})},
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/hello"), "2", "spec", "replicas")
		},
		failing: []string{"replica-count-value"},
	}, {
		name: "the install failed waiting for the pods",
		releases: []oldRelease{{name: "hello", chart: webChart,
			revisions: []oldRevision{{values: webValues, status: rcommon.StatusFailed,
				description: `Release "hello" failed: context deadline exceeded`}},
			live: map[string]string{"Deployment/hello": unavailableStatus("2")}}},
		failing: []string{"release-deployed", "deployment-available"},
	}, {
		name: "a chart without the Service",
		releases: []oldRelease{{name: "hello", chart: webChart, editChart: dropTemplate("templates/service.yaml"),
			revisions: []oldRevision{{values: webValues}},
			live:      map[string]string{"Deployment/hello": deploymentStatus("2")}}},
		failing: []string{"renders-deployment-and-service"},
	}, {
		name: "installed as another release",
		releases: []oldRelease{{name: "website", chart: webChart, revisions: []oldRevision{{values: webValues}},
			live: map[string]string{"Deployment/website": deploymentStatus("2")}}},
		failing: []string{"release-deployed", "replica-count-value", "service-port-value", "renders-deployment-and-service", "deployment-available"},
	}, {
		name: "a Deployment hello made with kubectl",
		mutate: func(t *testing.T, l labObjects) {
			delete(l, "HelmRelease/hello")
			del(l.get(t, "Deployment/hello"), "metadata", "annotations")
		},
		failing: []string{"release-deployed", "replica-count-value", "service-port-value", "renders-deployment-and-service", "deployment-available"},
	}, {
		name: "an undecodable release record",
		releases: []oldRelease{{name: "hello", chart: webChart, revisions: []oldRevision{{values: webValues}},
			live: map[string]string{"Deployment/hello": deploymentStatus("2")}, undecodable: true}},
		failing: []string{"release-deployed", "replica-count-value", "service-port-value", "renders-deployment-and-service"},
	}, {
		name:     "one of two pods available",
		releases: []oldRelease{helloRelease(webValues, map[string]string{"Deployment/hello": deploymentStatus("1")})},
		failing:  []string{"deployment-available"},
	}},
}

// --- helm-upgrade-rollback ---

var (
	shopInstall = oldRevision{}
	shopUpgrade = oldRevision{values: `{image: {tag: "1.1"}}`}
	shopLive    = map[string]string{"Deployment/shop": deploymentStatus("1")}
)

func shopRelease(revisions ...oldRevision) oldRelease {
	return oldRelease{name: "shop", chart: apiChart, revisions: revisions, live: shopLive}
}

var helmUpgradeRollback = gradingTable{
	releases: []oldRelease{shopRelease(shopInstall, shopUpgrade, oldRevision{rollbackTo: 1})},
	cases: []gradingCase{{
		name:     "nothing installed",
		releases: []oldRelease{},
		failing:  []string{"release-deployed", "three-revisions", "upgraded-to-1-1", "rolled-back-to-1", "config-tag-1-0", "running-1-0"},
	}, {
		name:     "installed only",
		releases: []oldRelease{shopRelease(shopInstall)},
		failing:  []string{"three-revisions", "upgraded-to-1-1", "rolled-back-to-1"},
	}, {
		name:     "upgraded, not rolled back",
		releases: []oldRelease{shopRelease(shopInstall, shopUpgrade)},
		failing:  []string{"three-revisions", "rolled-back-to-1", "config-tag-1-0", "running-1-0"},
	}, {
		name:     "upgraded again after the rollback",
		releases: []oldRelease{shopRelease(shopInstall, shopUpgrade, oldRevision{rollbackTo: 1}, shopUpgrade)},
		failing:  []string{"rolled-back-to-1", "config-tag-1-0", "running-1-0"},
	}, {
		name:     "upgraded back to 1.0 instead of rolling back",
		releases: []oldRelease{shopRelease(shopInstall, shopUpgrade, oldRevision{values: `{image: {tag: "1.0"}}`})},
		failing:  []string{"rolled-back-to-1"},
	}, {
		name:     "rolled back to revision 2",
		releases: []oldRelease{shopRelease(shopInstall, shopUpgrade, oldRevision{values: `{replicaCount: 1}`}, oldRevision{rollbackTo: 2})},
		failing:  []string{"rolled-back-to-1", "config-tag-1-0", "running-1-0"},
	}, {
		name: "the rollback failed",
		releases: []oldRelease{shopRelease(shopInstall, shopUpgrade, oldRevision{rollbackTo: 1, status: rcommon.StatusFailed,
			description: `Release "shop" failed: context deadline exceeded`})},
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/shop"), 0), "rotation.local/web:1.1", "image")
		},
		failing: []string{"release-deployed", "running-1-0"},
	}, {
		name: "rollout not finished",
		mutate: func(t *testing.T, l labObjects) {
			set(t, l.get(t, "Deployment/shop"), "2", "status", "replicas")
		},
		failing: []string{"running-1-0"},
	}, {
		name: "an undecodable release record",
		releases: []oldRelease{{name: "shop", chart: apiChart, revisions: []oldRevision{shopInstall, shopUpgrade, {rollbackTo: 1}},
			live: shopLive, undecodable: true}},
		failing: []string{"release-deployed", "three-revisions", "upgraded-to-1-1", "rolled-back-to-1", "config-tag-1-0"},
	}, {
		name: "image changed with kubectl",
		mutate: func(t *testing.T, l labObjects) {
			set(t, container(t, l.get(t, "Deployment/shop"), 0), "rotation.local/web:1.1", "image")
		},
		failing: []string{"running-1-0"},
	}},
}

// --- helm-own-chart ---

func welcomeRelease(edit func(t *testing.T, c *chart.Chart)) oldRelease {
	return oldRelease{name: "welcome", chart: oldWelcomeChart, editChart: edit, revisions: []oldRevision{{}},
		live: map[string]string{"Deployment/welcome": deploymentStatus("1")}}
}

var helmOwnChart = gradingTable{
	releases: []oldRelease{welcomeRelease(nil)},
	cases: []gradingCase{{
		name:     "nothing installed",
		releases: []oldRelease{},
		failing:  []string{"chart-name-version", "app-version", "renders-deployment-and-service", "deployment-labelled", "release-deployed", "welcome-available"},
	}, {
		name:     "chart version 1.0.0",
		releases: []oldRelease{welcomeRelease(func(_ *testing.T, c *chart.Chart) { c.Metadata.Version = "1.0.0" })},
		failing:  []string{"chart-name-version"},
	}, {
		name:     "no appVersion",
		releases: []oldRelease{welcomeRelease(func(_ *testing.T, c *chart.Chart) { c.Metadata.AppVersion = "" })},
		failing:  []string{"app-version"},
	}, {
		name:     "no Service template",
		releases: []oldRelease{welcomeRelease(dropTemplate("templates/service.yaml"))},
		failing:  []string{"renders-deployment-and-service"},
	}, {
		name: "the Deployment without the name label",
		releases: []oldRelease{welcomeRelease(editTemplate("templates/deployment.yaml",
			"  labels:\n    app.kubernetes.io/name: {{ .Chart.Name }}\n", "  labels:\n"))},
		failing: []string{"deployment-labelled"},
	}, {
		name: "objects named <release>-<chart>",
		releases: []oldRelease{{name: "welcome", chart: oldWelcomeChart, revisions: []oldRevision{{}},
			editChart: func(t *testing.T, c *chart.Chart) {
				for _, f := range []string{"templates/deployment.yaml", "templates/service.yaml"} {
					editTemplate(f, "name: {{ .Release.Name }}\n", "name: {{ .Release.Name }}-{{ .Chart.Name }}\n")(t, c)
				}
			},
			live: map[string]string{"Deployment/welcome-welcome": deploymentStatus("1")}}},
		failing: []string{"renders-deployment-and-service", "deployment-labelled", "welcome-available"},
	}, {
		name: "the install failed",
		releases: []oldRelease{{name: "welcome", chart: oldWelcomeChart,
			revisions: []oldRevision{{status: rcommon.StatusFailed, description: `Release "welcome" failed: context deadline exceeded`}},
			live:      map[string]string{"Deployment/welcome": unavailableStatus("1")}}},
		failing: []string{"release-deployed", "welcome-available"},
	}, {
		name: "installed as release hi",
		releases: []oldRelease{{name: "hi", chart: oldWelcomeChart, revisions: []oldRevision{{}},
			live: map[string]string{"Deployment/hi": deploymentStatus("1")}}},
		failing: []string{"chart-name-version", "app-version", "renders-deployment-and-service", "deployment-labelled", "release-deployed", "welcome-available"},
	}, {
		name: "an undecodable release record",
		releases: []oldRelease{{name: "welcome", chart: oldWelcomeChart, revisions: []oldRevision{{}},
			live: map[string]string{"Deployment/welcome": deploymentStatus("1")}, undecodable: true}},
		failing: []string{"chart-name-version", "app-version", "renders-deployment-and-service", "deployment-labelled", "release-deployed"},
	}, {
		name: "pods not ready",
		releases: []oldRelease{{name: "welcome", chart: oldWelcomeChart, revisions: []oldRevision{{}},
			live: map[string]string{"Deployment/welcome": unavailableStatus("1")}}},
		failing: []string{"welcome-available"},
	}},
}

// --- helm-fix-failed ---

// The descriptions Helm gives the revisions the apiserver refused.
const (
	brokenInstallError = `Release "broken" failed: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ` +
		`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end ` +
		`with an alphanumeric character (e.g. 'example.com', regex used for validation is ` +
		`'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	brokenUpgradeError = `Upgrade "broken" failed: failed to create resource: ConfigMap "Broken-Config" is invalid: metadata.name: ` +
		`Invalid value: "Broken-Config": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ` +
		`'-' or '.', and must start and end with an alphanumeric character`
)

var (
	// brokenInstall is the install with the chart's defaults, as Helm
	// leaves it once an upgrade succeeded: superseded, with the failure
	// in its description.
	brokenInstall = oldRevision{description: brokenInstallError}
	// brokenFailedInstall is the install before any upgrade.
	brokenFailedInstall = oldRevision{status: rcommon.StatusFailed, description: brokenInstallError}
	brokenFix           = oldRevision{values: `{configName: broken-config}`}
	brokenLive          = map[string]string{"Deployment/broken": deploymentStatus("1")}
)

func brokenRelease(live map[string]string, revisions ...oldRevision) oldRelease {
	return oldRelease{name: "broken", chart: brokenChart, revisions: revisions, live: live}
}

// notCreated removes an object the apiserver refused from the lab.
func notCreated(key string) func(t *testing.T, l labObjects) {
	return func(t *testing.T, l labObjects) {
		t.Helper()
		l.get(t, key)
		delete(l, key)
	}
}

var helmFixFailed = gradingTable{
	releases: []oldRelease{brokenRelease(brokenLive, brokenInstall, brokenFix)},
	cases: []gradingCase{{
		name:     "nothing installed",
		releases: []oldRelease{},
		failing:  []string{"failed-revision", "upgraded", "config-name-value", "release-deployed", "configmap-exists"},
	}, {
		name:     "the failed install only",
		releases: []oldRelease{brokenRelease(map[string]string{"Deployment/broken": unavailableStatus("1")}, brokenFailedInstall)},
		mutate:   notCreated("ConfigMap/Bad_Name"),
		failing:  []string{"upgraded", "config-name-value", "release-deployed", "configmap-exists"},
	}, {
		name: "an upgrade failed too, then one fixed it",
		releases: []oldRelease{brokenRelease(brokenLive, brokenFailedInstall,
			oldRevision{values: `{configName: Broken-Config}`, description: brokenUpgradeError}, brokenFix)},
	}, {
		name: "the upgrade failed too",
		releases: []oldRelease{brokenRelease(map[string]string{"Deployment/broken": unavailableStatus("1")}, brokenFailedInstall,
			oldRevision{values: `{configName: Broken-Config}`, status: rcommon.StatusFailed, description: brokenUpgradeError})},
		mutate:  notCreated("ConfigMap/Broken-Config"),
		failing: []string{"config-name-value", "release-deployed", "configmap-exists"},
	}, {
		name:     "uninstalled, then installed with the fix",
		releases: []oldRelease{brokenRelease(brokenLive, brokenFix)},
		failing:  []string{"failed-revision", "upgraded"},
	}, {
		name: "an undecodable release record",
		releases: []oldRelease{{name: "broken", chart: brokenChart, revisions: []oldRevision{brokenInstall, brokenFix},
			live: brokenLive, undecodable: true}},
		failing: []string{"failed-revision", "upgraded", "config-name-value", "release-deployed"},
	}, {
		name:     "fixed with another name",
		releases: []oldRelease{brokenRelease(brokenLive, brokenInstall, oldRevision{values: `{configName: site-config}`})},
		failing:  []string{"config-name-value", "configmap-exists"},
	}, {
		name:     "the ConfigMap made with kubectl",
		releases: []oldRelease{brokenRelease(map[string]string{"Deployment/broken": deploymentStatus("1")}, brokenFailedInstall)},
		mutate: func(t *testing.T, l labObjects) {
			notCreated("ConfigMap/Bad_Name")(t, l)
			addObjects(t, l, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken-config`+serverMetadata+`
data:
  index.html: hello
`)
		},
		failing: []string{"upgraded", "config-name-value", "release-deployed", "configmap-exists"},
	}},
}
