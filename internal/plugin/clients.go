package plugin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// Scheme knows the core types and rotations.handson.dev/v1alpha1.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(rotationsv1.AddToScheme(s))
	return s
}()

// InstructionsConfigMap names the ConfigMap with an exercise's instructions
// in a lab (controllers.InstructionsConfigMap; the plugin does not import
// the controllers).
func InstructionsConfigMap(exercise string) string { return "exercise-" + exercise }

// InstructionsKey is the Markdown's key in the instructions ConfigMap.
const InstructionsKey = "instructions.md"

// rotationFromArgs returns the rotation named in args[0], or else the one
// the current namespace belongs to (a learner's kubeconfig points at lab-<rotation>).
func (o *Options) rotationFromArgs(args []string) (string, error) {
	if len(args) > 0 && args[0] != "" {
		return args[0], nil
	}
	return o.inferRotation("")
}

// inferRotation returns flag if set, or the rotation of the current namespace.
func (o *Options) inferRotation(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	ns, err := o.Namespace()
	if err != nil {
		return "", err
	}
	if name, ok := strings.CutPrefix(ns, lab.NamespacePrefix); ok && name != "" {
		return name, nil
	}
	return "", usageErrorf(fmt.Errorf("no rotation given, and the namespace %q is not a lab namespace (%s<rotation>): name the rotation, or use the learner's kubeconfig or -n %s<rotation>", ns, lab.NamespacePrefix, lab.NamespacePrefix))
}

// getRotation reads a LearningRotation, with a plain message when it is missing.
func (o *Options) getRotation(ctx context.Context, name string) (*rotationsv1.LearningRotation, error) {
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	lr := &rotationsv1.LearningRotation{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("rotation %q not found", name)
		}
		return nil, err
	}
	return lr, nil
}

// labNamespace is the rotation's lab namespace.
func labNamespace(lr *rotationsv1.LearningRotation) string {
	if lr.Status.Namespace != "" {
		return lr.Status.Namespace
	}
	return lab.Namespace(lr.Name)
}

// exerciseResult finds an exercise in the rotation's status; the error lists
// the rotation's exercises.
func exerciseResult(lr *rotationsv1.LearningRotation, exercise string) (*rotationsv1.ExerciseResult, error) {
	names := make([]string, 0, len(lr.Status.Exercises))
	for i := range lr.Status.Exercises {
		if lr.Status.Exercises[i].Name == exercise {
			return &lr.Status.Exercises[i], nil
		}
		names = append(names, lr.Status.Exercises[i].Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("exercise %q is not in rotation %s: the rotation has no graded exercises yet", exercise, lr.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("exercise %q is not in rotation %s; its exercises are: %s", exercise, lr.Name, strings.Join(names, ", "))
}

// exerciseCatalog reads the Exercises by name. It is decoration (titles,
// hints): a reader who cannot list the catalog gets an empty map and no error.
func (o *Options) exerciseCatalog(ctx context.Context) map[string]*rotationsv1.Exercise {
	out := map[string]*rotationsv1.Exercise{}
	c, err := o.Client()
	if err != nil {
		return out
	}
	list := &rotationsv1.ExerciseList{}
	if err := c.List(ctx, list); err != nil {
		return out
	}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

// forbiddenHint adds what to do to a Forbidden error.
func forbiddenHint(err error, hint string) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}
