package localcluster

import (
	"strings"
	"testing"
)

// TestRealNodeSupport: every host that cannot run the node gets one line
// that says why; a root Linux host missing only packages it can install
// is able.
func TestRealNodeSupport(t *testing.T) {
	able := hostFacts{goos: "linux", euid: 0, cgroups: true, apt: true}
	for _, tc := range []struct {
		name string
		h    func(h hostFacts) hostFacts
		want string // "" means able
	}{
		{"able", func(h hostFacts) hostFacts { return h }, ""},
		{"packages missing, apt-get present", func(h hostFacts) hostFacts { h.missing = []string{"containerd"}; return h }, ""},
		{"macOS", func(h hostFacts) hostFacts { h.goos = "darwin"; return h }, "needs Linux (this is darwin)"},
		{"not root", func(h hostFacts) hostFacts { h.euid = 1000; return h }, "needs root"},
		{"no cgroups", func(h hostFacts) hostFacts { h.cgroups = false; return h }, "/sys/fs/cgroup is missing"},
		{"another kubelet", func(h hostFacts) hostFacts { h.foreignKubepods = "/sys/fs/cgroup/cpu/kubepods"; return h }, "another kubelet"},
		{"no apt-get", func(h hostFacts) hostFacts {
			h.missing, h.apt = []string{"containerd", "runc"}, false
			return h
		}, "needs the packages containerd, runc and there is no apt-get"},
	} {
		ok, why := tc.h(able).support()
		if tc.want == "" {
			if !ok {
				t.Errorf("%s: refused: %s", tc.name, why)
			}
			continue
		}
		if ok || !strings.Contains(why, tc.want) || strings.Contains(why, "\n") {
			t.Errorf("%s: got (%t, %q), want a one-line refusal containing %q", tc.name, ok, why, tc.want)
		}
	}
}

// TestAutoTakesTheFakeNodeWhenTheRealOneIsBusy: with the node lock held,
// auto falls back to kwok and says why in one line; real would wait.
func TestAutoTakesTheFakeNodeWhenTheRealOneIsBusy(t *testing.T) {
	if ok, why := RealNodeSupport(); !ok {
		var b strings.Builder
		mode, lock, err := resolveNode(NodeAuto, &b)
		if err != nil || mode != NodeFake || lock != nil || !strings.Contains(b.String(), why) {
			t.Fatalf("auto on a host that cannot run the node: %s %v %v %q", mode, lock, err, b.String())
		}
		return
	}
	held, err := lockNode(true, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	defer held.unlock()
	var b strings.Builder
	mode, lock, err := resolveNode(NodeAuto, &b)
	if err != nil || mode != NodeFake || lock != nil {
		t.Fatalf("auto with the node busy: %s %v %v", mode, lock, err)
	}
	if out := b.String(); !strings.Contains(out, "fake node (kwok)") || !strings.Contains(out, "in use by pid") || strings.Count(out, "\n") != 1 {
		t.Fatalf("the fallback line does not say why: %q", out)
	}
}
