package grading

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Limits bound what one check may cost.
const (
	// CostLimit is CEL's runtime cost budget per check, and the ceiling for
	// the estimate made at compile time.
	CostLimit = 1_000_000
	// assumedMaxItems is how many objects of a kind, or items in a list, the
	// compile-time estimate assumes. Labs are bounded by their quota (at most
	// 120 pods and fewer of every other kind), so 128 lets a check compare
	// two collections (a Service against every Deployment) but not three.
	assumedMaxItems = 128
)

// CompiledCheck is one check ready to evaluate.
type CompiledCheck struct {
	rotationsv1.Check
	program cel.Program
	// message builds the failure message from the facts; nil without
	// a messageExpression.
	message cel.Program
}

// CompiledHint is a hint's When condition; program is nil without one.
type CompiledHint struct {
	program cel.Program
}

// Program is an Exercise's compiled checks.
type Program struct {
	Checks []CompiledCheck
	// Hints are the exercise's hints' conditions, in the hints' order.
	Hints []CompiledHint
	// Facts the checks read, as "kube.deployments"; collectors fetch only these.
	Facts []string
	// Scope is what the learner's attempts are counted on: "kube.deployments/api"
	// when every check names the Deployment api, or "kube.deployments" when a
	// check looks at all of them. Changing another exercise's objects then
	// does not count as an attempt on this one.
	Scope     []string
	MaxPoints int32
}

// CompileError names the check that did not compile.
type CompileError struct {
	Check string
	Err   error
}

func (e *CompileError) Error() string { return fmt.Sprintf("check %q: %v", e.Check, e.Err) }
func (e *CompileError) Unwrap() error { return e.Err }

// Compile compiles every check of an exercise over the built-in sources.
// It fails on the first check that does not parse or type-check, reads an
// unknown fact, does not return a bool, or could exceed the cost limit.
func Compile(spec *rotationsv1.ExerciseSpec) (*Program, error) {
	e, err := defaultEnv()
	if err != nil {
		return nil, err
	}
	return e.Compile(spec)
}

// Compile compiles every check of an exercise, as the package's Compile.
func (e *Env) Compile(spec *rotationsv1.ExerciseSpec) (*Program, error) {
	p := &Program{}
	refs := &factRefs{whole: map[string]bool{}, named: map[string]bool{}}
	// Messages and hint conditions read facts too (collected for them), but
	// they are not what the learner's attempts are counted on.
	extra := &factRefs{whole: map[string]bool{}, named: map[string]bool{}}
	for _, c := range spec.Checks {
		compiled, err := compileCheck(e, c, refs)
		if err != nil {
			return nil, &CompileError{Check: c.Name, Err: err}
		}
		if c.MessageExpression != "" {
			if compiled.message, err = e.compileExpr(c.MessageExpression, cel.StringType, extra); err != nil {
				return nil, &CompileError{Check: c.Name, Err: fmt.Errorf("messageExpression: %w", err)}
			}
		}
		p.Checks = append(p.Checks, compiled)
		p.MaxPoints += c.Points
	}
	if len(p.Checks) == 0 {
		return nil, errors.New("the exercise has no checks")
	}
	for i, h := range spec.Hints {
		var ch CompiledHint
		if h.When != "" {
			prg, err := e.compileExpr(h.When, cel.BoolType, extra)
			if err != nil {
				return nil, &CompileError{Check: fmt.Sprintf("hint %d", i+1), Err: fmt.Errorf("when: %w", err)}
			}
			ch.program = prg
		}
		p.Hints = append(p.Hints, ch)
	}
	p.Facts, p.Scope = refs.result()
	extraFacts, _ := extra.result()
	for _, f := range extraFacts {
		if !slices.Contains(p.Facts, f) {
			p.Facts = append(p.Facts, f)
		}
	}
	sort.Strings(p.Facts)
	return p, nil
}

// factRefs gathers which facts the checks read, whole or by object name.
type factRefs struct {
	whole map[string]bool // "kube.deployments" read as a collection
	named map[string]bool // "kube.deployments/api" read by name only
}

func (r *factRefs) result() (facts, scope []string) {
	seen := map[string]bool{}
	for f := range r.whole {
		seen[f] = true
		scope = append(scope, f)
	}
	for n := range r.named {
		f, _, _ := strings.Cut(n, "/")
		if !r.whole[f] {
			scope = append(scope, n)
		}
		seen[f] = true
	}
	for f := range seen {
		facts = append(facts, f)
	}
	sort.Strings(facts)
	sort.Strings(scope)
	return facts, scope
}

func compileCheck(e *Env, c rotationsv1.Check, refs *factRefs) (CompiledCheck, error) {
	prg, err := e.compileExpr(c.Expression, cel.BoolType, refs)
	if err != nil {
		return CompiledCheck{}, err
	}
	return CompiledCheck{Check: c, program: prg}, nil
}

