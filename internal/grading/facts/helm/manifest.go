package helm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifestObjects parses a release's rendered manifest (YAML documents
// separated by ---, each preceded by Helm's "# Source:" comment) into
// objects, in order. Empty documents are skipped; past MaxManifestObjects
// objects the rest is left out and truncated is true. The manifest is at
// most MaxManifestSize (checked when decoding), and the YAML parser rejects
// alias bombs ("excessive aliasing"), so parsing is bounded too.
func manifestObjects(manifest string) (objs []any, truncated bool, err error) {
	objs = []any{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for doc := 1; ; doc++ {
		b, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("manifest document %d: %w", doc, err)
		}
		var obj any
		if err := utilyaml.Unmarshal(b, &obj); err != nil {
			return nil, false, fmt.Errorf("manifest document %d: %w", doc, err)
		}
		switch o := obj.(type) {
		case nil: // only comments or whitespace
			continue
		case map[string]any:
			if len(objs) == MaxManifestObjects {
				return objs, true, nil
			}
			objs = append(objs, o)
		default:
			return nil, false, fmt.Errorf("manifest document %d is a %T, not an object", doc, obj)
		}
	}
}
