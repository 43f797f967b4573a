package grading

import (
	"regexp"
	"sort"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// t0 is deliberately not UTC and not on a second: stamps are UTC seconds.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 700_000_000, time.FixedZone("CET", 3600))

func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// graded is a Result with points out of 10 and the matching flags.
func graded(points int32) Result {
	r := Result{Points: points, MaxPoints: 10, Passed: points == 10, AnyPassed: points > 0}
	r.Checks = []rotationsv1.CheckResult{{Name: "a", Passed: r.Passed, Points: points}}
	if !r.Passed {
		r.Checks[0].Message = "not yet"
	}
	return r
}

type step struct {
	name   string
	at     time.Duration // after t0
	hash   string
	points int32

	state                    rotationsv1.ExerciseState
	transition               Transition
	attempts, failedAttempts int32
	bestPoints               int32
	startedAt                *time.Duration // nil: not started
	firstPassedAt            *time.Duration
	lastGradedAt             time.Duration
}

func after(d time.Duration) *time.Duration { return &d }

func TestAdvanceLifecycle(t *testing.T) {
	steps := []step{
		{name: "baseline", at: 0, hash: "h0", points: 0,
			state: rotationsv1.ExerciseNotStarted, lastGradedAt: 0},
		{name: "same facts again", at: time.Minute, hash: "h0", points: 0,
			state: rotationsv1.ExerciseNotStarted, lastGradedAt: 0},
		{name: "first change", at: 2 * time.Minute, hash: "h1", points: 4,
			state: rotationsv1.ExerciseInProgress, attempts: 1, failedAttempts: 1, bestPoints: 4,
			startedAt: after(2 * time.Minute), lastGradedAt: 2 * time.Minute},
		{name: "unchanged facts are no attempt", at: 3 * time.Minute, hash: "h1", points: 4,
			state: rotationsv1.ExerciseInProgress, attempts: 1, failedAttempts: 1, bestPoints: 4,
			startedAt: after(2 * time.Minute), lastGradedAt: 2 * time.Minute},
		{name: "all pass", at: 5 * time.Minute, hash: "h2", points: 10,
			state: rotationsv1.ExercisePassed, transition: TransitionPassed, attempts: 2, failedAttempts: 1, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 5 * time.Minute},
		{name: "still passing", at: 6 * time.Minute, hash: "h2", points: 10,
			state: rotationsv1.ExercisePassed, attempts: 2, failedAttempts: 1, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 5 * time.Minute},
		{name: "broken", at: 8 * time.Minute, hash: "h3", points: 6,
			state: rotationsv1.ExerciseFailed, transition: TransitionRegressed, attempts: 3, failedAttempts: 2, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 8 * time.Minute},
		{name: "still broken", at: 9 * time.Minute, hash: "h3", points: 6,
			state: rotationsv1.ExerciseFailed, attempts: 3, failedAttempts: 2, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 8 * time.Minute},
		{name: "broken differently", at: 10 * time.Minute, hash: "h4", points: 0,
			state: rotationsv1.ExerciseFailed, attempts: 4, failedAttempts: 3, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 10 * time.Minute},
		{name: "fixed again", at: 12 * time.Minute, hash: "h5", points: 10,
			state: rotationsv1.ExercisePassed, transition: TransitionPassed, attempts: 5, failedAttempts: 3, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 12 * time.Minute},
		{name: "passing, facts changed", at: 13 * time.Minute, hash: "h6", points: 10,
			state: rotationsv1.ExercisePassed, attempts: 6, failedAttempts: 3, bestPoints: 10,
			startedAt: after(2 * time.Minute), firstPassedAt: after(5 * time.Minute), lastGradedAt: 13 * time.Minute},
	}
	var r rotationsv1.ExerciseResult
	r.Name = "scale-and-expose"
	for _, s := range steps {
		res := graded(s.points)
		next, tr := Advance(r, res, s.hash, nil, t0.Add(s.at))
		checkStep(t, s, next, tr)
		if next.Name != "scale-and-expose" || next.Points != s.points || next.MaxPoints != 10 || next.FactsHash != s.hash {
			t.Errorf("%s: name %q points %d/%d hash %q", s.name, next.Name, next.Points, next.MaxPoints, next.FactsHash)
		}
		if len(next.Checks) != 1 || next.Checks[0] != res.Checks[0] {
			t.Errorf("%s: checks %+v, want %+v", s.name, next.Checks, res.Checks)
		}
		r = next
	}
}

func checkStep(t *testing.T, s step, r rotationsv1.ExerciseResult, tr Transition) {
	t.Helper()
	if r.State != s.state || tr != s.transition {
		t.Errorf("%s: state %s transition %q, want %s %q", s.name, r.State, tr, s.state, s.transition)
	}
	if r.Attempts != s.attempts || r.FailedAttempts != s.failedAttempts || r.BestPoints != s.bestPoints {
		t.Errorf("%s: attempts %d failed %d best %d, want %d %d %d", s.name,
			r.Attempts, r.FailedAttempts, r.BestPoints, s.attempts, s.failedAttempts, s.bestPoints)
	}
	checkTime(t, s.name+": StartedAt", r.StartedAt, s.startedAt)
	checkTime(t, s.name+": FirstPassedAt", r.FirstPassedAt, s.firstPassedAt)
	checkTime(t, s.name+": LastGradedAt", r.LastGradedAt, &s.lastGradedAt)
}

// checkTime compares a recorded stamp with t0+want (nil: unset).
func checkTime(t *testing.T, what string, got *metav1.Time, want *time.Duration) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s = %v, want unset", what, got)
	case want != nil && got == nil:
		t.Errorf("%s unset, want t0+%v", what, *want)
	case want != nil && !got.Time.Equal(stamp(t0.Add(*want))):
		t.Errorf("%s = %v, want t0+%v = %v", what, got.Time, *want, stamp(t0.Add(*want)))
	case got != nil && (got.Location() != time.UTC || got.Nanosecond() != 0):
		t.Errorf("%s = %v, want a UTC stamp in whole seconds", what, got.Time)
	}
}

