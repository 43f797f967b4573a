package operator_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/controllers/program"
)

// TestGrafanaDashboardUsesServedMetrics keeps config/grafana in step with
// the metrics the operator serves: every rotation_operator_* series a panel
// queries exists, and every operator metric has a panel.
func TestGrafanaDashboardUsesServedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../config/grafana/rotation-operator-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	served := []string{controllers.MetricRotations, controllers.MetricExercises, controllers.MetricHelpRequestsOpen,
		controllers.MetricGradingDuration, controllers.MetricGradingErrors, controllers.MetricExercisesPassed, controllers.MetricExerciseOverruns}
	served = append(served, program.Metrics...)
	used := map[string]bool{}
	name := regexp.MustCompile(`rotation_operator_[a-z_]+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := m
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !slices.Contains(served, base) {
					t.Errorf("panel %q queries %s, which the operator does not serve", p.Title, m)
				}
				used[base] = true
			}
		}
	}
	for _, m := range served {
		if !used[m] {
			t.Errorf("metric %s has no panel", m)
		}
	}
	if dash.UID == "" || len(dash.Panels) < 8 {
		t.Errorf("dashboard uid %q with %d panels", dash.UID, len(dash.Panels))
	}
}
