// Package controllers holds the operator's reconcilers.
package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/apply"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/notify"
	"github.com/handson-dev/rotation-operator/internal/registry"
)

// FieldOwner is the server-side apply field manager of everything the operator writes.
const FieldOwner = "rotation-operator"

// LearningRotationReconciler provisions a rotation's lab and reports on it.
type LearningRotationReconciler struct {
	// Client reads from the cache and writes to the apiserver.
	Client client.Client
	// APIReader reads around the cache, for objects the label-filtered cache cannot see.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock

	// LabServer and LabCAData are written into learners' kubeconfigs: the
	// apiserver address as learners reach it.
	LabServer string
	LabCAData []byte
	// TokenTTL is the lifetime of learner tokens; they are renewed after two thirds of it.
	TokenTTL time.Duration
	// ResyncInterval regrades every rotation at least this often.
	ResyncInterval time.Duration

	// Programs caches compiled exercises; Learners acts as the learner.
	Programs *grading.Cache
	Learners *LearnerClients
	// Sources collect the facts checks read (package source/builtin lists
	// them), and say what a reset deletes. Exercises reading a variable with
	// no source here fail their checks with an evaluation error.
	Sources []factsource.Source
	// GradingDone, if set, carries rotations whose background grading (a
	// source's ErrGradingPending) has finished, so they are graded again
	// at once rather than at the next poll.
	GradingDone <-chan event.GenericEvent
	// InfrastructureChanged, if set, carries rotations to look at again
	// because what Infrastructure reports changed (the CI/CD engine was
	// installed): their InfrastructureReady follows at once, not at the
	// next resync.
	InfrastructureChanged <-chan event.GenericEvent
	// Registry is the lab image registry; when set, every lab gets the
	// Secret lab-registry with its credentials.
	Registry *registry.Config
	// Infrastructure reports problems of what labs rely on outside the
	// rotation (infrastructure_step.go); nil reports none.
	Infrastructure Infrastructure
	// Notifier posts to the rotations' own webhooks (notify_sink.go); nil
	// makes one, added to the manager. The operator shares one with the
	// program controller.
	Notifier *notify.Dispatcher

	applier *apply.Applier
	// own: the lab objects passes wrote, whose watch events start no pass.
	own ownWrites
	// written: each rotation's last status write, to read it from the cache.
	written statusVersions
	// optional: watches started once their kinds are served (optional_watches.go).
	optional optionalWatches
}

// rotationScope carries one reconcile pass's state between its steps.
type rotationScope struct {
	lr     *rotationsv1.LearningRotation
	events eventQueue
	// found is what the steps found, for status.go to decide the
	// conditions from and notify.go the transition events.
	found      findings
	exercises  []selectedExercise
	starterErr error
	// learnerToken is the learner token issued in this pass, if any; the
	// starter objects are created with it rather than with another one.
	learnerToken string
	// halt ends the pass after the current step without an error, e.g.
	// while waiting for an old lab namespace to finish terminating.
	halt bool
	// stage is where the rotation is in its time box (timebox step).
	stage stage
	// gradeRequest is the grade request this pass answers (requests step).
	gradeRequest string
	// labFacts holds lab-wide facts a submission source read once in this
	// pass (the lab's registry and Deployments) for every exercise.
	labFacts map[string]any
	// resetPending names exercises a reset is still deleting objects of;
	// they are not graded until it is done.
	resetPending map[string]bool
	// replaced names lab objects ("RoleBinding learner") deleted on purpose
	// this pass, for the lab step to recreate: not a repair.
	replaced map[string]bool
}

type rotationStep func(context.Context, *rotationScope) (ctrl.Result, error)

// +kubebuilder:rbac:groups=rotations.handson.dev,resources=learningrotations,verbs=get;list;watch
// The operator never patches rotations itself; RBAC lets it grant mentors patch on their own rotation
// (for the help-acknowledged and grade-requested annotations, see config/policy/mentor_guard.yaml) only if it holds it:
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=learningrotations,verbs=patch
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=learningrotations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rotations.handson.dev,resources=exercises,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces;serviceaccounts;resourcequotas;limitranges,verbs=get;list;watch;create;patch
// Lab namespaces are deleted after retention; config/policy/namespace_guard.yaml limits this to lab-* namespaces the operator manages:
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts;secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create,resourceNames=learner
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=rotation-operator:learner;rotation-operator:learner-readonly;rotation-operator:mentor
// The learner's RoleBinding is recreated to swap its (immutable) roleRef between read-write and read-only:
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=delete,resourceNames=learner
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// Grading reads the learner's objects (kube facts) and watches them metadata-only:
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;pods;persistentvolumeclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;replicasets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch
// The cicd facts (Tekton Pipelines, when installed):
// +kubebuilder:rbac:groups=tekton.dev,resources=tasks;pipelines;taskruns;pipelineruns,verbs=get;list;watch
// Terraform submissions are graded by runner Jobs in the lab, as the learner, and read from their pod's log;
// config/policy/runner_guard.yaml limits the Jobs to runner Jobs, in managed labs, as the learner:
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=create;delete
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get