func TestAdvanceDoesNotModifyPrev(t *testing.T) {
	prev, _ := Advance(rotationsv1.ExerciseResult{}, graded(4), "h0", nil, t0)
	prev, _ = Advance(prev, graded(4), "h1", nil, t0.Add(time.Minute))
	before := *prev.DeepCopy()
	_, _ = Advance(prev, graded(10), "h2", nil, t0.Add(2*time.Minute))
	if !equality.Semantic.DeepEqual(prev, before) {
		t.Errorf("Advance changed prev:\n%+v\n%+v", prev, before)
	}
}

func TestAdvanceBaselinePassingStarterChecks(t *testing.T) {
	// Checks the starter objects satisfy do not start the exercise, and
	// earn no credit until the learner starts.
	r, tr := Advance(rotationsv1.ExerciseResult{}, graded(4), "h0", nil, t0)
	checkStep(t, step{name: "baseline", state: rotationsv1.ExerciseNotStarted}, r, tr)
	if r.Points != 4 {
		t.Errorf("points %d, want 4", r.Points)
	}
	r, tr = Advance(r, graded(4), "h0", nil, t0.Add(time.Minute))
	checkStep(t, step{name: "regraded", state: rotationsv1.ExerciseNotStarted}, r, tr)
	r, tr = Advance(r, graded(2), "h1", nil, t0.Add(2*time.Minute))
	checkStep(t, step{name: "first change", state: rotationsv1.ExerciseInProgress, attempts: 1, failedAttempts: 1,
		bestPoints: 2, startedAt: after(2 * time.Minute), lastGradedAt: 2 * time.Minute}, r, tr)
}

