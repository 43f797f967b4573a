// Package factsource is the contract every fact source implements: one CEL
// variable of the grading language (kube, helm, docker, submission,
// terraform), how its facts are collected for a lab or for one exercise's
// submission, and what a reset of an exercise deletes. Package builtin lists
// the sources the operator runs, one line each.
package factsource

import (
	"context"
	"errors"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/submission"
)

// Source provides the facts of one CEL variable. Variable, Type, Facts,
// ReadsSubmission and NeedsSubmission describe it and work on a Source built
// without dependencies (the grading language is built from them).
type Source interface {
	// Variable is the CEL variable checks read the facts by ("kube" for
	// kube.deployments); it is also the collector label of the grading metrics.
	Variable() string
	// Type is the variable's CEL type.
	Type() *cel.Type
	// Facts are the fact names under the variable ("deployments").
	Facts() []string
	// ReadsSubmission: the source is collected once per exercise, with its
	// submission if there is one, rather than once per lab and pass.
	ReadsSubmission() bool
	// NeedsSubmission tells whether reading these of its facts (names
	// without the variable) needs a submission: without one, the exercise
	// waits for it.
	NeedsSubmission(facts []string) bool
	// Collect reads the facts. Mistakes in the learner's work are facts that
	// make checks fail with a message; an error means grading itself failed
	// (the exercise keeps its last result); ErrPending means the facts are
	// being collected in the background.
	Collect(ctx context.Context, req Request) (map[string]any, error)
	// ResetTargets lists what a reset of an exercise deletes besides its
	// starter objects.
	ResetTargets(ctx context.Context, req ResetRequest) (Targets, error)
}

// ErrPending is the error of Collect that means the facts are being collected in the
// background (a terraform run, a runner Job): the exercise keeps its last
// result and the rotation is looked at again shortly, without holding a
// reconcile worker for the whole run.
var ErrPending = errors.New("grading in progress")

// Request is one collection.
type Request struct {
	// Rotation and Namespace name the lab.
	Rotation, Namespace string
	// Facts are the source's facts the checks read, without the variable:
	// for a lab, those of every exercise graded in the pass.
	Facts []string
	// Exercise is set for a source that ReadsSubmission: the exercise
	// graded, with its Submission (nil when there is none and none is needed).
	Exercise   string
	Submission *submission.Submission
	// Kubeconfig returns a kubeconfig for the lab's learner ServiceAccount
	// with a short-lived token; learner files run with nothing more.
	Kubeconfig func(ctx context.Context) ([]byte, error)
	// Memo keeps lab-wide values a source read once in this pass for every
	// exercise (the lab's registry and Deployments), by the source's
	// variable; nil means nothing is shared.
	Memo map[string]any
}

// ResetRequest is one exercise being reset.
type ResetRequest struct {
	Namespace, Exercise string
	// Scope is what the exercise's checks read, as grading's Program.Scope:
	// "helm.releases/web", "kube.deployments".
	Scope []string
	// Learner reads as the learner: a reset deletes only what the learner may.
	Learner client.Reader
}

// Targets are what a reset deletes, as the learner.
type Targets struct {
	// Objects are deleted first, in the foreground; the reset waits until
	// they are gone. Missing ones are skipped.
	Objects []*unstructured.Unstructured
	// Then run once Objects are gone, for the records that described them
	// (a Helm release's storage), so the learner's tool starts over.
	Then []Cleanup
}

// Cleanup deletes what a reset removes after its objects are gone.
type Cleanup struct {
	// What names it in messages: "Helm release web".
	What string
	// Run deletes as the learner and says what it deleted, "" for nothing.
	Run func(ctx context.Context, learner client.Client) (deleted string, err error)
}
