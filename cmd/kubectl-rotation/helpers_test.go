package main_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"sync"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/submission"
)

// syncBuffer is a bytes.Buffer a running process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func digestOf(files map[string]string) string { return submission.Digest(files) }

// The JUnit schema as CI tools read it, independent of the plugin's types.
type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name       string `xml:"name,attr"`
	Tests      int    `xml:"tests,attr"`
	Failures   int    `xml:"failures,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
	} `xml:"testcase"`
}

// checkJUnit parses alice's report as JUnit XML and checks it against the
// fixture: one testsuite per exercise, one testcase per check, failed checks
// as failures carrying their message (XML special characters included).
func checkJUnit(t *testing.T, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "<?xml") {
		t.Errorf("no XML declaration: %.40q", out)
	}
	var doc junitTestsuites
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	type want struct {
		name            string
		tests, failures int
		failed          map[string]string
	}
	wants := []want{
		{"scale-and-expose", 2, 0, nil},
		{"fix-broken-deployment", 3, 2, map[string]string{
			"readiness-probe": "Add a readiness probe on port 8080.",
			"resources":       "Set CPU and memory requests and limits | both.",
		}},
		{"terraform-basics", 2, 1, map[string]string{
			"configmap-planned": `The plan creates no ConfigMap settings. <plan> & "apply"`,
		}},
	}
	if doc.Tests != 7 || doc.Failures != 3 || len(doc.Suites) != len(wants) {
		t.Fatalf("testsuites: tests %d failures %d suites %d, want 7, 3, %d", doc.Tests, doc.Failures, len(doc.Suites), len(wants))
	}
	for i, w := range wants {
		s := doc.Suites[i]
		if s.Name != w.name || s.Tests != w.tests || s.Failures != w.failures || len(s.Cases) != w.tests {
			t.Errorf("suite %d: %s tests %d failures %d cases %d, want %s %d %d", i, s.Name, s.Tests, s.Failures, len(s.Cases), w.name, w.tests, w.failures)
			continue
		}
		failures := 0
		for _, c := range s.Cases {
			if c.Classname != "alice."+w.name {
				t.Errorf("%s/%s: classname %q", w.name, c.Name, c.Classname)
			}
			msg, shouldFail := w.failed[c.Name]
			switch {
			case shouldFail && c.Failure == nil:
				t.Errorf("%s/%s: no failure", w.name, c.Name)
			case !shouldFail && c.Failure != nil:
				t.Errorf("%s/%s: unexpected failure %q", w.name, c.Name, c.Failure.Message)
			case shouldFail && (c.Failure.Message != msg || c.Failure.Text != msg):
				t.Errorf("%s/%s: failure %q / %q, want %q", w.name, c.Name, c.Failure.Message, c.Failure.Text, msg)
			}
			if c.Failure != nil {
				failures++
			}
		}
		if failures != w.failures {
			t.Errorf("%s: %d failed testcases, want %d", w.name, failures, w.failures)
		}
	}
	props := map[string]string{}
	for _, p := range doc.Suites[1].Properties {
		props[p.Name] = p.Value
	}
	if props["state"] != "Failed" || props["points"] != "10/30" || props["bestPoints"] != "20" {
		t.Errorf("fix-broken-deployment properties %v", props)
	}
}
