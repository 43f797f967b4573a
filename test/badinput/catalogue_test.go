package badinput_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/helm"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/submission"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// badInput is one entry of the catalogue: try feeds the input and returns
// the error the system reported; want must be in it.
type badInput struct {
	area, name string
	try        func(t *testing.T) string
	want       string
}

func TestBadInputCatalogue(t *testing.T) {
	var cases []badInput
	cases = append(cases, rotationSpecCases()...)
	cases = append(cases, rotationControllerCases()...)
	cases = append(cases, exerciseAdmissionCases()...)
	cases = append(cases, exerciseCompileCases()...)
	cases = append(cases, submissionCases()...)
	cases = append(cases, helmCases()...)
	cases = append(cases, terraformStateCases()...)
	cases = append(cases, requestCases()...)

	panics := reconcilePanics(t)
	start := time.Now()
	for _, c := range cases {
		t.Run(c.area+"/"+c.name, func(t *testing.T) {
			got := c.try(t)
			if !strings.Contains(got, c.want) {
				t.Fatalf("error %q does not contain %q", truncate(got, 2000), c.want)
			}
			t.Logf("BADINPUT %s/%s: %s", c.area, c.name, truncate(got, 300))
		})
	}
	if n := reconcilePanics(t) - panics; n != 0 {
		t.Errorf("%v reconciles panicked on bad input", n)
	}
	t.Logf("BADINPUT %d bad inputs tried in %s", len(cases), time.Since(start).Round(time.Millisecond))
}

// --- LearningRotation specs, refused by admission ---

