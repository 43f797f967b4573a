package plugin

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Bad input is refused before the cluster is asked: no kubeconfig needed.
func TestSelfTestRefusesABadSolutionFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "solution")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"test", "scale-and-expose"}, ExitUsage, "--solution DIR is required"},
		{[]string{"test", "--solution", missing}, ExitUsage, "EXERCISE"},
		{[]string{"test", "scale-and-expose", "--solution", missing}, ExitError, "solution folder " + missing + " does not exist"},
		{[]string{"test", "scale-and-expose", "--solution", t.TempDir()}, ExitError, "has no steps.yaml"},
	} {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), append(tt.args, "--kubeconfig", filepath.Join(t.TempDir(), "none")),
			genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}