// compileExpr compiles one expression returning out (or dyn, checked when
// it runs), reads only known facts and stays under the cost limit; the
// facts it reads are added to refs.
func (e *Env) compileExpr(expr string, out *cel.Type, refs *factRefs) (cel.Program, error) {
	checked, iss := e.cel.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if !checked.OutputType().IsExactType(out) && checked.OutputType() != cel.DynType {
		return nil, fmt.Errorf("must evaluate to a %s, not %s", typeName(out), checked.OutputType())
	}
	whole, named, err := factsRead(checked, e.known)
	if err != nil {
		return nil, err
	}
	est, err := e.cel.EstimateCost(checked, sizeEstimator{})
	if err != nil {
		return nil, fmt.Errorf("estimating cost: %w", err)
	}
	if est.Max > CostLimit {
		return nil, fmt.Errorf("estimated cost %d exceeds the limit %d: iterate over fewer collections or nest fewer loops", est.Max, CostLimit)
	}
	prg, err := e.cel.Program(checked, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	for f := range whole {
		refs.whole[f] = true
	}
	for n := range named {
		refs.named[n] = true
	}
	return prg, nil
}

// typeName is "bool" or "string", as the messages have always said.
func typeName(t *cel.Type) string {
	if t == cel.StringType {
		return "string"
	}
	return "bool"
}

// factsRead finds every kube.<fact> (or kube['<fact>']) in a checked
// expression, and rejects facts no source provides. A fact used only as
// kube.<fact>['name'] or 'name' in kube.<fact> is read by name; any other use
// reads the whole fact. Reading the variable itself (size(kube)) reads all.
func factsRead(checked *cel.Ast, known knownFacts) (whole, named map[string]bool, err error) {
	whole, named = map[string]bool{}, map[string]bool{}
	uses := map[int64]string{}   // expression id -> fact, for every fact reference
	byName := map[int64]string{} // fact reference id -> object name, when used by name
	var errs []error
	nav := ast.NavigateAST(checked.NativeRep())
	ast.PostOrderVisit(nav, ast.NewExprVisitor(func(ex ast.Expr) {
		if variable, name, ok := factReference(ex, known); ok {
			switch {
			case name == "":
				for _, f := range known[variable] {
					whole[variable+"."+f] = true
				}
			case !slices.Contains(known[variable], name):
				errs = append(errs, known.unknownFactError(variable, name))
			default:
				uses[ex.ID()] = variable + "." + name
			}
		} else if variable, ok := bareFactVariable(ex, known); ok {
			for _, f := range known[variable] {
				whole[variable+"."+f] = true
			}
		}
		if ex.Kind() != ast.CallKind {
			return
		}
		call := ex.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case "_[_]", "_[?_]": // kube.deployments['api']
			if len(args) == 2 {
				if s, ok := stringLiteral(args[1]); ok {
					byName[args[0].ID()] = s
				}
			}
		case "@in": // 'api' in kube.deployments
			if len(args) == 2 {
				if s, ok := stringLiteral(args[0]); ok {
					byName[args[1].ID()] = s
				}
			}
		}
	}))
	for id, fact := range uses {
		if name, ok := byName[id]; ok {
			named[fact+"/"+name] = true
		} else {
			whole[fact] = true
		}
	}
	return whole, named, errors.Join(errs...)
}

func stringLiteral(ex ast.Expr) (string, bool) {
	if ex.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := ex.AsLiteral().(types.String)
	return string(s), ok
}

// factReference recognises kube.x, kube['x'], kube.?x, kube[?'x'] and a
// dynamic index kube[e] (every fact).
func factReference(ex ast.Expr, known knownFacts) (variable, name string, ok bool) {
	switch ex.Kind() {
	case ast.SelectKind:
		sel := ex.AsSelect()
		if id, isIdent := identName(sel.Operand()); isIdent && known[id] != nil {
			return id, sel.FieldName(), true
		}
	case ast.CallKind:
		call := ex.AsCall()
		if fn := call.FunctionName(); fn == "_[_]" || fn == "_[?_]" || fn == "_?._" {
			args := call.Args()
			if id, isIdent := identName(args[0]); isIdent && known[id] != nil {
				if args[1].Kind() == ast.LiteralKind {
					if s, isStr := args[1].AsLiteral().(types.String); isStr {
						return id, string(s), true
					}
				}
				return id, "", true // dynamic index: every fact of the variable
			}
		}
	}
	return "", "", false
}

// bareFactVariable recognises a use of kube that is not the operand of a
// kube.x or kube['x'] reference, e.g. size(kube) or 'pods' in kube.
func bareFactVariable(ex ast.Expr, known knownFacts) (string, bool) {
	id, isIdent := identName(ex)
	if !isIdent || known[id] == nil {
		return "", false
	}
	if nav, isNav := ex.(ast.NavigableExpr); isNav {
		if parent, hasParent := nav.Parent(); hasParent {
			if _, _, isRef := factReference(parent, known); isRef && referenceOperand(parent).ID() == ex.ID() {
				return "", false
			}
		}
	}
	return id, true
}

// referenceOperand is the variable a reference recognised by factReference reads.
func referenceOperand(ex ast.Expr) ast.Expr {
	if ex.Kind() == ast.SelectKind {
		return ex.AsSelect().Operand()
	}
	return ex.AsCall().Args()[0]
}

func identName(ex ast.Expr) (string, bool) {
	if ex.Kind() == ast.IdentKind {
		return ex.AsIdent(), true
	}
	return "", false
}

// sizeEstimator bounds every collection and string for the compile-time
// cost estimate: facts have no declared sizes.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: assumedMaxItems}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}