func rotationSpecCases() []badInput {
	lr := func(name, spec string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return rejected(t, admin, parseYAML("LearningRotation", "metadata: {name: "+name+"}\nspec: "+spec))
		}
	}
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	names := make([]string, 101)
	for i := range names {
		names[i] = fmt.Sprintf("ex-%d", i)
	}
	return []badInput{
		{"rotation", "name-path-traversal", lr(`"..%2f..%2fetc"`, "{learner: {name: x}}"), "metadata.name"},
		{"rotation", "name-unicode", lr("ålice", "{learner: {name: x}}"), "metadata.name"},
		{"rotation", "name-dot", lr("a.b", "{learner: {name: x}}"), "metadata.name must be a lowercase DNS label"},
		{"rotation", "name-60-chars", lr(strings.Repeat("a", 60), "{learner: {name: x}}"), "at most 59 characters"},
		{"rotation", "learner-missing", lr("r-nolearner", "{}"), "spec.learner: Required value"},
		{"rotation", "learner-empty", lr("r-empty", "{learner: {name: ''}}"), "spec.learner.name"},
		{"rotation", "learner-254-chars", lr("r-long", "{learner: {name: "+strings.Repeat("a", 254)+"}}"), "spec.learner.name: Too long"},
		{"rotation", "learner-system-group", lr("r-system", "{learner: {kind: Group, name: 'system:masters'}}"), "name must not be a system: identity"},
		{"rotation", "learner-kind", lr("r-kind", "{learner: {kind: ServiceAccount, name: x}}"), `Unsupported value: "ServiceAccount"`},
		{"rotation", "learner-kubeconfig-not-bool", lr("r-kc", "{learner: {name: x, issueKubeconfig: 'yes'}}"), "must be of type boolean"},
		{"rotation", "mentors-21", lr("r-mentors", "{learner: {name: x}, mentors: "+many(21, "{name: m}")+"}"), "must have at most 20 items"},
		{"rotation", "mentor-system-user", lr("r-msys", "{learner: {name: x}, mentors: [{name: 'system:admin'}]}"), "name must not be a system: identity"},
		{"rotation", "mentor-empty", lr("r-mempty", "{learner: {name: x}, mentors: [{name: ''}]}"), "spec.mentors[0].name"},
		{"rotation", "exercises-duplicate", lr("r-dup", "{learner: {name: x}, exercises: {names: [a, a]}}"), "Duplicate value"},
		{"rotation", "exercise-name-traversal", lr("r-trav", "{learner: {name: x}, exercises: {names: ['../secrets']}}"), "exercise names are lowercase DNS labels"},
		{"rotation", "exercise-name-unicode", lr("r-uni", "{learner: {name: x}, exercises: {names: ['übung']}}"), "exercise names are lowercase DNS labels"},
		{"rotation", "exercises-101", lr("r-many", "{learner: {name: x}, exercises: {names: ["+strings.Join(names, ",")+"]}}"), "must have at most 100 items"},
		{"rotation", "track-unknown", lr("r-track", "{learner: {name: x}, exercises: {tracks: [cooking]}}"), `Unsupported value: "cooking"`},
		{"rotation", "duration-negative", lr("r-neg", "{learner: {name: x}, schedule: {duration: -24h}}"), "duration must not be negative"},
		{"rotation", "duration-zero", lr("r-zero", "{learner: {name: x}, schedule: {duration: 0s}}"), "duration must be a positive Go duration"},
		{"rotation", "duration-garbage", lr("r-garbage", "{learner: {name: x}, schedule: {duration: 'two weeks'}}"), "duration must be a positive Go duration"},
		{"rotation", "duration-overflow", lr("r-overflow", "{learner: {name: x}, schedule: {duration: 99999999999h}}"), "spec.schedule.duration"},
		{"rotation", "duration-huge-string", lr("r-dlong", "{learner: {name: x}, schedule: {duration: "+strings.Repeat("1", 40)+"h}}"), "Too long"},
		{"rotation", "start-garbage", lr("r-start", "{learner: {name: x}, schedule: {start: yesterday}}"), "spec.schedule.start"},
		{"rotation", "retention-negative", lr("r-ret", "{learner: {name: x}, schedule: {retention: -1h}}"), "retention must not be negative"},
		{"rotation", "retention-garbage", lr("r-retg", "{learner: {name: x}, schedule: {retention: forever}}"), "retention must be a Go duration"},
		{"rotation", "size-unknown", lr("r-size", "{learner: {name: x}, size: huge}"), `Unsupported value: "huge"`},
		{"rotation", "suspend-not-bool", lr("r-susp", "{learner: {name: x}, suspend: maybe}"), "must be of type boolean"},
		{"rotation", "annotations-300KiB", func(t *testing.T) string {
			u := parseYAML("LearningRotation", "metadata: {name: r-annot}\nspec: {learner: {name: x}}")
			u.SetAnnotations(map[string]string{"x": strings.Repeat("x", 300<<10)})
			return rejected(t, admin, u)
		}, "Too long"},
		{"rotation", "learner-change", func(t *testing.T) string {
			lr := &rotationsv1.LearningRotation{}
			if err := admin.Get(context.Background(), client.ObjectKey{Name: rotationName}, lr); err != nil {
				t.Fatal(err)
			}
			lr.Spec.Learner.Name = "someone-else@example.com"
			err := admin.Update(context.Background(), lr)
			if err == nil {
				t.Fatal("learner changed")
			}
			return err.Error()
		}, "learner is immutable"},
	}
}

// --- LearningRotations admission accepts but the operator cannot act on ---

