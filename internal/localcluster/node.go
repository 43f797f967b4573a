package localcluster

import (
	"context"
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// FakeNodeName is the one kwok node Full clusters have.
	FakeNodeName       = "kwok-node-0"
	fakeNodeAnnotation = "kwok.x-k8s.io/node"
)

// createFakeNode registers a kubelet-less Node that kwok manages. It has no
// taint, so ordinary pods schedule onto it; its status (capacity) is set at
// create time, as a kubelet does when registering.
func createFakeNode(ctx context.Context, c client.Client) error {
	res := corev1.ResourceList{
		// Room for every lab a test suite or benchmark creates: nothing
		// runs, so capacity only decides what the scheduler admits.
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   resource.MustParse("2000"),
		// Pods that request scratch space (emptyDir, logs) fit, as on a
		// real node.
		corev1.ResourceEphemeralStorage: resource.MustParse("10Ti"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{fakeNodeAnnotation: "fake"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": FakeNodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     runtime.GOARCH,
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res,
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: "linux",
				Architecture:    runtime.GOARCH,
				KubeletVersion:  "fake",
			},
		},
	}
	return c.Create(ctx, node)
}

// waitNodeSchedulable waits for the node to be Ready and free of the
// not-ready taints the apiserver and node-lifecycle controller put on new
// nodes, i.e. until pods can land on it.
func waitNodeSchedulable(ctx context.Context, c client.Client, name string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var n corev1.Node
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &n); err != nil {
			last = err.Error()
			return false, nil
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				ready = cond.Status == corev1.ConditionTrue
			}
		}
		if !ready {
			last = "not Ready"
			return false, nil
		}
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				last = "tainted " + t.Key
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not schedulable after %s (%s): %w", name, timeout, last, err)
	}
	return nil
}