func TestAdvanceBaselineAlreadyPassing(t *testing.T) {
	// The learner solved it before the first grading: no attempt was seen,
	// but the exercise is started and passed.
	r, tr := Advance(rotationsv1.ExerciseResult{}, graded(10), "h0", nil, t0)
	checkStep(t, step{name: "baseline", state: rotationsv1.ExercisePassed, transition: TransitionPassed, bestPoints: 10,
		startedAt: after(0), firstPassedAt: after(0)}, r, tr)
	r, tr = Advance(r, graded(10), "h0", nil, t0.Add(time.Minute))
	if tr != NoTransition || r.State != rotationsv1.ExercisePassed || r.Attempts != 0 {
		t.Errorf("regrading: %s %q attempts %d", r.State, tr, r.Attempts)
	}
}

func ptr(i int32) *int32 { return &i }

func hint(text string, minutes, failed *int32) rotationsv1.Hint {
	return rotationsv1.Hint{Text: text, AfterMinutes: minutes, AfterFailedAttempts: failed}
}

func TestHintsUnlock(t *testing.T) {
	hints := []rotationsv1.Hint{
		hint("read the docs", nil, nil),         // at once
		hint("look at replicas", ptr(10), nil),  // 10 minutes after starting
		hint("check the selector", nil, ptr(2)), // after 2 failed attempts
		hint("ports", ptr(5), nil),              // 5 minutes, but only after the previous ones
		hint("the answer", ptr(30), ptr(5)),     // 30 minutes or 5 failed attempts
	}
	type want struct {
		unlocked int32
		hint     string
		next     time.Duration // after t0; 0: none
	}
	started := 25 * time.Minute
	steps := []struct {
		name   string
		at     time.Duration
		hash   string
		points int32
		want   want
	}{
		{"baseline: only the unconditional hint", 0, "h0", 0, want{1, "read the docs", 0}},
		{"not started: time does not count", 20 * time.Minute, "h0", 0, want{1, "read the docs", 0}},
		{"first attempt starts the clock", started, "h1", 3, want{1, "read the docs", started + 10*time.Minute}},
		{"a second before ten minutes", started + 10*time.Minute - time.Second, "h1", 3, want{1, "read the docs", started + 10*time.Minute}},
		{"ten minutes", started + 10*time.Minute, "h1", 3, want{2, "look at replicas", 0}},
		{"one more minute, no attempt", started + 11*time.Minute, "h1", 3, want{2, "look at replicas", 0}},
		{"second failed attempt unlocks the next two", started + 12*time.Minute, "h2", 5, want{4, "ports", started + 30*time.Minute}},
		{"thirty minutes", started + 30*time.Minute, "h2", 5, want{5, "the answer", 0}},
	}
	var r rotationsv1.ExerciseResult
	for _, s := range steps {
		next, _ := Advance(r, graded(s.points), s.hash, hints, t0.Add(s.at))
		if next.HintsUnlocked != s.want.unlocked || next.Hint != s.want.hint {
			t.Errorf("%s: %d hints, newest %q; want %d %q", s.name, next.HintsUnlocked, next.Hint, s.want.unlocked, s.want.hint)
		}
		got := NextHintAt(hints, next)
		switch {
		case s.want.next == 0 && !got.IsZero():
			t.Errorf("%s: NextHintAt = %v, want none", s.name, got)
		case s.want.next != 0 && !got.Equal(stamp(t0.Add(s.want.next))):
			t.Errorf("%s: NextHintAt = %v, want t0+%v", s.name, got, s.want.next)
		}
		r = next
	}
}

