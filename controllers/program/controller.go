// Package program runs RotationPrograms: recurring rounds of
// LearningRotations for a cohort. It follows the rotation controller's
// conventions (docs/architecture.md): steps record what they find,
// status.go decides the conditions from a table, notify.go derives the
// events from the previous and the new status, and one status write per
// pass comes before the events and notifications are sent.
package program

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/notify"
)

// FieldOwner is the field manager of what the program controller writes.
const FieldOwner = "rotation-operator"

// Reconciler starts rounds of a RotationProgram and reports its cohort.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// Notifier posts to the programs' webhooks; nil makes one, added to
	// the manager.
	Notifier *notify.Dispatcher
	// Resync bounds how long a program waits for its next pass (the next
	// round is usually sooner); tests with a fake clock shorten it.
	Resync time.Duration
}

// pass carries one reconcile pass's state between its steps.
type pass struct {
	p     *rotationsv1.RotationProgram
	now   time.Time
	found findings
	// rotations the program owns, from the cache.
	rotations []rotationsv1.LearningRotation
}

type step func(context.Context, *pass) error

// +kubebuilder:rbac:groups=rotations.handson.dev,resources=rotationprograms,verbs=get;list;watch
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=rotationprograms/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=learningrotations,verbs=create
// The webhook URL is read from the Secret the program names:
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconcile runs one pass: read the cadence and the sink, start a due
// round, gather the cohort from the rotations, then one status write.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	p := &rotationsv1.RotationProgram{}
	// Around the cache: a pass must start from the previous pass's status
	// (the rounds it started), as the rotation controller does.
	if err := r.APIReader.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the rotations go with it (owner references)
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("program", klog.KObj(p)))
	base := p.DeepCopy()
	s := &pass{p: p, now: r.Clock.Now().UTC().Truncate(time.Second)}
	defer func() {
		decideStatus(view{p: p, found: &s.found, err: retErr, now: s.now})
		evs, notes := transitions(change{base: base, p: p, found: &s.found, now: s.now})
		if err := r.writeStatus(ctx, base, p); err != nil {
			retErr = errors.Join(retErr, err)
			return
		}
		for _, e := range evs {
			r.Recorder.Eventf(p, nil, e.eventType, e.reason, e.action, "%s", e.note)
		}
		if s.found.sink != nil {
			for _, n := range notes {
				r.Notifier.Enqueue(*s.found.sink, n)
			}
		}
		result = r.requeue(p, s)
	}()
	for _, st := range []step{r.readCadence, r.readSink, r.reconcileAccess, r.listRotations, r.startRound, r.gatherCohort} {
		if err := st(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// requeue comes back at the next round, or after Resync if sooner.
func (r *Reconciler) requeue(p *rotationsv1.RotationProgram, s *pass) ctrl.Result {
	wait := r.Resync
	if next := p.Status.NextRoundAt; next != nil && !p.Spec.Suspend {
		if d := next.Sub(s.now); d < wait {
			wait = max(d, time.Second)
		}
	}
	return ctrl.Result{RequeueAfter: wait}
}

// writeStatus writes status once, and not at all when it is unchanged. On
// a conflict it is put on the latest object unless the status itself
// changed meanwhile (another pass wrote it: its rounds win).
func (r *Reconciler) writeStatus(ctx context.Context, base, p *rotationsv1.RotationProgram) error {
	if equality.Semantic.DeepEqual(base.Status, p.Status) {
		return nil
	}
	status := p.Status
	err := r.Client.Status().Update(ctx, p)
	for attempt := 0; apierrors.IsConflict(err) && attempt < 3; attempt++ {
		if err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			break
		}
		if !equality.Semantic.DeepEqual(p.Status, base.Status) {
			return errors.New("program status changed since the pass read it; retrying")
		}
		p.Status = status
		err = r.Client.Status().Update(ctx, p)
	}
	return client.IgnoreNotFound(err)
}

// SetupWithManager watches programs and the rotations they own: a
// rotation's progress updates the cohort status.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Resync == 0 {
		r.Resync = 10 * time.Minute
	}
	if r.Notifier == nil {
		r.Notifier = notify.NewDispatcher(notify.Options{})
		if err := mgr.Add(r.Notifier); err != nil {
			return err
		}
	}
	if err := registerMetrics(mgr.GetClient()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&rotationsv1.RotationProgram{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&rotationsv1.LearningRotation{}).
		WithOptions(opts).Named("rotationprogram").Complete(r)
}