func rotationControllerCases() []badInput {
	condition := func(name string, lr *rotationsv1.LearningRotation, cond, reason string) func(t *testing.T) string {
		return func(t *testing.T) string {
			ctx := context.Background()
			if err := admin.Create(ctx, lr); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), lr) })
			var got string
			testutil.Eventually(t, 60*time.Second, func(ctx context.Context) error {
				if err := admin.Get(ctx, client.ObjectKeyFromObject(lr), lr); err != nil {
					return err
				}
				c := meta.FindStatusCondition(lr.Status.Conditions, cond)
				if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
					return fmt.Errorf("%s = %+v", cond, c)
				}
				if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
					return fmt.Errorf("Ready despite %s", reason)
				}
				got = c.Reason + ": " + c.Message
				return findEvent(ctx, "LearningRotation", name, reason, "")
			})
			return got
		}
	}
	starterEvent := func(name string, lr *rotationsv1.LearningRotation, starter string) func(t *testing.T) string {
		return func(t *testing.T) string {
			ex := exerciseYAML(starter)
			if err := admin.Create(context.Background(), ex); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), ex) })
			if err := admin.Create(context.Background(), lr); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), lr) })
			var got string
			testutil.Eventually(t, 60*time.Second, func(ctx context.Context) error {
				if err := admin.Get(ctx, client.ObjectKeyFromObject(lr), lr); err != nil {
					return err
				}
				if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
					return fmt.Errorf("Ready despite a refused starter")
				}
				if err := findEvent(ctx, "LearningRotation", name, "StarterFailed", ""); err != nil {
					return err
				}
				c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionReady)
				if c == nil {
					return fmt.Errorf("no Ready condition")
				}
				got = c.Reason + ": " + c.Message
				return nil
			})
			return got
		}
	}
	return []badInput{
		{"rotation", "exercise-not-found", condition("r-missing",
			testutil.Rotation("r-missing").Exercises("no-such-exercise").Obj(),
			rotationsv1.ConditionExercisesResolved, rotationsv1.ReasonExerciseNotFound), "no-such-exercise"},
		{"rotation", "namespace-taken", func(t *testing.T) string {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lab-r-taken"}}
			if err := admin.Create(context.Background(), ns); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), ns) })
			return condition("r-taken", testutil.Rotation("r-taken").Obj(),
				rotationsv1.ConditionLabProvisioned, "NamespaceConflict")(t)
		}, "does not belong to this rotation"},
		{"rotation", "starter-privileged-pod", starterEvent("r-priv", testutil.Rotation("r-priv").Exercises("bad-priv").Obj(), `
metadata: {name: bad-priv}
spec:
  track: kubernetes
  title: Privileged starter
  instructions: x
  starter:
    objects:
    - {apiVersion: v1, kind: Pod, metadata: {name: root}, spec: {containers: [{name: c, image: "rotation.local/web:1.0", securityContext: {privileged: true}}]}}
  checks: [{name: c, expression: "true", points: 1, message: m}]
`), "violates PodSecurity"},
		{"rotation", "starter-unknown-kind", starterEvent("r-kind", testutil.Rotation("r-kind").Exercises("bad-kind").Obj(), `
metadata: {name: bad-kind}
spec:
  track: kubernetes
  title: Unknown kind
  instructions: x
  starter:
    objects:
    - {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}
  checks: [{name: c, expression: "true", points: 1, message: m}]
`), "Widget"},
		{"rotation", "starter-cluster-scoped", starterEvent("r-crole", testutil.Rotation("r-crole").Exercises("bad-crole").Obj(), `
metadata: {name: bad-crole}
spec:
  track: kubernetes
  title: Cluster-scoped starter
  instructions: x
  starter:
    objects:
    - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: escalate}, rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]}
  checks: [{name: c, expression: "true", points: 1, message: m}]
`), "forbidden"},
	}
}

// --- Exercises, refused by admission ---

