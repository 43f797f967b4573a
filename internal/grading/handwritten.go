package grading

import (
	"sort"
	"strings"
)

// HandWrittenKey is the key a fact source sets on an entry of its facts
// (a Helm release) whose storage looks written by hand rather than by the
// tool, to say why.
const HandWrittenKey = "handWritten"

// HandWritten says why the tool storage the program's checks read looks
// written by hand, "" when nothing does: the entries of the facts in its
// scope that carry HandWrittenKey, as "release shop: <why>".
func (p *Program) HandWritten(vars map[string]any) string {
	var out []string
	for _, sc := range p.Scope {
		fact, name, byName := strings.Cut(sc, "/")
		variable, factName, _ := strings.Cut(fact, ".")
		entries, _ := asMap(vars[variable])[factName].(map[string]any)
		for n, e := range entries {
			if byName && n != name {
				continue
			}
			if why, _ := asMap(e)[HandWrittenKey].(string); why != "" {
				out = append(out, singular(factName)+" "+n+": "+why)
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// singular is "release" for "releases".
func singular(fact string) string { return strings.TrimSuffix(fact, "s") }
