package localcluster

import "testing"

// TEMPORARY until internal/labimages lands.
const testWebImage = "rotation.local/web:1.0"

func testNodeImages(t *testing.T) ([]string, string) {
	return []string{"/tmp/imgs/pause.tar", "/tmp/imgs/web.tar"}, "rotation.local/pause:3.10"
}