func TestHintsUnlockByFailedAttempts(t *testing.T) {
	hints := []rotationsv1.Hint{hint("one", nil, ptr(1)), hint("two", ptr(600), ptr(3))}
	var r rotationsv1.ExerciseResult
	wants := []int32{0, 1, 1, 2}
	for i, want := range wants {
		// Each grading changes the facts and fails, a second apart.
		r, _ = Advance(r, graded(1), string(rune('a'+i)), hints, t0.Add(time.Duration(i)*time.Second))
		if r.HintsUnlocked != want {
			t.Errorf("after %d failed attempts: %d hints, want %d", r.FailedAttempts, r.HintsUnlocked, want)
		}
	}
	if r.FailedAttempts != 3 || r.Hint != "two" {
		t.Errorf("failed %d, hint %q", r.FailedAttempts, r.Hint)
	}
	// Passing attempts do not count towards a hint.
	r = rotationsv1.ExerciseResult{}
	r, _ = Advance(r, graded(0), "a", hints, t0)
	r, _ = Advance(r, graded(10), "b", hints, t0)
	if r.FailedAttempts != 0 || r.HintsUnlocked != 0 {
		t.Errorf("after a passing attempt: failed %d, %d hints", r.FailedAttempts, r.HintsUnlocked)
	}
}

func TestHintsUnlockInOrder(t *testing.T) {
	// The second hint's time comes first; it still waits for the first.
	hints := []rotationsv1.Hint{hint("slow", ptr(20), nil), hint("quick", ptr(1), nil), hint("at once", nil, nil)}
	r, _ := Advance(rotationsv1.ExerciseResult{}, graded(0), "h0", hints, t0)
	if r.HintsUnlocked != 0 || r.Hint != "" {
		t.Errorf("baseline: %d hints, %q", r.HintsUnlocked, r.Hint)
	}
	r, _ = Advance(r, graded(0), "h1", hints, t0)
	start := stamp(t0)
	for _, tc := range []struct {
		at   time.Duration
		want int32
	}{{0, 0}, {time.Minute, 0}, {19 * time.Minute, 0}, {20 * time.Minute, 3}} {
		next, _ := Advance(r, graded(0), "h1", hints, start.Add(tc.at))
		if next.HintsUnlocked != tc.want {
			t.Errorf("at start+%v: %d hints, want %d", tc.at, next.HintsUnlocked, tc.want)
		}
		if tc.want == 0 {
			if got := NextHintAt(hints, next); !got.Equal(start.Add(20 * time.Minute)) {
				t.Errorf("at start+%v: NextHintAt %v, want start+20m", tc.at, got)
			}
		} else if got := NextHintAt(hints, next); !got.IsZero() {
			t.Errorf("all unlocked: NextHintAt %v", got)
		}
	}
}

func TestNextHintAt(t *testing.T) {
	start := metav1.NewTime(stamp(t0))
	hints := []rotationsv1.Hint{hint("a", nil, nil), hint("b", ptr(15), ptr(2)), hint("c", nil, ptr(4))}
	for _, tc := range []struct {
		name string
		r    rotationsv1.ExerciseResult
		want time.Time
	}{
		{"not started", rotationsv1.ExerciseResult{HintsUnlocked: 1}, time.Time{}},
		{"next is timed", rotationsv1.ExerciseResult{HintsUnlocked: 1, StartedAt: &start}, start.Add(15 * time.Minute)},
		{"next is by attempts only", rotationsv1.ExerciseResult{HintsUnlocked: 2, StartedAt: &start}, time.Time{}},
		{"all unlocked", rotationsv1.ExerciseResult{HintsUnlocked: 3, StartedAt: &start}, time.Time{}},
		{"more unlocked than hints", rotationsv1.ExerciseResult{HintsUnlocked: 7, StartedAt: &start}, time.Time{}},
	} {
		if got := NextHintAt(hints, tc.r); !got.Equal(tc.want) {
			t.Errorf("%s: NextHintAt = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := NextHintAt(nil, rotationsv1.ExerciseResult{StartedAt: &start}); !got.IsZero() {
		t.Errorf("no hints: %v", got)
	}
}

func labFacts(replicas int64, port int64) map[string]any {
	return map[string]any{
		VarKube: map[string]any{
			"deployments": map[string]any{"web": deployment("web", replicas, "nginx:1.27"), "api": deployment("api", 1, "api:v2")},
			"services":    map[string]any{"web": service("web", port)},
			"pods":        map[string]any{"web-1": map[string]any{"metadata": map[string]any{"name": "web-1"}}},
		},
		VarLab: map[string]any{"namespace": "lab-a"},
	}
}

// reversed builds the same facts, inserting every map's keys in the
// opposite order (and going through a fresh allocation).
func reversed(v any) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
		out := make(map[string]any)
		for _, k := range keys {
			out[k] = reversed(v[k])
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = reversed(v[i])
		}
		return out
	}
	return v
}