func exerciseAdmissionCases() []badInput {
	ex := func(name, spec string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return rejected(t, admin, exerciseYAML("metadata: {name: "+name+"}\nspec: "+spec))
		}
	}
	check := func(c string) string {
		return "{track: kubernetes, title: t, instructions: i, checks: [" + c + "]}"
	}
	many := func(n int, f func(i int) string) string {
		var out []string
		for i := range n {
			out = append(out, f(i))
		}
		return strings.Join(out, ",")
	}
	return []badInput{
		{"exercise", "no-checks", ex("e-none", "{track: kubernetes, title: t, instructions: i, checks: []}"), "should have at least 1 items"},
		{"exercise", "expression-empty", ex("e-empty", check(`{name: c, expression: "", points: 1, message: m}`)), "spec.checks[0].expression"},
		{"exercise", "expression-4097-chars", ex("e-huge", check(`{name: c, expression: "`+strings.Repeat("1", 4097)+`", points: 1, message: m}`)), "Too long"},
		{"exercise", "check-name-unicode", ex("e-cname", check(`{name: "prüfung", expression: "true", points: 1, message: m}`)), "check names are lowercase DNS labels"},
		{"exercise", "check-names-duplicate", ex("e-cdup", check(`{name: c, expression: "true", points: 1, message: m}, {name: c, expression: "true", points: 1, message: m}`)), "check names must be unique"},
		{"exercise", "points-negative", ex("e-pneg", check(`{name: c, expression: "true", points: -1, message: m}`)), "should be greater than or equal to 0"},
		{"exercise", "points-huge", ex("e-pbig", check(`{name: c, expression: "true", points: 99999999999, message: m}`)), "spec.checks[0].points"},
		{"exercise", "checks-33", ex("e-many", "{track: kubernetes, title: t, instructions: i, checks: ["+many(33, func(i int) string {
			return fmt.Sprintf(`{name: c%d, expression: "true", points: 1, message: m}`, i)
		})+"]}"), "must have at most 32 items"},
		{"exercise", "message-empty", ex("e-msg", check(`{name: c, expression: "true", points: 1, message: ""}`)), "spec.checks[0].message"},
		{"exercise", "track-unknown", ex("e-track", `{track: cooking, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}]}`), `Unsupported value: "cooking"`},
		{"exercise", "instructions-65537", ex("e-instr", `{track: kubernetes, title: t, instructions: "`+strings.Repeat("x", 65537)+`", checks: [{name: c, expression: "true", points: 1, message: m}]}`), "Too long"},
		{"exercise", "hints-11", ex("e-hints", `{track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], hints: [`+many(11, func(int) string { return "{text: h}" })+`]}`), "must have at most 10 items"},
		{"exercise", "hint-after-a-year", ex("e-hintmin", `{track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], hints: [{text: h, afterMinutes: 525600}]}`), "should be less than or equal to 10080"},
		{"exercise", "starter-files-21", ex("e-files", `{track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], starter: {files: {`+many(21, func(i int) string { return fmt.Sprintf("f%d: x", i) })+`}}}`), "must have at most 20 items"},
		{"exercise", "starter-object-not-object", ex("e-sobj", `{track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], starter: {objects: ["just a string"]}}`), "spec.starter.objects[0]"},
		{"exercise", "starter-objects-21", ex("e-smany", `{track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], starter: {objects: [`+many(21, func(i int) string {
			return fmt.Sprintf("{apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}}", i)
		})+`]}}`), "must have at most 20 items"},
	}
}

// --- Exercises admission accepts whose checks or starters the operator refuses ---