// Reconcile runs one pass: schedule and time box, suspension and the
// learner's access, lab objects, kubeconfig, exercises, the learner's
// requests, grades and progress, then one status write.
func (r *LearningRotationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	lr := &rotationsv1.LearningRotation{}
	// Status accumulates (attempts, resets served, help requests), so a
	// pass must start from the previous pass's write: from the cache once
	// it has that write, live before (status_version.go).
	if err := r.readRotation(ctx, req.NamespacedName, lr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Every lab object has an owner reference to the rotation: garbage
	// collection tears the lab down, so deletion needs no finalizer.
	if !lr.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("rotation", klog.KObj(lr)))

	base := lr.DeepCopy()
	s := &rotationScope{lr: lr, resetPending: map[string]bool{}, replaced: map[string]bool{}}
	defer func() {
		// Steps recorded; status.go decides, notify.go says what changed.
		r.summarize(base, s, retErr)
		c := change{base: base, lr: lr, found: &s.found, now: r.Clock.Now()}
		s.events.queue(transitionEvents(c))
		s.events.foldProvisioning()
		notes := sinkNotifications(c)
		switch err := r.patchStatus(ctx, base, lr); {
		case errors.Is(err, errStaleStatus):
			// Another pass wrote status after this one read the rotation
			// (from a cache that had not caught up): this pass's view and
			// its events are stale, e.g. a second "Provisioned".
			// Status-only writes start no pass (rotationChanged), so retry
			// shortly: what queued this pass must still be graded.
			ctrl.LoggerFrom(ctx).V(1).Info("status written by another pass meanwhile; dropping this pass's status and events")
			result = lowestRequeue(result, ctrl.Result{RequeueAfter: staleRetry})
			return
		case err != nil:
			retErr = errors.Join(retErr, err)
			return
		}
		s.events.flush(r.Recorder, lr)
		r.sendNotifications(ctx, lr, notes)
	}()

	steps := []rotationStep{
		r.reconcileSpec, r.reconcileSchedule, r.reconcileTimebox, during(labLive, r.reconcileInfrastructure),
		during(labLive, r.reconcileSuspend), during(labLive, r.reconcileAccess),
		during(labLive, r.reconcileLab), during(labLive, r.reconcileKubeconfig), during(writable, r.reconcileResume),
		during(writable, r.reconcileExercises), r.reconcileRequests, during(writable, r.reconcileGrades),
		r.reconcileProgress,
	}
	for _, step := range steps {
		res, err := step(ctx, s)
		result = lowestRequeue(result, res)
		if err != nil || s.halt {
			return result, err
		}
	}
	return result, nil
}

// reconcileSpec re-checks what admission should already have refused, in
// case the CRD in the cluster is older than the operator.
func (r *LearningRotationReconciler) reconcileSpec(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	if err := validateRotation(s.lr); err != nil {
		s.found.spec = err
		// Sent on every pass that meets it: not a change of status.
		s.events.add(corev1.EventTypeWarning, rotationsv1.ReasonInvalidSpec, "Validate", err.Error())
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	return ctrl.Result{}, nil
}

// reconcileSchedule records when the rotation started and its deadline.
func (r *LearningRotationReconciler) reconcileSchedule(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	start := lr.CreationTimestamp
	if lr.Spec.Schedule.Start != nil {
		start = *lr.Spec.Schedule.Start
	}
	duration := 336 * time.Hour
	if lr.Spec.Schedule.Duration != nil {
		duration = lr.Spec.Schedule.Duration.Duration
	}
	deadline := metav1.NewTime(start.Add(duration))
	lr.Status.StartedAt = &start
	lr.Status.Deadline = &deadline
	return ctrl.Result{}, nil
}

// patchStatus writes status once per pass, and not at all when it is unchanged.
func (r *LearningRotationReconciler) patchStatus(ctx context.Context, base, lr *rotationsv1.LearningRotation) error {
	if equality.Semantic.DeepEqual(base.Status, lr.Status) {
		return nil
	}
	// An update rather than a merge patch: a patch leaves out zero values, and
	// a new rotation's score must read 0, not blank. Status belongs to the
	// operator alone, so on a conflict (the spec or an annotation changed
	// meanwhile; that change queues another pass) it is put on the latest
	// object, unless the status itself changed: then another pass wrote it
	// and this one worked from a stale view (errStaleStatus).
	status := lr.Status
	err := r.Client.Status().Update(ctx, lr)
	for attempt := 0; apierrors.IsConflict(err) && attempt < 3; attempt++ {
		if err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(lr), lr); err != nil {
			break
		}
		if !equality.Semantic.DeepEqual(lr.Status, base.Status) {
			return errStaleStatus
		}
		lr.Status = status
		err = r.Client.Status().Update(ctx, lr)
	}
	if err == nil {
		r.written.wrote(lr)
	}
	return client.IgnoreNotFound(err)
}

