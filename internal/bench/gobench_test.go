package bench

import (
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkOther-2   	       1	         5.000 p50-s
BenchmarkGradeVsBareTerraform-2   	       1	      3512 graded-p50-ms	      2901 bare-p50-ms	         1.211 graded/bare	       850.0 bare-init-ms	         0 ns/op
PASS
`
	m, err := parseGoBench(out, "BenchmarkGradeVsBareTerraform")
	if err != nil {
		t.Fatal(err)
	}
	if m["graded-p50-ms"] != 3512 || m["bare-p50-ms"] != 2901 || m["graded/bare"] != 1.211 || m["bare-init-ms"] != 850 {
		t.Errorf("metrics = %v", m)
	}
	if got := stepTimes(m, "bare-"); got != "init 0.85 s" {
		t.Errorf("stepTimes = %q, want the steps without the p50 total", got)
	}
}

func TestParseGoBenchMissingOrBroken(t *testing.T) {
	if _, err := parseGoBench("PASS\n", "BenchmarkX"); err == nil || !strings.Contains(err.Error(), "no result line of BenchmarkX") {
		t.Errorf("missing benchmark: err = %v", err)
	}
	if _, err := parseGoBench("BenchmarkX-2 1 abc p50-s\n", "BenchmarkX"); err == nil || !strings.Contains(err.Error(), `value "abc" of p50-s`) {
		t.Errorf("bad value: err = %v", err)
	}
	if _, err := parseGoBench("BenchmarkX 1 1.0\n", "BenchmarkX"); err == nil || !strings.Contains(err.Error(), "odd value-unit list") {
		t.Errorf("odd list: err = %v", err)
	}
}
