package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	tfrunner "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
)

// defaultMirror is where the operator image puts the provider mirror.
const defaultMirror = "/opt/terraform/mirror"

// defaultJobConcurrency bounds runner Jobs in flight: they run on the
// cluster's nodes, on each lab's own quota, so the bound protects the
// apiserver and the scheduler rather than the operator's CPU.
const defaultJobConcurrency = 16

type terraformFlags struct {
	mirror, binary, sandbox string
	concurrency             int
	executor, runnerImage   string
}

// collector is the Terraform grader the flags describe for a cluster (cfg;
// nil in embedded mode). Nil, and no error, when local mode has no mirror:
// the embedded mode builds its own then, and a real cluster goes without
// Terraform grading.
func (f terraformFlags) collector(ctx context.Context, cfg *rest.Config) (*tfrunner.Collector, error) {
	executor := f.executor
	if executor == "auto" {
		executor = "local"
		if cfg != nil && os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("POD_NAME") != "" {
			executor = "job"
		}
	}
	switch executor {
	case "local":
		mirror := f.mirror
		if mirror == "" {
			if _, err := os.Stat(defaultMirror); err != nil {
				return nil, nil
			}
			mirror = defaultMirror
		}
		return embedded.TerraformCollector(mirror, f.binary, tfrunner.SandboxPolicy(f.sandbox), f.concurrency)
	case "job":
		if cfg == nil {
			return nil, errors.New("--terraform-executor=job needs a cluster, not the embedded control plane")
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, err
		}
		image := f.runnerImage
		if image == "" {
			if image, err = ownImage(ctx, cs); err != nil {
				return nil, fmt.Errorf("--terraform-runner-image is empty and this pod's image is unknown: %w", err)
			}
		}
		if f.concurrency <= 0 {
			f.concurrency = defaultJobConcurrency
		}
		job := tfrunner.JobOptions{Image: image}
		if f.mirror != "" {
			job.Mirror = f.mirror
		}
		if f.binary != "" {
			job.Terraform = f.binary
		}
		ctrl.Log.Info("Terraform submissions are graded by runner Jobs in the labs", "image", image)
		return tfrunner.NewCollector(tfrunner.Options{
			Executor:      &tfrunner.JobExecutor{Client: cs, Job: job, Log: ctrl.Log.WithName("terraform")},
			MaxConcurrent: f.concurrency,
			MaxWait:       tfrunner.DefaultMaxWait,
		})
	default:
		return nil, fmt.Errorf("--terraform-executor must be auto, local or job, not %q", f.executor)
	}
}

// ownImage is the image of this pod's manager container, pinned to the
// digest the kubelet pulled, so runner Jobs run exactly the operator's
// binary even when the tag moves.
func ownImage(ctx context.Context, cs kubernetes.Interface) (string, error) {
	ns, pod := os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME")
	if ns == "" || pod == "" {
		return "", errors.New("POD_NAME and POD_NAMESPACE are not set")
	}
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, c := range p.Spec.Containers {
		if c.Name != "manager" {
			continue
		}
		for _, st := range p.Status.ContainerStatuses {
			if st.Name == c.Name {
				return pinned(c.Image, st.ImageID), nil
			}
		}
		return c.Image, nil
	}
	return "", fmt.Errorf("pod %s/%s has no manager container", ns, pod)
}

// pinned is image by the digest in imageID (as container runtimes report
// it: repo@sha256:..., possibly behind a docker-pullable:// scheme).
func pinned(image, imageID string) string {
	i := strings.LastIndex(imageID, "@sha256:")
	if i < 0 {
		return image
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return image
	}
	d, err := name.NewDigest(ref.Context().Name() + imageID[i:])
	if err != nil {
		return image
	}
	return d.String()
}