// errStaleStatus: the status changed since the pass read the rotation.
var errStaleStatus = errors.New("status changed since the rotation was read")

// staleRetry is how soon a pass whose status lost to another pass's
// (errStaleStatus) is tried again.
const staleRetry = 100 * time.Millisecond

// lowestRequeue merges two results, keeping the soonest requeue (Cluster API style).
func lowestRequeue(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0:
		return a
	case b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}

// SetupWithManager watches rotations, every object they own (so a deleted
// or edited lab object is put back), the exercises they select, and the
// learner's objects in lab namespaces (so grading follows the learner's
// changes). Learner objects carry none of the operator's labels, so they are
// watched metadata-only: the cache holds names and versions, not specs.
func (r *LearningRotationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.TokenTTL == 0 {
		r.TokenTTL = 8 * time.Hour
	}
	if r.ResyncInterval == 0 {
		r.ResyncInterval = 5 * time.Minute
	}
	r.applier = &apply.Applier{Client: recordingClient{Client: r.Client, writes: &r.own}, FieldOwner: FieldOwner}
	if r.Notifier == nil {
		r.Notifier = notify.NewDispatcher(notify.Options{})
		if err := mgr.Add(r.Notifier); err != nil {
			return err
		}
	}
	r.Sources = instrument(r.Sources)
	if err := registerMetrics(mgr.GetClient(), r.Sources); err != nil {
		return err
	}
	owned := builder.WithPredicates(ownedChanged, r.own.notOwnWrite())
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rotationsv1.LearningRotation{}, builder.WithPredicates(rotationChanged)).
		Owns(&corev1.Namespace{}, owned).
		Owns(&corev1.ServiceAccount{}, owned).
		Owns(&corev1.ResourceQuota{}, owned).
		Owns(&corev1.LimitRange{}, owned).
		Owns(&networkingv1.NetworkPolicy{}, owned).
		Owns(&rbacv1.Role{}, owned).
		Owns(&rbacv1.RoleBinding{}, owned).
		Owns(&rbacv1.ClusterRole{}, owned).
		Owns(&rbacv1.ClusterRoleBinding{}, owned).
		Watches(&rotationsv1.Exercise{}, handler.EnqueueRequestsFromMapFunc(r.rotationsSelecting))
	for _, gvk := range WatchedLabKinds() {
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		preds := []predicate.Predicate{r.own.notOwnWrite()}
		if gvk == (schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}) {
			preds = append(preds, notClusterCABundle)
		}
		b = b.WatchesMetadata(obj, labEvents, builder.WithPredicates(preds...))
	}
	if r.GradingDone != nil {
		b = b.WatchesRawSource(source.Channel(r.GradingDone, &handler.EnqueueRequestForObject{}))
	}
	if r.InfrastructureChanged != nil {
		b = b.WatchesRawSource(source.Channel(r.InfrastructureChanged, &handler.EnqueueRequestForObject{}))
	}
	ctl, err := b.WithOptions(opts).Named("learningrotation").Build(r)
	if err != nil {
		return err
	}
	r.optional.mu.Lock()
	r.optional.ctl, r.optional.cache = ctl, mgr.GetCache()
	r.optional.mu.Unlock()
	return nil
}

// WatchedLabKinds are the kinds whose changes in a lab trigger grading.
// Pods and ReplicaSets are left out: their churn shows up in the status of
// the Deployments and StatefulSets that own them. Secrets (Helm releases,
// the learner kubeconfig) and ConfigMaps (instructions) are here also
// because the operator reads them around the cache: a typed informer would
// share the metadata informer's label filter, keyed by kind.
func WatchedLabKinds() []schema.GroupVersionKind {
	out := []schema.GroupVersionKind{{Version: "v1", Kind: "Secret"}}
	for _, r := range kube.Resources() {
		switch r {
		case "pods", "replicasets", "serviceaccounts":
			continue
		}
		gvk, _ := kube.ListGVK(r)
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
		out = append(out, gvk)
	}
	return out
}

// rotationOfLab maps an object in lab-<rotation> to its rotation.
func rotationOfLab(_ context.Context, obj client.Object) []reconcile.Request {
	name, ok := strings.CutPrefix(obj.GetNamespace(), lab.NamespacePrefix)
	if !ok || name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// rotationsSelecting maps an Exercise to the rotations that select it, by
// name or by track, so a new or fixed Exercise is picked up at once.
func (r *LearningRotationReconciler) rotationsSelecting(ctx context.Context, obj client.Object) []reconcile.Request {
	ex, ok := obj.(*rotationsv1.Exercise)
	if !ok {
		return nil
	}
	list := &rotationsv1.LearningRotationList{}
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing rotations for an exercise change", "exercise", ex.Name)
		return nil
	}
	var out []reconcile.Request
	for _, lr := range list.Items {
		if slices.Contains(lr.Spec.Exercises.Names, rotationsv1.ExerciseName(ex.Name)) || slices.Contains(lr.Spec.Exercises.Tracks, ex.Spec.Track) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: lr.Name}})
		}
	}
	return out
}
