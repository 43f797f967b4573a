package grading

import (
	"context"
	"fmt"
	"time"

	"github.com/google/cel-go/common/types"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// CheckTimeout bounds one check's evaluation, on top of the cost limit.
const CheckTimeout = 200 * time.Millisecond

// Result is one grading of an exercise.
type Result struct {
	Checks    []rotationsv1.CheckResult
	Points    int32
	MaxPoints int32
	// Passed is true when every check passed.
	Passed bool
	// AnyPassed is true when at least one check passed.
	AnyPassed bool
}

// Evaluate runs every check against the facts. A check that errors (a
// missing field, the cost limit, the timeout) fails with the error as its
// message; it never stops the other checks.
func (p *Program) Evaluate(ctx context.Context, vars map[string]any) Result {
	r := Result{Passed: true, MaxPoints: p.MaxPoints}
	for _, c := range p.Checks {
		passed, msg := c.eval(ctx, vars)
		res := rotationsv1.CheckResult{Name: c.Name, Passed: passed}
		if passed {
			res.Points = c.Points
			r.Points += c.Points
			r.AnyPassed = true
		} else {
			res.Message = msg
			r.Passed = false
		}
		r.Checks = append(r.Checks, res)
	}
	return r
}

func (c CompiledCheck) eval(ctx context.Context, vars map[string]any) (passed bool, msg string) {
	defer func() {
		// cel-go recovers its own panics; this guards extension functions.
		if r := recover(); r != nil {
			passed, msg = false, fmt.Sprintf("evaluation failed: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	out, _, err := c.program.ContextEval(ctx, vars)
	if err != nil {
		return false, fmt.Sprintf("%s (evaluation error: %v)", c.Message, err)
	}
	if out.Type() != types.BoolType {
		return false, fmt.Sprintf("%s (the check returned %s, not a bool)", c.Message, out.Type())
	}
	if out.Value() == true {
		return true, ""
	}
	return false, c.Message
}
