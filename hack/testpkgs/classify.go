package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

type category string

const (
	// unit tests start no control plane.
	unit category = "unit"
	// integration tests start a real kube-apiserver and etcd: their test
	// binary links one of controlPlaneStarters.
	integration category = "integration"
	// e2e tests are the journeys and suites under test/.
	e2e category = "e2e"
)

var categories = []category{unit, integration, e2e}

const module = "github.com/handson-dev/rotation-operator"

// controlPlaneStarters are the packages through which a test starts a
// control plane. A test binary that links one of them is an integration
// test, whether it imports it directly or through a helper.
var controlPlaneStarters = []string{
	module + "/internal/localcluster",
	"sigs.k8s.io/controller-runtime/pkg/envtest",
}

// e2ePrefix holds the end-to-end suites, which start the operator the way
// a user does (test/harness).
const e2ePrefix = module + "/test/"

// testBinary is the part of `go list -test -json` classify reads: one entry
// per test binary ("<pkg>.test"), which only packages with tests have.
type testBinary struct {
	ImportPath string
	// ForTest is empty for the binary itself and set for the recompiled
	// package variants that go list also prints.
	ForTest string
	Deps    []string
}

// classify puts the package a test binary tests into its category.
func classify(pkg string, deps []string) category {
	if strings.HasPrefix(pkg, e2ePrefix) {
		return e2e
	}
	for _, starter := range controlPlaneStarters {
		if slices.Contains(deps, starter) {
			return integration
		}
	}
	return unit
}

// classifyModule lists every package of the module with tests, by category,
// sorted.
func classifyModule() (map[category][]string, error) {
	// The module's pattern, not ./..., so that any working directory inside
	// the repository lists the whole module.
	cmd := exec.Command("go", "list", "-test", "-json=ImportPath,ForTest,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	byCategory := map[category][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var b testBinary
		if err := dec.Decode(&b); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list: %w", err)
		}
		pkg, ok := strings.CutSuffix(b.ImportPath, ".test")
		if !ok || b.ForTest != "" {
			continue
		}
		c := classify(pkg, b.Deps)
		byCategory[c] = append(byCategory[c], pkg)
	}
	for _, pkgs := range byCategory {
		slices.Sort(pkgs)
	}
	return byCategory, nil
}
