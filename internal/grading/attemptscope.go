package grading

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// AttemptScope is Program.Scope narrowed to the keys the checks name below
// an object: docker.images['hello'].tags['v1'] reads the tag v1 of the
// repository hello, so pushing hello:v2 is no attempt on it, while a check
// that reads docker.images['hello'].tags as a whole keeps every tag in
// scope. A named object is narrowed to the path up to the last string
// literal index its readers go through (fields selected in between
// included); a reader that stops at the object, or indexes with anything
// but a literal, keeps the whole object. Entries are "<fact>/<key>/..."
// with each key escaped as in a JSON pointer (~0 for ~, ~1 for /), which
// FactHasher.Hash reads back.
func (p *Program) AttemptScope() []string {
	exprs := make([]string, 0, len(p.Checks))
	for _, c := range p.Checks {
		exprs = append(exprs, c.Expression)
	}
	key := strings.Join(p.Scope, "\x00") + "\x01" + strings.Join(exprs, "\x00")
	if v, ok := attemptScopes.Load(key); ok {
		return v.([]string)
	}
	scope := narrowScope(p.Scope, exprs)
	if attemptScopeCount.Add(1) > maxAttemptScopes {
		// Exercises edited over and over must not grow the memo for ever.
		attemptScopes.Clear()
		attemptScopeCount.Store(0)
	}
	attemptScopes.Store(key, scope)
	return scope
}

const maxAttemptScopes = 4096

var (
	attemptScopes     sync.Map // scope and expressions -> narrowed scope
	attemptScopeCount atomic.Int64
	parseEnv          = sync.OnceValues(func() (*cel.Env, error) { return cel.NewEnv(cel.OptionalTypes()) })
)

// narrowScope narrows each named entry of scope ("docker.images/hello") to
// the paths the expressions read below it. An expression that does not
// parse leaves the scope as it is: it compiled, so this does not happen.
func narrowScope(scope []string, exprs []string) []string {
	env, err := parseEnv()
	if err != nil {
		return escapedScope(scope)
	}
	var roots []ast.NavigableExpr
	for _, e := range exprs {
		parsed, iss := env.Parse(e)
		if iss.Err() != nil {
			return escapedScope(scope)
		}
		roots = append(roots, ast.NavigateAST(parsed.NativeRep()))
	}
	var out []string
	for _, entry := range scope {
		fact, name, named := strings.Cut(entry, "/")
		if !named {
			out = append(out, entry)
			continue
		}
		paths := readPaths(roots, fact, name)
		prefix := fact + "/" + escapeKey(name)
		if len(paths) == 0 || hasEmpty(paths) {
			out = append(out, prefix)
			continue
		}
		for _, p := range minimalPaths(paths) {
			out = append(out, prefix+"/"+p)
		}
	}
	return out
}

// readPaths returns, for every place the expressions index fact by the
// literal name, the escaped path read below it ("" for the whole object).
func readPaths(roots []ast.NavigableExpr, fact, name string) []string {
	variable, field, _ := strings.Cut(fact, ".")
	var paths []string
	for _, root := range roots {
		for _, n := range ast.MatchDescendants(root, func(ast.NavigableExpr) bool { return true }) {
			if isNameIn(n, variable, field, name) {
				paths = append(paths, "") // 'api' in kube.deployments
				continue
			}
			if !isIndexOf(n, variable, field, name) {
				continue
			}
			paths = append(paths, pathBelow(n))
		}
	}
	return paths
}

// pathBelow follows the selections and literal indexes applied to e and
// returns the path up to the last literal index ("tags/v1"), or "".
func pathBelow(e ast.NavigableExpr) string {
	var segs []string
	keep := 0
	for cur := e; ; {
		parent, ok := cur.Parent()
		if !ok {
			break
		}
		switch parent.Kind() {
		case ast.SelectKind:
			if parent.AsSelect().Operand().ID() != cur.ID() || parent.AsSelect().IsTestOnly() {
				return strings.Join(segs[:keep], "/")
			}
			segs = append(segs, escapeKey(parent.AsSelect().FieldName()))
		case ast.CallKind:
			call := parent.AsCall()
			args := call.Args()
			if len(args) != 2 || args[0].ID() != cur.ID() {
				return strings.Join(segs[:keep], "/")
			}
			s, lit := literalString(args[1])
			switch call.FunctionName() {
			case "_?._":
				if !lit {
					return strings.Join(segs[:keep], "/")
				}
				segs = append(segs, escapeKey(s))
			case "_[_]", "_[?_]":
				if !lit {
					return strings.Join(segs[:keep], "/")
				}
				segs = append(segs, escapeKey(s))
				keep = len(segs)
			default:
				return strings.Join(segs[:keep], "/")
			}
		default:
			return strings.Join(segs[:keep], "/")
		}
		cur = parent
	}
	return strings.Join(segs[:keep], "/")
}

// isIndexOf tells whether e is variable.field[name] or variable.field[?name]
// (field selected with '.', '.?', '[...]' or '[?...]').
func isIndexOf(e ast.NavigableExpr, variable, field, name string) bool {
	if e.Kind() != ast.CallKind {
		return false
	}
	call := e.AsCall()
	if fn := call.FunctionName(); (fn != "_[_]" && fn != "_[?_]") || len(call.Args()) != 2 {
		return false
	}
	s, ok := literalString(call.Args()[1])
	return ok && s == name && isFact(call.Args()[0], variable, field)
}

// isNameIn tells whether e is 'name' in variable.field.
func isNameIn(e ast.NavigableExpr, variable, field, name string) bool {
	if e.Kind() != ast.CallKind || e.AsCall().FunctionName() != "@in" || len(e.AsCall().Args()) != 2 {
		return false
	}
	s, ok := literalString(e.AsCall().Args()[0])
	return ok && s == name && isFact(e.AsCall().Args()[1], variable, field)
}

func isFact(e ast.Expr, variable, field string) bool {
	switch e.Kind() {
	case ast.SelectKind:
		id, ok := identName(e.AsSelect().Operand())
		return ok && id == variable && e.AsSelect().FieldName() == field
	case ast.CallKind:
		call := e.AsCall()
		if fn := call.FunctionName(); (fn == "_[_]" || fn == "_[?_]" || fn == "_?._") && len(call.Args()) == 2 {
			id, ok := identName(call.Args()[0])
			s, lit := literalString(call.Args()[1])
			return ok && lit && id == variable && s == field
		}
	}
	return false
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func hasEmpty(paths []string) bool {
	for _, p := range paths {
		if p == "" {
			return true
		}
	}
	return false
}

// minimalPaths drops duplicates and paths below another one of the list.
func minimalPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		covered := false
		for _, q := range paths {
			if q != p && strings.HasPrefix(p, q+"/") {
				covered = true
				break
			}
		}
		if !covered && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// escapedScope escapes the names of named entries, as AttemptScope does.
func escapedScope(scope []string) []string {
	out := make([]string, 0, len(scope))
	for _, entry := range scope {
		if fact, name, named := strings.Cut(entry, "/"); named {
			entry = fact + "/" + escapeKey(name)
		}
		out = append(out, entry)
	}
	return out
}

var keyEscaper, keyUnescaper = strings.NewReplacer("~", "~0", "/", "~1"), strings.NewReplacer("~1", "/", "~0", "~")

func escapeKey(k string) string   { return keyEscaper.Replace(k) }
func unescapeKey(k string) string { return keyUnescaper.Replace(k) }
