package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource/builtin"
)

// TestResetTargets: a reset deletes the starter objects, then what each
// source names (the objects a Terraform state manages, but not imported lab
// plumbing or objects of other namespaces, then the state and its lock),
// each once; the Helm releases the checks name are cleaned up after, by
// their storage Secrets only.
func TestResetTargets(t *testing.T) {
	ctx := context.Background()
	const ns = "lab-r1"
	state := `{"version":4,"resources":[
	 {"mode":"managed","type":"kubernetes_config_map_v1","name":"app","instances":[{"attributes":{"metadata":[{"name":"app","namespace":"lab-r1"}]}}]},
	 {"mode":"managed","type":"kubernetes_config_map_v1","name":"plumbing","instances":[{"attributes":{"metadata":[{"name":"lab-plumbing","namespace":"lab-r1"}]}}]},
	 {"mode":"managed","type":"kubernetes_config_map_v1","name":"elsewhere","instances":[{"attributes":{"metadata":[{"name":"app","namespace":"other"}]}}]},
	 {"mode":"managed","type":"kubernetes_deployment","name":"gone","instances":[{"attributes":{"metadata":[{"name":"gone","namespace":"lab-r1"}]}}]}
	]}`
	helmSecret := func(name, release string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"owner": "helm", "name": release}}}
	}
	c := fake.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tfstate-default-web", Namespace: ns}, Data: map[string][]byte{"tfstate": []byte(state)}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "lab-plumbing", Namespace: ns,
			Labels: map[string]string{rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue}}},
		helmSecret("sh.helm.release.v1.web.v1", "web"), helmSecret("sh.helm.release.v1.web.v2", "web"),
		helmSecret("sh.helm.release.v1.webapp.v1", "webapp"),
	).Build()
	r := &LearningRotationReconciler{Sources: builtin.Sources(builtin.Deps{Reader: c})}
	spec := rotationsv1.ExerciseSpec{
		Checks: []rotationsv1.Check{{Name: "installed", Expression: `helm.releases['web'].status == 'deployed'`, Points: 1, Message: "install web"}},
		Starter: rotationsv1.Starter{Objects: []rotationsv1.StarterObject{
			{RawExtension: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"starter"}}`)}},
			{RawExtension: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app"}}`)}},
		}},
	}
	prog, err := grading.Compile(&spec)
	if err != nil {
		t.Fatal(err)
	}
	sel := &selectedExercise{ex: &rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec}, program: prog}

	targets, cleanups, err := r.resetTargets(ctx, c, ns, sel)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range targets {
		if u.GetNamespace() != ns {
			t.Errorf("%s %s in namespace %q", u.GetKind(), u.GetName(), u.GetNamespace())
		}
		got = append(got, u.GetKind()+" "+u.GetName())
	}
	want := "ConfigMap starter, ConfigMap app, Secret tfstate-default-web, Lease lock-tfstate-default-web"
	if strings.Join(got, ", ") != want {
		t.Errorf("targets = %s\nwant      %s", strings.Join(got, ", "), want)
	}
	if len(cleanups) != 1 || cleanups[0].What != "Helm release web" {
		t.Fatalf("cleanups = %+v, want Helm release web", cleanups)
	}
	what, err := cleanups[0].Run(ctx, c)
	if err != nil || what != "Helm release web (2 revisions)" {
		t.Errorf("cleanup = %q, %v", what, err)
	}
	for name, gone := range map[string]bool{"sh.helm.release.v1.web.v1": true, "sh.helm.release.v1.web.v2": true, "sh.helm.release.v1.webapp.v1": false} {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.Secret{})
		if apierrors.IsNotFound(err) != gone {
			t.Errorf("Secret %s: err %v, want gone=%t", name, err, gone)
		}
	}
}

