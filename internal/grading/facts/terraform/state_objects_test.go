package terraform

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
)

// TestStateObjects: the objects a state manages, gzip-compressed as the
// kubernetes backend stores it, or plain; data sources and types that only
// patch objects made elsewhere are not the state's to delete.
func TestStateObjects(t *testing.T) {
	state := `{"version":4,"resources":[
	 {"mode":"managed","type":"kubernetes_config_map_v1","name":"app","instances":[{"attributes":{"metadata":[{"name":"app","namespace":"lab-a"}]}}]},
	 {"mode":"managed","type":"kubernetes_deployment","name":"web","instances":[{"attributes":{"metadata":[{"name":"web","namespace":"lab-a"}]}}]},
	 {"mode":"managed","type":"kubernetes_manifest","name":"np","instances":[{"attributes":{"manifest":{"value":{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny","namespace":"lab-a"}},"type":["object",{}]}}}]},
	 {"mode":"managed","type":"kubernetes_labels","name":"l","instances":[{"attributes":{"metadata":[{"name":"starter","namespace":"lab-a"}]}}]},
	 {"mode":"data","type":"kubernetes_config_map_v1","name":"read","instances":[{"attributes":{"metadata":[{"name":"other","namespace":"lab-a"}]}}]},
	 {"mode":"managed","type":"kubernetes_secret_v1","name":"noname","instances":[{"attributes":{"metadata":[]}}]}
	]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(state))
	_ = zw.Close()
	want := "[/v1, Kind=ConfigMap lab-a app] [apps/v1, Kind=Deployment lab-a web] [networking.k8s.io/v1, Kind=NetworkPolicy lab-a deny]"
	for name, data := range map[string][]byte{"gzip": gz.Bytes(), "plain": []byte(state)} {
		objs, err := StateObjects(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := ""
		for i, o := range objs {
			if i > 0 {
				got += " "
			}
			got += fmt.Sprintf("[%s %s %s]", o.GroupVersionKind, o.Namespace, o.Name)
		}
		if got != want {
			t.Errorf("%s: %s\nwant %s", name, got, want)
		}
	}
	for _, bad := range [][]byte{[]byte("not json"), {0x1f, 0x8b, 0x00}} {
		if _, err := StateObjects(bad); err == nil {
			t.Errorf("StateObjects(%q) accepted", bad)
		}
	}
}
