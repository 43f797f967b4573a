package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waitGone waits up to timeout until every object is gone, and returns the
// ones that are not.
func waitGone(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, timeout time.Duration) ([]string, error) {
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, u := range objs {
			err := c.Get(ctx, client.ObjectKeyFromObject(u), u.DeepCopy())
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, err
			default:
				left = append(left, u.GetKind()+" "+u.GetName())
			}
		}
		return len(left) == 0, nil
	})
	if wait.Interrupted(err) {
		return left, nil
	}
	return left, err
}