func exerciseCompileCases() []badInput {
	exercise := func(name, expr string) func(t *testing.T) string {
		return func(t *testing.T) string {
			b, _ := json.Marshal(expr)
			return exerciseNotReady(t, fmt.Sprintf("metadata: {name: %s}\nspec: {track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: %s, points: 1, message: m}]}", name, b))
		}
	}
	starter := func(name, obj string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return exerciseNotReady(t, fmt.Sprintf(`metadata: {name: %s}
spec: {track: kubernetes, title: t, instructions: i, checks: [{name: c, expression: "true", points: 1, message: m}], starter: {objects: [%s]}}`, name, obj))
		}
	}
	deepParens := strings.Repeat("(", 1000) + "true" + strings.Repeat(")", 1000)
	deepLists := strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + " == []"
	deepField := "kube" + strings.Repeat(".a", 1500) + " == 1"
	return []badInput{
		{"exercise", "cel-syntax-error", exercise("c-syntax", "kube.deployments["), "CheckCompileFailed"},
		{"exercise", "cel-garbage", exercise("c-garbage", "\x00\x01 ☃ )(*&^%$"), "CheckCompileFailed"},
		{"exercise", "cel-unknown-variable", exercise("c-var", "vault.secret == 'nginx'"), "undeclared reference to 'vault'"},
		{"exercise", "cel-unknown-fact", exercise("c-fact", "kube.widgets['w'].spec.size == 1"), "widgets"},
		{"exercise", "cel-secrets-fact", exercise("c-secret", "kube.secrets['learner-kubeconfig'].data.kubeconfig != ''"), "secrets"},
		{"exercise", "cel-not-bool", exercise("c-int", "1 + 1"), "CheckCompileFailed"},
		{"exercise", "cel-cost-bomb", exercise("c-cost", "kube.pods.all(a, kube.pods.all(b, kube.pods.all(c, kube.pods.all(d, a != b || c != d))))"), "exceeds the limit"},
		{"exercise", "cel-string-bomb", exercise("c-strbomb", "kube.configmaps.all(n, kube.configmaps.all(m, kube.configmaps[n].data.x.repeat(1000000) != ''))"), "CheckCompileFailed"},
		{"exercise", "cel-deep-parens", exercise("c-parens", deepParens), "CheckCompileFailed"},
		{"exercise", "cel-deep-lists", exercise("c-lists", deepLists), "CheckCompileFailed"},
		{"exercise", "cel-deep-select", exercise("c-select", deepField), "CheckCompileFailed"},
		{"exercise", "starter-no-name", starter("s-noname", "{apiVersion: v1, kind: ConfigMap, metadata: {}}"), "has no metadata.name"},
		{"exercise", "starter-no-kind", starter("s-nokind", "{metadata: {name: x}}"), "Kind"},
		{"exercise", "starter-with-namespace", starter("s-ns", "{apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: kube-system}}"), "sets metadata.namespace"},
	}
}

// --- Submissions the learner hands in (ConfigMap submission-<exercise>) ---

func submissionCases() []badInput {
	// submit replaces the learner's submission and returns what the
	// operator reported: the status's submission error and the first
	// check's message, once a Warning event InvalidSubmission says it too.
	submit := func(data map[string]string, binary map[string][]byte, label bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			ctx := context.Background()
			cm := submission.ConfigMap(labNamespace, submitEx, data, time.Now())
			cm.BinaryData = binary
			if !label {
				cm.Labels = nil
			}
			_ = learner.Delete(ctx, cm)
			if err := learner.Create(ctx, cm); err != nil {
				t.Fatalf("the learner could not hand in: %v", err)
			}
			all := maps.Clone(data)
			if all == nil {
				all = map[string]string{}
			}
			for n, b := range binary {
				all[n] = string(b)
			}
			digest := submission.Digest(all)
			var got string
			testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
				lr := grade(t)
				stillReady(t, lr)
				r := result(t, lr, submitEx)
				if r.Submission == nil || r.Submission.Digest != digest {
					return fmt.Errorf("submission %s not graded yet: %+v", digest, r.Submission)
				}
				if r.Submission.Error == "" || len(r.Checks) == 0 || r.Checks[0].Passed {
					return fmt.Errorf("bad submission accepted: %+v", r)
				}
				if err := findEvent(ctx, "LearningRotation", rotationName, rotationsv1.ReasonInvalidSubmission, r.Submission.Error); err != nil {
					return err
				}
				got = r.Submission.Error + " | check: " + r.Checks[0].Message
				return nil
			})
			return got
		}
	}
	// refused are names the apiserver refuses as ConfigMap keys before the operator sees them.
	refused := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string {
			cm := submission.ConfigMap(labNamespace, submitEx+"-x", map[string]string{name: "resource"}, time.Now())
			return rejected(t, learner, cm)
		}
	}
	// validate runs the check kubectl rotation submit makes before upload.
	validate := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string {
			err := submission.Validate(map[string]string{name: "resource"}, nil)
			if err == nil {
				t.Fatalf("%q accepted", name)
			}
			return err.Error()
		}
	}
	tooMany := map[string]string{}
	for i := range submission.MaxFiles + 1 {
		tooMany[fmt.Sprintf("f%02d.tf", i)] = "resource"
	}
	tooBigInAll := map[string]string{}
	for i := range 5 {
		tooBigInAll[fmt.Sprintf("part%d.tf", i)] = strings.Repeat("#", 60<<10)
	}
	return []badInput{
		{"submission", "empty", submit(nil, nil, true), "the submission has no files"},
		{"submission", "binary-file", submit(map[string]string{"main.tf": "resource"}, map[string][]byte{"terraform.exe": {0x7f, 'E', 'L', 'F', 0, 1}}, true), "binary files are not accepted"},
		{"submission", "nul-in-text", submit(map[string]string{"main.tf": "resource\x00"}, nil, true), "not UTF-8 text"},
		{"submission", "hidden-file", submit(map[string]string{".terraformrc": "resource"}, nil, true), "hidden files"},
		{"submission", "too-many-files", submit(tooMany, nil, true), "over the limit of 32"},
		{"submission", "file-too-big", submit(map[string]string{"main.tf": strings.Repeat("#", submission.MaxFileBytes+1)}, nil, true), "per file"},
		{"submission", "too-big-in-all", submit(tooBigInAll, nil, true), "in all"},
		{"submission", "not-labelled", submit(map[string]string{"main.tf": "resource"}, nil, false), "labelled"},
		{"submission", "apiserver-refuses-path-traversal", refused("../../etc/passwd"), "must consist of alphanumeric characters"},
		{"submission", "apiserver-refuses-dotdot", refused(".."), "must not be '..'"},
		{"submission", "apiserver-refuses-unicode", refused("résumé.tf"), "must consist of alphanumeric characters"},
		{"submission", "cli-refuses-path-traversal", validate("../../etc/passwd"), "not paths"},
		{"submission", "cli-refuses-backslash", validate(`..\..\windows\win.ini`), "not paths"},
		{"submission", "cli-refuses-unicode", validate("名前.tf"), "must consist of alphanumeric characters"},
		{"submission", "cli-refuses-rtl-override", validate("main\u202egpj.tf"), "must consist of alphanumeric characters"},
	}
}

