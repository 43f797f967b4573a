package grading

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Feedback from facts: messageExpression, suggestsReset and hints' when.

func TestMessageExpressionBuildsTheMessage(t *testing.T) {
	c := check("replicas", "kube.deployments['web'].spec.replicas == 5")
	c.MessageExpression = "'web runs ' + string(kube.deployments['web'].spec.replicas) + ' replicas, not 5'"
	p := mustCompile(t, c)
	got := p.Evaluate(context.Background(), webLab()).Checks[0]
	if got.Passed || got.Message != "web runs 3 replicas, not 5" {
		t.Errorf("check = %+v, want failed with the built message", got)
	}
}

func TestMessageExpressionFallsBackToMessage(t *testing.T) {
	for name, expr := range map[string]string{
		"runtime error":  "kube.deployments['missing'].metadata.name",
		"empty":          "''",
		"only spaces":    "'   '",
		"dyn, not a str": "kube.deployments['web'].spec.replicas",
	} {
		t.Run(name, func(t *testing.T) {
			c := check("replicas", "kube.deployments['web'].spec.replicas == 5")
			c.MessageExpression = expr
			p := mustCompile(t, c)
			if got := p.Evaluate(context.Background(), webLab()).Checks[0]; got.Message != "replicas fails" {
				t.Errorf("message = %q, want the static message", got.Message)
			}
		})
	}
}

func TestMessageExpressionIsBounded(t *testing.T) {
	c := check("never", "false")
	c.MessageExpression = "lab.namespace + '" + strings.Repeat("x", 3000) + "'"
	got := mustCompile(t, c).Evaluate(context.Background(), webLab()).Checks[0]
	if n := len([]rune(got.Message)); n != MaxMessageLength {
		t.Errorf("message of %d runes, want it cut to %d", n, MaxMessageLength)
	}
}

func TestMessageExpressionCompileErrors(t *testing.T) {
	for name, tt := range map[string]struct{ expr, want string }{
		"syntax":       {"'a' +", "Syntax error"},
		"not a string": {"1 + 1", "must evaluate to a string"},
		"unknown fact": {"kube.widgets['a'].name", "unknown fact kube.widgets"},
		"cost":         {"kube.pods.all(a, kube.pods.all(b, kube.pods.all(c, a != b))) ? 'x' : 'y'", "exceeds the limit"},
	} {
		t.Run(name, func(t *testing.T) {
			c := check("bad", "true")
			c.MessageExpression = tt.expr
			_, err := Compile(specOf(c))
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Check != "bad" || !strings.Contains(err.Error(), "messageExpression") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a CompileError of check bad mentioning messageExpression and %q", err, tt.want)
			}
		})
	}
}

func TestMessageAndHintFactsAreCollectedButNotScope(t *testing.T) {
	c := check("web", "'web' in kube.deployments")
	c.MessageExpression = "'services: ' + kube.services.map(s, s).join(', ')"
	spec := specOf(c)
	spec.Hints = []rotationsv1.Hint{{Text: "a configmap?", When: "size(kube.configmaps) == 0"}}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kube.deployments", "kube.services", "kube.configmaps"} {
		if !slices.Contains(p.Facts, f) {
			t.Errorf("facts %v lack %s", p.Facts, f)
		}
	}
	if !slices.Equal(p.Scope, []string{"kube.deployments/web"}) {
		t.Errorf("scope = %v, want only what the checks read", p.Scope)
	}
}

func TestSuggestsResetAddsTheAdvice(t *testing.T) {
	c := check("immutable", "false")
	c.SuggestsReset = true
	got := mustCompile(t, c, check("ok", "true")).Evaluate(context.Background(), webLab()).Checks
	if !got[0].ResetSuggested || !strings.HasPrefix(got[0].Message, "immutable fails") || !strings.Contains(got[0].Message, "reset the exercise") {
		t.Errorf("failing failcheck = %+v, want its message with reset advice", got[0])
	}
	if got[1].ResetSuggested || got[1].Message != "" {
		t.Errorf("passing check = %+v", got[1])
	}
}

func TestHintWhenUnlocksOnTheFacts(t *testing.T) {
	spec := specOf(check("web5", "kube.deployments['web'].spec.replicas == 5"))
	spec.Hints = []rotationsv1.Hint{
		{Text: "no Service yet", When: "!('web' in kube.services)"},
		{Text: "later", AfterMinutes: ptr(30)},
	}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	lab := webLab()
	res := p.Evaluate(context.Background(), lab)
	if !slices.Equal(res.HintsMet, []bool{false, false}) {
		t.Fatalf("HintsMet = %v with the Service there", res.HintsMet)
	}
	r, _ := Advance(rotationsv1.ExerciseResult{}, res, "h1", spec.Hints, now)
	if r.HintsUnlocked != 0 {
		t.Fatalf("unlocked %d hints, want none while the condition is false", r.HintsUnlocked)
	}
	delete(lab[VarKube].(map[string]any)["services"].(map[string]any), "web")
	res = p.Evaluate(context.Background(), lab)
	r, _ = Advance(r, res, "h2", spec.Hints, now)
	if r.HintsUnlocked != 1 || r.Hint != "no Service yet" {
		t.Fatalf("after deleting the Service: %d unlocked, hint %q", r.HintsUnlocked, r.Hint)
	}
	// Fixed: the hint stays shown.
	r, _ = Advance(r, p.Evaluate(context.Background(), webLab()), "h3", spec.Hints, now)
	if r.HintsUnlocked != 1 || r.Hint != "no Service yet" {
		t.Errorf("after the fix: %d unlocked, hint %q; want it kept", r.HintsUnlocked, r.Hint)
	}
}

func TestHintWhenCompileErrors(t *testing.T) {
	spec := specOf(check("a", "true"))
	spec.Hints = []rotationsv1.Hint{{Text: "x"}, {Text: "y", When: "'not a bool'"}}
	_, err := Compile(spec)
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Check != "hint 2" || !strings.Contains(err.Error(), "must evaluate to a bool") {
		t.Errorf("err = %v, want a CompileError of hint 2", err)
	}
}

func TestHintWhenErrorIsNotMet(t *testing.T) {
	spec := specOf(check("a", "true"))
	spec.Hints = []rotationsv1.Hint{{Text: "x", When: "kube.deployments['missing'].spec.replicas == 1"}}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if res := p.Evaluate(context.Background(), webLab()); !slices.Equal(res.HintsMet, []bool{false}) {
		t.Errorf("HintsMet = %v, want an erroring condition to be false", res.HintsMet)
	}
}
