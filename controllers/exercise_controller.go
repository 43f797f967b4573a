package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// ExerciseReconciler compiles every Exercise's checks and reports compile
// errors on the Exercise, so they surface when the author applies it and
// never at grading time.
type ExerciseReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Programs *grading.Cache
}

// +kubebuilder:rbac:groups=rotations.handson.dev,resources=exercises,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=exercises/status,verbs=get;update;patch

// Reconcile compiles one Exercise and writes its status if it changed.
func (r *ExerciseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ex := &rotationsv1.Exercise{}
	if err := r.Client.Get(ctx, req.NamespacedName, ex); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := ex.DeepCopy()
	cond := metav1.Condition{Type: rotationsv1.ConditionReady, ObservedGeneration: ex.Generation}

	prog, err := r.Programs.Get(ex)
	reason := rotationsv1.ReasonCheckCompileFailed
	if err == nil {
		err, reason = lab.ValidateStarter(ex.Spec.Starter.Objects), rotationsv1.ReasonInvalidStarter
	}
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, reason, err.Error()
		ex.Status.MaxPoints, ex.Status.Facts = 0, nil
	} else {
		cond.Status, cond.Reason = metav1.ConditionTrue, rotationsv1.ReasonCompiled
		cond.Message = fmt.Sprintf("%d checks compiled, %d points", len(prog.Checks), prog.MaxPoints)
		ex.Status.MaxPoints, ex.Status.Facts = prog.MaxPoints, prog.Facts
	}
	wasFailing := meta.IsStatusConditionFalse(ex.Status.Conditions, rotationsv1.ConditionReady)
	meta.SetStatusCondition(&ex.Status.Conditions, cond)
	ex.Status.ObservedGeneration = ex.Generation
	if equality.Semantic.DeepEqual(base.Status, ex.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Status().Patch(ctx, ex, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if cond.Status == metav1.ConditionFalse && (!wasFailing || base.Status.ObservedGeneration != ex.Generation) {
		r.Recorder.Eventf(ex, nil, corev1.EventTypeWarning, cond.Reason, "Compile", "%s", cond.Message)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the controller.
func (r *ExerciseReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&rotationsv1.Exercise{}).
		WithOptions(opts).
		Named("exercise").
		Complete(r)
}