// --- Helm release Secrets the learner writes ---

func helmCases() []badInput {
	release := func(manifest string) []byte {
		b, _ := json.Marshal(map[string]any{
			"name": "web", "namespace": labNamespace, "version": 1,
			"info":     map[string]any{"status": "deployed", "description": "Install complete"},
			"chart":    map[string]any{"metadata": map[string]any{"name": "web", "version": "0.1.0"}},
			"manifest": manifest,
		})
		return b
	}
	deep := []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))
	hugeManifest := strings.Repeat("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: "+strings.Repeat("v", 200)+"}\n", 20000)
	// store writes a release Secret as the learner and returns the release's
	// error as the helm facts hold it, after checking that the operator's
	// grading failed the exercise's check and kept the rotation Ready.
	store := func(payload []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			ctx := context.Background()
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.web.v1", Namespace: labNamespace,
					Labels: map[string]string{"owner": "helm", "name": "web", "version": "1", "status": "deployed"}},
				Type: "helm.sh/release.v1",
				Data: map[string][]byte{"release": payload},
			}
			if err := learner.Create(ctx, s); err != nil {
				t.Fatalf("the learner could not write the release: %v", err)
			}
			t.Cleanup(func() {
				_ = learner.Delete(context.Background(), s)
				// The next case starts from a lab whose releases decode.
				testutil.Eventually(t, 30*time.Second, func(context.Context) error {
					if r := result(t, grade(t), helmEx); len(r.Checks) == 0 || !r.Checks[0].Passed {
						return fmt.Errorf("check still failing after the bad release was removed: %+v", r.Checks)
					}
					return nil
				})
			})
			var check string
			testutil.Eventually(t, 30*time.Second, func(context.Context) error {
				lr := grade(t)
				stillReady(t, lr)
				r := result(t, lr, helmEx)
				if len(r.Checks) == 0 || r.Checks[0].Passed {
					return fmt.Errorf("the check passed over a bad release: %+v", r.Checks)
				}
				check = r.Checks[0].Message
				return nil
			})
			facts, err := (&helm.Collector{Reader: admin}).Collect(ctx, labNamespace)
			if err != nil {
				t.Fatalf("collecting helm facts: %v", err)
			}
			rel, _ := facts["releases"].(map[string]any)["web"].(map[string]any)
			msg, _ := rel["error"].(string)
			if msg == "" {
				t.Fatalf("release web has no error: %v", rel)
			}
			return msg + " | check: " + check
		}
	}
	return []badInput{
		{"helm", "garbage-base64", store([]byte("!!! this is not base64 ☃ !!!")), "release secret sh.helm.release.v1.web.v1"},
		{"helm", "base64-of-garbage", store(b64([]byte("\x00\x01\x02garbage"))), "json"},
		{"helm", "truncated-gzip", store(b64(gz(release("a: 1"))[:20])), "gzip"},
		{"helm", "gzip-bomb-256MiB", store(b64(gzZeros(256 << 20))), "decompresses to over 8 MiB"},
		{"helm", "deep-json-nesting", store(b64(gz(deep))), "json"},
		{"helm", "not-a-release", store(b64(gz([]byte(`{"hello":"world"}`)))), "not a Helm release"},
		{"helm", "huge-manifest", store(b64(gz(release(hugeManifest)))), "manifest is"},
		{"helm", "manifest-garbage-yaml", store(b64(gz(release("---\n: : :\n\t- [\n")))), "manifest"},
		{"helm", "apiserver-refuses-over-1MiB", func(t *testing.T) string {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.big.v1", Namespace: labNamespace,
				Labels: map[string]string{"owner": "helm", "name": "big", "version": "1"}},
				Data: map[string][]byte{"release": []byte(strings.Repeat("A", 1100<<10))}}
			return rejected(t, learner, s)
		}, "Too long"},
	}
}

