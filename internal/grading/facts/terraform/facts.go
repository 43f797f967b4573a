package terraform

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// Fact names: the keys of the map Collect returns (see the package doc).
const (
	FactFiles             = "files"
	FactIgnoredFiles      = "ignoredFiles"
	FactRunner            = "runner"
	FactPrecheck          = "precheck"
	FactBackend           = "backend"
	FactRequiredProviders = "requiredProviders"
	FactVariables         = "variables"
	FactImports           = "imports"
	FactFormatted         = "formatted"
	FactUnformattedFiles  = "unformattedFiles"
	FactInit              = "init"
	FactValid             = "valid"
	FactDiagnostics       = "diagnostics"
	FactPlan              = "plan"
	FactDrift             = "drift"
	FactInSync            = "inSync"
	FactResources         = "resources"
	FactOutputs           = "outputs"
	FactLock              = "lock"
	FactError             = "error"
)

// Keys of a resources entry besides type, name, mode and values (see
// state_in_lab.go and state_writer.go).
const (
	// FactInLab is true when plan's refresh found the resource in the lab.
	FactInLab = "inLab"
	// FactHandWritten says why the state looks written by hand; the
	// entry then has no values.
	FactHandWritten = "handWritten"
)

// Bounds on the facts of one submission.
const (
	// MaxDiagnostics bounds the diagnostics list; the rest are dropped.
	MaxDiagnostics = 50
	// MaxResources bounds resources (and plan changes, drift).
	MaxResources = 500
	// MaxFactsSize bounds the runner's JSON output read by the executor.
	MaxFactsSize = 8 << 20
	// sensitiveValue replaces values Terraform marks sensitive.
	sensitiveValue = "(sensitive)"
)

// Sandbox kinds reported in runner.sandbox.
const (
	SandboxNamespaces = "namespaces"
	SandboxNone       = "none"
	SandboxJob        = "job"
)

// Facts returns the top-level fact names, sorted, for the grading engine's
// list of known facts.
func Facts() []string {
	names := []string{
		FactFiles, FactIgnoredFiles, FactRunner, FactPrecheck, FactBackend, FactRequiredProviders,
		FactVariables, FactImports, FactFormatted, FactUnformattedFiles, FactInit, FactValid,
		FactDiagnostics, FactPlan, FactDrift, FactInSync, FactResources, FactOutputs, FactLock, FactError,
	}
	sort.Strings(names)
	return names
}

// EmptyFacts is every fact at its "nothing ran" value, so that checks can
// read any fact without has() and fail with their own message. Grading
// without a submission can use it too.
func EmptyFacts() map[string]any { return emptyFacts() }

func emptyFacts() map[string]any {
	return map[string]any{
		FactFiles:             []any{},
		FactIgnoredFiles:      []any{},
		FactRunner:            map[string]any{"sandbox": ""},
		FactPrecheck:          map[string]any{"ok": false, "problems": []any{}},
		FactBackend:           map[string]any{"type": "", "secretSuffix": "", "namespace": ""},
		FactRequiredProviders: map[string]any{},
		FactVariables:         map[string]any{},
		FactImports:           []any{},
		FactFormatted:         false,
		FactUnformattedFiles:  []any{},
		FactInit:              map[string]any{"ok": false, "message": ""},
		FactValid:             false,
		FactDiagnostics:       []any{},
		FactPlan:              map[string]any{"ok": false, "exitCode": int64(-1), "changes": []any{}, "outputChanges": []any{}},
		FactDrift:             []any{},
		FactInSync:            false,
		FactResources:         map[string]any{},
		FactOutputs:           map[string]any{},
		FactLock:              map[string]any{"held": false, "id": "", "who": "", "operation": "", "created": "", "message": ""},
		FactError:             "",
	}
}

// normalize turns decoded JSON (json.Number, nested maps and lists) into
// CEL-friendly values, as a copy: int64 for integral numbers, float64
// otherwise.
func normalize(v any) any { return jsontree.Walker{Leaf: celNumber}.Map(v) }

// celNumber is a number leaf as int64 when integral, float64 otherwise. A
// float64 counts as integral only below 2^53, where it is exact.
func celNumber(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case int:
		return int64(x)
	default:
		return v
	}
}

// redact replaces the parts of v that sensitive (Terraform's
// sensitive_values shape: true where sensitive, nested maps and lists
// otherwise) marks.
func redact(v any, sensitive any) any {
	switch s := sensitive.(type) {
	case bool:
		if s {
			return sensitiveValue
		}
		return v
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = redact(e, s[k])
		}
		return out
	case []any:
		l, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(l))
		for i, e := range l {
			if i < len(s) {
				out[i] = redact(e, s[i])
			} else {
				out[i] = e
			}
		}
		return out
	default:
		return v
	}
}

func stringList(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}
