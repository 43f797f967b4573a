package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// errStop ends a watch without error.
var errStop = errors.New("stop watching")

// watchRotation calls fn with the rotation now and after every change, until
// fn returns errStop (nil is returned), another error, or ctx ends (its
// error is returned). It watches one object by name, which is what a
// learner's or mentor's per-rotation reader role allows (get and watch, no
// list); a watch the server closes is resumed, a 410 Gone starts over.
func (o *Options) watchRotation(ctx context.Context, name string, fn func(*rotationsv1.LearningRotation) error) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	for {
		lr, err := o.getRotation(ctx, name)
		if err != nil {
			return stopped(err)
		}
		if err := fn(lr); err != nil {
			return stopped(err)
		}
		rv := lr.ResourceVersion
		if err := o.watchFrom(ctx, c, name, &rv, fn); err != nil {
			return stopped(err)
		}
		// A 410 Gone: the resource version is too old; start over with a Get.
	}
}

// watchFrom watches from *rv, resuming when the server closes the watch. It
// returns nil when the caller must start over with a Get.
func (o *Options) watchFrom(ctx context.Context, c client.WithWatch, name string, rv *string, fn func(*rotationsv1.LearningRotation) error) error {
	for {
		w, err := c.Watch(ctx, &rotationsv1.LearningRotationList{}, &client.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name),
			Raw:           &metav1.ListOptions{ResourceVersion: *rv},
		})
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return nil
		}
		if err != nil {
			return err
		}
		restart, err := drain(ctx, w, name, rv, fn)
		w.Stop()
		if err != nil || restart {
			return err
		}
		// The server closed the watch (its timeout): resume where it was.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// drain handles the events of one watch. restart asks for a new Get.
func drain(ctx context.Context, w watch.Interface, name string, rv *string, fn func(*rotationsv1.LearningRotation) error) (restart bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				lr, ok := ev.Object.(*rotationsv1.LearningRotation)
				if !ok {
					continue
				}
				*rv = lr.ResourceVersion
				if err := fn(lr); err != nil {
					return false, err
				}
			case watch.Deleted:
				return false, fmt.Errorf("rotation %q was deleted", name)
			case watch.Error:
				if st, ok := ev.Object.(*metav1.Status); ok && st.Code == 410 {
					return true, nil
				}
				return false, apierrors.FromObject(ev.Object)
			}
		}
	}
}

// stopped turns errStop into success and keeps other errors.
func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// waitRotation waits up to timeout for cond to hold; a timeout is an unmet condition.
func (o *Options) waitRotation(ctx context.Context, name string, timeout time.Duration, what string, cond func(*rotationsv1.LearningRotation) bool) (*rotationsv1.LearningRotation, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *rotationsv1.LearningRotation
	err := o.watchRotation(ctx, name, func(lr *rotationsv1.LearningRotation) error {
		last = lr
		if cond(lr) {
			return errStop
		}
		return nil
	})
	// The error may wrap the deadline in many ways (the rate limiter, a
	// url.Error); the context says what happened.
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return last, unmetError{fmt.Errorf("timed out after %s waiting for %s", timeout, what)}
	}
	return last, err
}