// --- Terraform state Secrets the learner's backend writes ---

// The operator decodes tfstate-default-<exercise> when the learner resets
// the exercise, to delete the objects the state manages
// (terraform.StateObjects). A state it cannot decode manages nothing it can
// name: the reset is still served (the state itself is deleted), the
// rotation stays Ready, and the decoder's error is bounded and clear.
func terraformStateCases() []badInput {
	state := func(payload []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			ctx := context.Background()
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "tfstate-default-" + terraformEx, Namespace: labNamespace,
					Labels: map[string]string{"app.kubernetes.io/managed-by": "terraform", "tfstate": "true",
						"tfstateSecretSuffix": terraformEx, "tfstateWorkspace": "default"}},
				Data: map[string][]byte{"tfstate": payload},
			}
			if err := learner.Create(ctx, s); err != nil {
				t.Fatalf("the learner could not write the state: %v", err)
			}
			t.Cleanup(func() { _ = learner.Delete(context.Background(), s) })
			_, decodeErr := tf.StateObjects(payload)
			req := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: rotationsv1.RequestResetPrefix + terraformEx, Namespace: labNamespace,
					Labels: map[string]string{rotationsv1.LabelRequest: rotationsv1.RequestReset}},
				Data: map[string]string{rotationsv1.RequestKeyExercise: terraformEx,
					rotationsv1.RequestKeyRequestedAt: time.Now().UTC().Format(time.RFC3339)},
			}
			if err := learner.Create(ctx, req); err != nil {
				t.Fatalf("the learner could not request a reset: %v", err)
			}
			testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
				for _, obj := range []client.Object{req, s} {
					if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object)); !apierrors.IsNotFound(err) {
						return fmt.Errorf("reset not served: %s %s still there (%w)", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
					}
				}
				return nil
			})
			stillReady(t, grade(t))
			return fmt.Sprintf("reset served, state deleted; its objects unreadable: %v", decodeErr)
		}
	}
	return []badInput{
		{"terraform-state", "garbage", state([]byte("\x00garbage☃")), "invalid character"},
		{"terraform-state", "gzip-bomb-256MiB", state(gzZeros(256 << 20)), "over 16777216 bytes"},
		{"terraform-state", "deep-json-nesting", state(gz([]byte(strings.Repeat("[", 50000) + strings.Repeat("]", 50000)))), "exceeded max depth"},
	}
}