func mustHash(t *testing.T, vars map[string]any, facts ...string) string {
	t.Helper()
	h, err := HashFacts(vars, facts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashFacts(t *testing.T) {
	facts := []string{"kube.deployments", "kube.services"}
	base := mustHash(t, labFacts(3, 80), facts...)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(base) {
		t.Errorf("hash %q is not 16 hex digits", base)
	}
	for i := range 20 {
		if h := mustHash(t, reversed(labFacts(3, 80)).(map[string]any), facts...); h != base {
			t.Fatalf("round %d: equal facts built in another order hash %s, want %s", i, h, base)
		}
	}
	if h := mustHash(t, labFacts(3, 80), "kube.services", "kube.deployments"); h != base {
		t.Errorf("the order of the fact list changed the hash")
	}

	differ := map[string]map[string]any{
		"replicas": labFacts(2, 80),
		"port":     labFacts(3, 8080),
	}
	f := labFacts(3, 80)
	delete(f[VarKube].(map[string]any)["deployments"].(map[string]any), "api")
	differ["object removed"] = f
	f = labFacts(3, 80)
	f[VarKube].(map[string]any)["services"].(map[string]any)["web"].(map[string]any)["metadata"].(map[string]any)["labels"] = map[string]any{"tier": "front"}
	differ["label added"] = f
	f = labFacts(3, 80)
	delete(f[VarKube].(map[string]any), "services")
	differ["fact missing"] = f
	seen := map[string]string{base: "base"}
	for name, vars := range differ {
		h := mustHash(t, vars, facts...)
		if other, dup := seen[h]; dup {
			t.Errorf("%s hashes like %s: %s", name, other, h)
		}
		seen[h] = name
	}

	// Only the listed facts count.
	f = labFacts(3, 80)
	f[VarKube].(map[string]any)["pods"] = map[string]any{}
	f[VarLab] = map[string]any{"namespace": "lab-b"}
	if h := mustHash(t, f, facts...); h != base {
		t.Errorf("unlisted facts changed the hash")
	}
	if mustHash(t, labFacts(3, 80), "kube.deployments") == base {
		t.Errorf("a shorter fact list hashes like the longer one")
	}
	if mustHash(t, labFacts(3, 80), "kube.deployments") != mustHash(t, labFacts(3, 8080), "kube.deployments") {
		t.Errorf("a service port changed the hash of deployments")
	}
}

func TestHashFactsIgnoresStatus(t *testing.T) {
	// Controllers update status on their own: only the learner's side counts.
	a := labFacts(3, 80)
	b := labFacts(3, 80)
	web := b[VarKube].(map[string]any)["deployments"].(map[string]any)["web"].(map[string]any)
	web["status"] = map[string]any{"availableReplicas": int64(1)}
	if mustHash(t, a, "kube.deployments") != mustHash(t, b, "kube.deployments") {
		t.Errorf("a status change changed the hash")
	}
	if web["status"] == nil || a[VarKube].(map[string]any)["deployments"].(map[string]any)["web"].(map[string]any)["status"] == nil {
		t.Errorf("HashFacts removed status from the facts themselves")
	}
}

// TestHashFactsIgnoresControllerAnnotations: kube-controller-manager gives a
// new Deployment its first annotation (deployment.kubernetes.io/revision)
// together with its status. Measured in the scale benchmark: that counted as
// an attempt on every new lab. A learner's own annotation still counts.
func TestHashFactsIgnoresControllerAnnotations(t *testing.T) {
	a := labFacts(3, 80)
	b := labFacts(3, 80)
	web := b[VarKube].(map[string]any)["deployments"].(map[string]any)["web"].(map[string]any)
	meta, _ := web["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{"name": "web"}
		web["metadata"] = meta
	}
	meta["annotations"] = map[string]any{"deployment.kubernetes.io/revision": "1"}
	web["status"] = map[string]any{"observedGeneration": int64(1), "replicas": int64(3)}
	if mustHash(t, a, "kube.deployments") != mustHash(t, b, "kube.deployments") {
		t.Errorf("the controller's first annotation changed the hash")
	}
	meta["annotations"] = map[string]any{"deployment.kubernetes.io/revision": "1", "team": "blue"}
	if mustHash(t, a, "kube.deployments") == mustHash(t, b, "kube.deployments") {
		t.Errorf("the learner's annotation did not change the hash")
	}
}

// TestHashFactsIgnoresControlledObjects: pods and ReplicaSets that
// controllers create, bind and scale for a Deployment are not the learner's
// attempts; a bare pod the learner made is.
func TestHashFactsIgnoresControlledObjects(t *testing.T) {
	pods := func(extra map[string]any) map[string]any {
		p := map[string]any{"bare": map[string]any{"metadata": map[string]any{"name": "bare"}, "spec": map[string]any{"image": "nginx:1"}}}
		for k, v := range extra {
			p[k] = v
		}
		return map[string]any{VarKube: map[string]any{"pods": p}}
	}
	owned := func(node string) map[string]any {
		return map[string]any{
			"metadata": map[string]any{"name": "web-abc", "ownerReferences": []any{map[string]any{"kind": "ReplicaSet", "name": "web-1", "controller": true}}},
			"spec":     map[string]any{"nodeName": node},
		}
	}
	base := mustHash(t, pods(nil), "kube.pods")
	if mustHash(t, pods(map[string]any{"web-abc": owned("")}), "kube.pods") != base ||
		mustHash(t, pods(map[string]any{"web-abc": owned("node-1")}), "kube.pods") != base {
		t.Error("a ReplicaSet's pod appearing or being bound changed the hash")
	}
	notController := owned("")
	notController["metadata"].(map[string]any)["ownerReferences"].([]any)[0].(map[string]any)["controller"] = false
	if mustHash(t, pods(map[string]any{"web-abc": notController}), "kube.pods") == base {
		t.Error("an object with an owner but no controller was left out")
	}
	changed := pods(nil)
	changed[VarKube].(map[string]any)["pods"].(map[string]any)["bare"].(map[string]any)["spec"] = map[string]any{"image": "nginx:2"}
	if mustHash(t, changed, "kube.pods") == base {
		t.Error("the learner's own pod changed and the hash did not")
	}
}

func TestHashFactsOddShapes(t *testing.T) {
	for name, vars := range map[string]map[string]any{
		"nil":           nil,
		"kube a string": {VarKube: "x"},
		"fact a string": {VarKube: map[string]any{"deployments": "x"}},
		"object a list": {VarKube: map[string]any{"deployments": map[string]any{"web": []any{1}}}},
	} {
		if _, err := HashFacts(vars, []string{"kube.deployments", "lab", "nodot"}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := HashFacts(map[string]any{VarKube: map[string]any{"deployments": map[string]any{"f": func() {}}}}, []string{"kube.deployments"}); err == nil {
		t.Errorf("unencodable facts hashed without an error")
	}
}

// After a reset (the controller sets the state back to InProgress and clears
// the facts baseline), failing checks are work ahead, not a regression;
// credit and the first pass stay; passing again is a pass, and breaking it
// after that is a regression again.
func TestAdvanceAfterReset(t *testing.T) {
	passed, _ := Advance(rotationsv1.ExerciseResult{FactsHash: "h0"}, graded(10), "h1", nil, t0)
	if passed.State != rotationsv1.ExercisePassed || passed.BestPoints != 10 {
		t.Fatalf("setup: %+v", passed)
	}
	reset := *passed.DeepCopy()
	reset.State, reset.FactsHash, reset.Resets = rotationsv1.ExerciseInProgress, "", 1
	reset.LastResetAt = &metav1.Time{Time: stamp(t0.Add(time.Minute))}

	steps := []struct {
		name       string
		hash       string
		points     int32
		state      rotationsv1.ExerciseState
		transition Transition
		attempts   int32
	}{
		{"baseline after the reset is no attempt and no regression", "h-start", 0, rotationsv1.ExerciseInProgress, NoTransition, 1},
		{"work after the reset", "h2", 5, rotationsv1.ExerciseInProgress, NoTransition, 2},
		{"passes again", "h3", 10, rotationsv1.ExercisePassed, TransitionPassed, 3},
		{"breaks it: a regression again", "h4", 5, rotationsv1.ExerciseFailed, TransitionRegressed, 4},
	}
	cur := reset
	for i, st := range steps {
		next, tr := Advance(cur, graded(st.points), st.hash, nil, t0.Add(time.Duration(2+i)*time.Minute))
		if next.State != st.state || tr != st.transition || next.Attempts != st.attempts {
			t.Errorf("%s: state %s transition %q attempts %d, want %s %q %d", st.name, next.State, tr, next.Attempts, st.state, st.transition, st.attempts)
		}
		if next.BestPoints != 10 || next.FirstPassedAt == nil || !next.FirstPassedAt.Equal(passed.FirstPassedAt) || next.Resets != 1 {
			t.Errorf("%s: credit not kept: best %d firstPassedAt %v resets %d", st.name, next.BestPoints, next.FirstPassedAt, next.Resets)
		}
		cur = next
	}
}

// TestBestPoints: the credit policy, one grading at a time. Credit counts
// from the learner's first change, only ever rises, and survives a
// regression and a reset.
func TestBestPoints(t *testing.T) {
	started := &metav1.Time{Time: stamp(t0)}
	tests := []struct {
		name   string
		prev   rotationsv1.ExerciseResult
		hash   string
		points int32
		best   int32
	}{
		{"baseline earns nothing", rotationsv1.ExerciseResult{}, "h0", 6, 0},
		{"unchanged facts earn nothing", rotationsv1.ExerciseResult{FactsHash: "h0"}, "h0", 6, 0},
		{"the first change earns its points", rotationsv1.ExerciseResult{FactsHash: "h0"}, "h1", 6, 6},
		{"passing outright earns at once", rotationsv1.ExerciseResult{}, "h0", 10, 10},
		{"more points raise the best", rotationsv1.ExerciseResult{FactsHash: "h1", StartedAt: started, BestPoints: 4}, "h2", 6, 6},
		{"fewer points keep the best", rotationsv1.ExerciseResult{FactsHash: "h1", StartedAt: started, BestPoints: 8}, "h2", 2, 8},
		{"a regression keeps the credit", rotationsv1.ExerciseResult{FactsHash: "h1", StartedAt: started, State: rotationsv1.ExercisePassed, FirstPassedAt: started, BestPoints: 10}, "h2", 0, 10},
		{"a reset keeps the credit", rotationsv1.ExerciseResult{StartedAt: started, State: rotationsv1.ExerciseInProgress, FirstPassedAt: started, BestPoints: 10, Resets: 1}, "h-start", 0, 10},
	}
	for _, tt := range tests {
		next, _ := Advance(tt.prev, graded(tt.points), tt.hash, nil, t0.Add(time.Minute))
		if next.BestPoints != tt.best || next.Points != tt.points {
			t.Errorf("%s: best %d points %d, want best %d points %d", tt.name, next.BestPoints, next.Points, tt.best, tt.points)
		}
	}
}
