package localcluster

import (
	"testing"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// testWebImage is the project's web image, which the node imports.
const testWebImage = labimages.Web10

// testNodeImages leaves the images to Start: the project's own.
func testNodeImages(*testing.T) ([]string, string) { return nil, "" }
