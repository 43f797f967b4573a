package grading

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
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
	// HintsMet tells, per hint, whether its When condition holds now;
	// false for a hint without one (see Advance).
	HintsMet []bool
}

// MaxMessageLength bounds a message built by a messageExpression.
const MaxMessageLength = 2048

// resetAdvice ends the message of a failing check that suggests a reset.
const resetAdvice = " This cannot be repaired in place: reset the exercise to start over (kubectl rotation reset)."

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
			if c.SuggestsReset {
				res.ResetSuggested = true
				res.Message += resetAdvice
			}
			r.Passed = false
		}
		r.Checks = append(r.Checks, res)
	}
	for _, h := range p.Hints {
		r.HintsMet = append(r.HintsMet, h.program != nil && evalBool(ctx, h.program, vars))
	}
	return r
}

// evalBool runs a condition; an error or a non-bool is false.
func evalBool(ctx context.Context, prg cel.Program, vars map[string]any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	out, _, err := prg.ContextEval(ctx, vars)
	return err == nil && out.Value() == true
}

// failureMessage is the check's messageExpression's result, or its static
// Message when there is none or it fails, is not a string or is empty.
func (c CompiledCheck) failureMessage(ctx context.Context, vars map[string]any) (msg string) {
	if c.message == nil {
		return c.Message
	}
	defer func() {
		if recover() != nil {
			msg = c.Message
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	out, _, err := c.message.ContextEval(ctx, vars)
	if err != nil {
		return c.Message
	}
	s, ok := out.Value().(string)
	if s = strings.TrimSpace(s); !ok || s == "" {
		return c.Message
	}
	if r := []rune(s); len(r) > MaxMessageLength {
		s = string(r[:MaxMessageLength-1]) + "…"
	}
	return s
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
	return false, c.failureMessage(ctx, vars)
}