// TestResetRefusals: a reset waits while the rotation is suspended, and is
// refused (a Warning event, the request deleted) after the deadline, for
// an exercise not in the rotation or one that does not compile, before
// anything is deleted.
func TestResetRefusals(t *testing.T) {
	ok := selectedExercise{ex: &rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: "web"}}}
	broken := selectedExercise{ex: &rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: "db"}}, compileErr: fmt.Errorf("bad check")}
	tests := []struct {
		name     string
		stage    stage
		exercise string
		refusal  string // "" if the request is kept
	}{
		{"suspended", stageSuspended, "web", ""},
		{"ended", stageExpired, "web", "the rotation has ended"},
		{"unknown exercise", stageActive, "api", `exercise "api" is not part of this rotation`},
		{"exercise that does not compile", stageActive, "db", `exercise "db" cannot be graded now: bad check`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: rotationsv1.RequestResetPrefix + tt.exercise, Namespace: "lab-r1", UID: types.UID("u1")}}
			c := fake.NewClientBuilder().WithObjects(cm).Build()
			r := &LearningRotationReconciler{Client: c}
			s := &rotationScope{lr: &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "r1"}},
				stage: tt.stage, exercises: []selectedExercise{ok, broken}, resetPending: map[string]bool{}}
			res, err := r.serveReset(ctx, s, &request{cm: cm, kind: rotationsv1.RequestReset, exercise: tt.exercise})
			if err != nil || res.RequeueAfter != 0 {
				t.Fatalf("serveReset = %+v, %v", res, err)
			}
			err = c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})
			if kept := err == nil; kept != (tt.refusal == "") {
				t.Errorf("request kept = %t (%v), want %t", kept, err, tt.refusal == "")
			}
			switch {
			case tt.refusal == "" && len(s.events.pending) > 0:
				t.Errorf("events %+v for a kept request", s.events.pending)
			case tt.refusal != "" && (len(s.events.pending) != 1 || s.events.pending[0].reason != "InvalidRequest" ||
				!strings.Contains(s.events.pending[0].note, tt.refusal)):
				t.Errorf("events %+v, want one InvalidRequest saying %q", s.events.pending, tt.refusal)
			}
			if len(s.lr.Status.Exercises) > 0 {
				t.Errorf("results changed: %+v", s.lr.Status.Exercises)
			}
		})
	}
}

// TestMarkReset: a reset counts, starts a new facts baseline and recreates
// the starter objects; credit earned stays.
func TestMarkReset(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 30, 15, 500, time.UTC)
	started := metav1.NewTime(now.Add(-time.Hour))
	for _, tt := range []struct {
		in   rotationsv1.ExerciseResult
		want rotationsv1.ExerciseState
	}{
		{rotationsv1.ExerciseResult{State: rotationsv1.ExercisePassed, StartedAt: &started, BestPoints: 10, FirstPassedAt: &started, Resets: 1, FactsHash: "h", StarterCreatedAt: &started}, rotationsv1.ExerciseInProgress},
		{rotationsv1.ExerciseResult{State: rotationsv1.ExerciseNotStarted, FactsHash: "h"}, rotationsv1.ExerciseNotStarted},
	} {
		res := tt.in.DeepCopy()
		markReset(res, now)
		if res.State != tt.want || res.Resets != tt.in.Resets+1 || res.FactsHash != "" || res.StarterCreatedAt != nil ||
			res.LastResetAt == nil || !res.LastResetAt.Time.Equal(now.Truncate(time.Second)) {
			t.Errorf("markReset(%+v) = %+v", tt.in, res)
		}
		if res.BestPoints != tt.in.BestPoints || !res.FirstPassedAt.Equal(tt.in.FirstPassedAt) {
			t.Errorf("credit lost: %+v", res)
		}
	}
}

func TestResetSummary(t *testing.T) {
	for _, tt := range []struct {
		deleted  []string
		starters int
		want     string
	}{
		{nil, 0, "nothing to delete"},
		{nil, 2, "nothing to delete; 2 starter objects recreated"},
		{[]string{"ConfigMap app", "Helm release web (2 revisions)"}, 1, "deleted ConfigMap app, Helm release web (2 revisions); 1 starter objects recreated"},
	} {
		if got := resetSummary(tt.deleted, tt.starters); got != tt.want {
			t.Errorf("resetSummary(%q, %d) = %q, want %q", tt.deleted, tt.starters, got, tt.want)
		}
	}
}
