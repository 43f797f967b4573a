package labs

import (
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	dockerfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/docker"
)

// TestDockerStarterApp keeps the app every docker exercise ships the same.
func TestDockerStarterApp(t *testing.T) {
	var first string
	for _, ex := range mustCatalog(t) {
		if ex.Spec.Track != rotationsv1.TrackDocker {
			continue
		}
		app, ok := ex.Spec.Starter.Files["main.go"]
		if !ok {
			t.Errorf("%s: no starter main.go", ex.Name)
			continue
		}
		if first == "" {
			first = app
		} else if app != first {
			t.Errorf("%s: main.go differs from the other docker exercises'", ex.Name)
		}
	}
	// The starter Dockerfile of docker-fix-dockerfile breaks every rule its checks name.
	for _, ex := range mustCatalog(t) {
		if ex.Name != "docker-fix-dockerfile" {
			continue
		}
		facts := dockerfacts.DockerfileFacts(ex.Spec.Starter.Files)
		violated := facts["violated"].(map[string]any)
		for _, id := range []string{"DL3007", "DL3008", "DL3009", "DL3015", "DL3020", "DL3025", "DL4000", "DL4006", "DL3002"} {
			if violated[id] != true {
				t.Errorf("the starter Dockerfile does not violate %s; findings %v", id, facts["findings"])
			}
		}
	}
}
