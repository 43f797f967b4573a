package plugin

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func newKubeconfigCommand(o *Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "kubeconfig ROTATION",
		Short: "Write the learner's lab kubeconfig to stdout or a file (mode 0600)",
		Long: `Write the kubeconfig the operator issued for the rotation's learner (the
Secret in status.kubeconfig.secretRef). Its context defaults to the lab
namespace, so the learner's kubectl rotation commands need no rotation name.
The token inside is short-lived and renewed by the operator: fetch the file
again when it has expired.

Mentors may read it (a Role in the lab grants exactly this Secret).`,
		Example: `  kubectl rotation kubeconfig alice -f alice.kubeconfig
  KUBECONFIG=alice.kubeconfig kubectl rotation status`,
		Args: exactArgs(1, "ROTATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			lr, err := o.getRotation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ref := lr.Status.Kubeconfig
			if ref == nil {
				return fmt.Errorf("rotation %s has no issued kubeconfig: spec.learner.issueKubeconfig is false, or the lab is not provisioned yet (phase %q)", lr.Name, lr.Status.Phase)
			}
			c, err := o.Client()
			if err != nil {
				return err
			}
			secret := &corev1.Secret{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ref.SecretRef.Namespace, Name: ref.SecretRef.Name}, secret); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("the kubeconfig Secret %s/%s of rotation %s does not exist (yet)", ref.SecretRef.Namespace, ref.SecretRef.Name, lr.Name)
				}
				return forbiddenHint(err, "only the rotation's mentors may read the learner's kubeconfig")
			}
			data, ok := secret.Data[ref.SecretRef.Key]
			if !ok || len(data) == 0 {
				return fmt.Errorf("the Secret %s/%s has no key %q", ref.SecretRef.Namespace, ref.SecretRef.Name, ref.SecretRef.Key)
			}
			if file == "" || file == "-" {
				_, err := o.Streams.Out.Write(data)
				return err
			}
			if err := writePrivate(file, data); err != nil {
				return err
			}
			msg := fmt.Sprintf("wrote the kubeconfig of rotation %s to %s", lr.Name, file)
			if ref.ExpiresAt != nil {
				msg += fmt.Sprintf("; its token expires %s (%s)", formatTime(ref.ExpiresAt.Time), ago(ref.ExpiresAt.Time, o.Now()))
			}
			fmt.Fprintln(o.Streams.ErrOut, msg)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "Write to this file (created or replaced with mode 0600) instead of stdout")
	return cmd
}

// writePrivate writes data to path readable by its owner only, also when the
// file existed with wider permissions.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
