package rotationoperator_test

import (
	"io"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	common "helm.sh/helm/v4/pkg/chart/common"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// notes renders the chart's NOTES.txt as helm install prints it, on a
// cluster serving apiVersions.
func notes(t *testing.T, apiVersions ...string) string {
	t.Helper()
	cfg := action.NewConfiguration()
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = "rotation"
	install.Namespace = "rotation-system"
	install.APIVersions = common.VersionSet(apiVersions)
	rel, err := install.Run(load(t), required())
	if err != nil {
		t.Fatal(err)
	}
	return rel.(*release.Release).Info.Notes
}

// The chart does not install Tekton Pipelines, the cicd track's engine:
// its notes say so where the cluster does not serve it, with how to
// install it offline, and say nothing where it does.
func TestNotesSayTektonIsAPrerequisite(t *testing.T) {
	without := notes(t)
	for _, want := range []string{"Tekton Pipelines (tekton.dev/v1) is not installed", "CICDEngineNotInstalled", "make tekton-release", "v1.15.0"} {
		if !strings.Contains(without, want) {
			t.Errorf("notes without Tekton lack %q:\n%s", want, without)
		}
	}
	if with := notes(t, "tekton.dev/v1"); strings.Contains(with, "Tekton") {
		t.Errorf("notes with Tekton served still mention it:\n%s", with)
	}
}
